#include "signal_copy_path.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "fault_signals.h"

namespace cowbench {

Status SignalCopyPath::start(SnapshotContext& ctx, int signo, char* base, size_t bytes, size_t granule,
                             std::atomic<uint64_t>* claimed, Unprotect unprotect, void* owner,
                             DrainWake drainWake, unsigned faultAroundPages, CopyOrder copyOrder) {
  ctx_ = &ctx;
  base_ = base;
  bytes_ = bytes;
  granule_ = granule;
  claimed_ = claimed;
  unprotect_ = unprotect;
  owner_ = owner;
  granules_ = (bytes + granule - 1) / granule;
  skipCopy_ = ctx.options.injectSkipCopyBeforeWrite;
  skipAroundPage_ = ctx.options.injectSkipFaultAroundPage;
  hotOrder_ = copyOrder == CopyOrder::kHot;
  faultAround_ = FaultAroundGranules(faultAroundPages, ctx.options.bufferBytes, granule);
  drainWake_ = drainWake;
  Status st = buffer_.start(ctx.options.bufferBytes, granule_, ctx.options.bufferPolicy, &ctx.sink,
                            ctx.options.injectSinkDelayUs);
  if (!st.ok()) return st;
  ctx.onCancel([this](const Status& why) { buffer_.cancel(why); });  // a failure or abort ends its waits
  return RegisterFaultRange(signo, base_, bytes_, &SignalCopyPath::OnFault, this, &faultSlot_);
}

bool SignalCopyPath::OnFault(void* self, char* address) { return static_cast<SignalCopyPath*>(self)->serve(address); }

void SignalCopyPath::fail(Failure what, int err, uint64_t offset) {
  int none = kNone;
  if (failure_.compare_exchange_strong(none, what)) {
    failureErrno_ = err;
    failureOffset_ = offset;
  }
  armed_.store(false, std::memory_order_release);
  unprotect_(owner_, base_, bytes_);
}

// Signal context, on the writer that faulted. Always "retry the write": either this handler
// re-enabled writes, or the copier (or another writer) owns the page and will.
bool SignalCopyPath::serve(char* address) {
  // Not armed (a late fault, or after a failure re-enabled the region): retry the write.
  if (!armed_.load(std::memory_order_acquire)) return true;
  faults_.fetch_add(1, std::memory_order_relaxed);
  const size_t g = static_cast<size_t>(address - base_) / granule_;
  busy_.fetch_add(1);
  if (ClaimGranule(claimed_, g)) {
    const GranuleRun run =
        ClaimAround(claimed_, g, granules_, granule_, around_.limit(faultAround_, buffer_.freeBytes(), granule_));
    const size_t skip = skipAroundPage_ && run.size() > 1 ? (run.end - 1 != g ? run.end - 1 : run.first) : SIZE_MAX;
    bool ok = true;
    for (size_t i = run.first; i < run.end && ok && !skipCopy_; ++i) {
      if (i == skip) continue;  // test-only fault: un-protected below without a copy
      const size_t at = i * granule_, len = std::min(granule_, bytes_ - at);
      const int rc = buffer_.push(base_ + at, len, at, drainWake_ == DrainWake::kEarly);
      if (rc != StagingBuffer::kPushOk) {
        fail(rc == StagingBuffer::kPushFull ? kBufferFull : kBufferFailed, 0, at);
        ok = false;
      } else {
        ctx_->addCopied(len);
      }
    }
    if (ok) {
      copiedBeforeWrite_.fetch_add(run.size(), std::memory_order_relaxed);
      around_.served(run);
      if (hotOrder_) hot_.note(g * granule_ / kExtentBytes);
      const size_t off = run.first * granule_;
      const int err = unprotect_(owner_, base_ + off, std::min(run.end * granule_, bytes_) - off);
      if (err != 0) fail(kUnprotect, err, off);
      if (drainWake_ != DrainWake::kEarly) buffer_.kick(DrainKickMin(drainWake_));
    }
  } else {
    sched_yield();  // the copier or another writer owns this page and re-enables it once saved
  }
  busy_.fetch_sub(1);
  return true;
}

Status SignalCopyPath::bufferFailure(const char* who) {
  switch (failure()) {
    case kBufferFull:
      return Status::Fail("EBUFFER_FULL", "copy buffer full (" + std::to_string(buffer_.capacityBytes()) +
                                              " bytes) under --buffer-policy fail; use a larger --buffer or "
                                              "--buffer-policy block");
    case kBufferFailed: {
      Status st = buffer_.flush();
      return st.ok() ? Status::Fail("EABORTED", std::string(who) + ": copy buffer stopped") : st;
    }
    default:
      return Status::Ok();
  }
}

void SignalCopyPath::waitIdle() const {
  while (busy_.load() != 0) sched_yield();
}

void SignalCopyPath::stop() {
  armed_.store(false, std::memory_order_release);
  if (faultSlot_ >= 0) {
    UnregisterFaultRange(faultSlot_);
    faultSlot_ = -1;
  }
  buffer_.stop();
}

void SignalCopyPath::addMetrics(SnapshotMetrics& m) const {
  m.wpFaults += faults_.load();
  m.pagesCopiedBeforeWrite += copiedBeforeWrite_.load();
  around_.addTo(m);
  m.bufferPeakBytes = std::max<uint64_t>(m.bufferPeakBytes, buffer_.peakBytes());
  m.throttledNs += buffer_.throttledNs();
}

}  // namespace cowbench
