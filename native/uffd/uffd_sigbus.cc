#include "uffd_sigbus.h"

#include <sched.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "../common/compat.h"
#include "../common/fault_signals.h"
#include "write_protect.h"

namespace cowbench {
namespace {
enum Failure : int { kNone = 0, kBufferFull, kBufferFailed, kUnprotect };
}

Status UffdSigbusDelivery::start(SnapshotContext& ctx, int uffd, char* base, size_t bytes, size_t granule,
                                 std::atomic<uint64_t>* claimed) {
  ctx_ = &ctx;
  uffd_ = uffd;
  base_ = base;
  bytes_ = bytes;
  granule_ = granule;
  claimed_ = claimed;
  skipCopy_ = ctx.options.injectSkipCopyBeforeWrite;
  drainWake_ = DrainWakeFrom(ctx.options.drainWake);
  Status st = buffer_.start(ctx.options.bufferBytes, granule_, ctx.options.bufferPolicy, &ctx.sink,
                            ctx.options.injectSinkDelayUs);
  if (!st.ok()) return st;
  return RegisterFaultRange(SIGBUS, base_, bytes_, &UffdSigbusDelivery::OnFault, this, &faultSlot_);
}

bool UffdSigbusDelivery::OnFault(void* self, char* address) {
  return static_cast<UffdSigbusDelivery*>(self)->serveFault(address);
}

bool UffdSigbusDelivery::unprotect(char* addr, size_t len) {
  const int err = UffdWriteProtect(uffd_, addr, len, false);  // nobody sleeps on the fd here
  if (err != 0) errno = err;  // failFromSignal reads it
  return err == 0;
}

void UffdSigbusDelivery::failFromSignal(int what, int err) {
  int none = kNone;
  if (failure_.compare_exchange_strong(none, what)) failureErrno_ = err;
  armed_.store(false, std::memory_order_release);
  unprotect(base_, bytes_);  // the snapshot is lost, the writers are not
}

// Signal context, on the writer that faulted: only atomics, memcpy and raw syscalls.
bool UffdSigbusDelivery::serveFault(char* address) {
  // Not armed (a late fault, or after a failure un-protected the region): retry the write.
  if (!armed_.load(std::memory_order_acquire)) return true;
  faults_.fetch_add(1, std::memory_order_relaxed);
  const size_t g = static_cast<size_t>(address - base_) / granule_;
  const uint64_t bit = 1ull << (g & 63);
  busy_.fetch_add(1);
  if ((claimed_[g >> 6].fetch_or(bit, std::memory_order_acq_rel) & bit) == 0) {
    char* page = base_ + g * granule_;
    const size_t len = std::min(granule_, bytes_ - g * granule_);
    bool ok = true;
    if (!skipCopy_) {
      const int rc = buffer_.push(page, len, g * granule_, drainWake_ == DrainWake::kEarly);
      if (rc != StagingBuffer::kPushOk) {
        failFromSignal(rc == StagingBuffer::kPushFull ? kBufferFull : kBufferFailed, 0);
        ok = false;
      } else {
        ctx_->addCopied(len);
      }
    }
    if (ok) {
      copiedBeforeWrite_.fetch_add(1, std::memory_order_relaxed);
      if (!unprotect(page, len)) failFromSignal(kUnprotect, errno);
      if (drainWake_ != DrainWake::kEarly) buffer_.kick(DrainKickMin(drainWake_));
    }
  } else {
    sched_yield();  // the copier owns this page and un-protects it once saved
  }
  busy_.fetch_sub(1);
  return true;
}

Status UffdSigbusDelivery::failure() {
  switch (failure_.load()) {
    case kNone:
      return Status::Ok();
    case kBufferFull:
      return Status::Fail("EBUFFER_FULL", "copy buffer full (" + std::to_string(buffer_.capacityBytes()) +
                                              " bytes) under --buffer-policy fail; use a larger --buffer or "
                                              "--buffer-policy block");
    case kBufferFailed: {
      Status st = buffer_.flush();
      return st.ok() ? Status::Fail("EABORTED", "uffd: copy buffer stopped") : st;
    }
    default:
      return Status::Sys("uffd: UFFDIO_WRITEPROTECT(unprotect) in the SIGBUS handler", "ioctl", failureErrno_.load());
  }
}

Status UffdSigbusDelivery::flush() {
  while (busy_.load() != 0) sched_yield();
  Status st = failure();
  if (!st.ok()) return st;
  return buffer_.flush();
}

void UffdSigbusDelivery::stop() {
  armed_.store(false, std::memory_order_release);
  if (faultSlot_ >= 0) {
    UnregisterFaultRange(faultSlot_);
    faultSlot_ = -1;
  }
  buffer_.stop();
}

void UffdSigbusDelivery::addMetrics(SnapshotMetrics& m) const {
  m.wpFaults += faults_.load();
  m.pagesCopiedBeforeWrite += copiedBeforeWrite_.load();
  m.bufferPeakBytes = std::max<uint64_t>(m.bufferPeakBytes, buffer_.peakBytes());
  m.throttledNs += buffer_.throttledNs();
}

}  // namespace cowbench
