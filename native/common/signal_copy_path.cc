#include "signal_copy_path.h"

#include <sched.h>

#include "fault_signals.h"

namespace cowbench {

Status SignalCopyPath::start(int signo, char* base, size_t bytes, size_t granule, FaultPath* path, Unprotect unprotect,
                             void* owner) {
  base_ = base;
  bytes_ = bytes;
  granule_ = granule;
  path_ = path;
  unprotect_ = unprotect;
  owner_ = owner;
  return RegisterFaultRange(signo, base_, bytes_, &SignalCopyPath::OnFault, this, &faultSlot_);
}

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
bool SignalCopyPath::OnFault(void* self, char* address) {
  auto* p = static_cast<SignalCopyPath*>(self);
  // Not armed (a late fault, or after a failure re-enabled the region): retry the write.
  if (!p->armed_.load(std::memory_order_acquire)) return true;
  const size_t g = static_cast<size_t>(address - p->base_) / p->granule_;
  const FaultPath::Served s = p->path_->serve(
      g, [p](char* addr, size_t len) { return p->unprotect_(p->owner_, addr, len); }, /*kickNow=*/true);
  switch (s.outcome) {
    case FaultPath::Outcome::kOwnedElsewhere:
      sched_yield();  // the copier or another writer owns this page and re-enables it once saved
      break;
    case FaultPath::Outcome::kCopyFailed:
      p->fail(s.error == CopyBuffer::kPushFull ? kBufferFull : kBufferFailed, 0, s.offset);
      break;
    case FaultPath::Outcome::kUnprotectFailed:
      p->fail(kUnprotect, s.error, s.offset);
      break;
    case FaultPath::Outcome::kServed:
      break;
  }
  return true;
}

Status SignalCopyPath::bufferFailure(const char* who) {
  switch (failure()) {
    case kBufferFull:
      return path_->copyFailure(CopyBuffer::kPushFull, who);
    case kBufferFailed:
      return path_->copyFailure(CopyBuffer::kPushFailed, who);
    default:
      return Status::Ok();
  }
}

void SignalCopyPath::stop() {
  armed_.store(false, std::memory_order_release);
  if (faultSlot_ >= 0) {
    UnregisterFaultRange(faultSlot_);
    faultSlot_ = -1;
  }
}

}  // namespace cowbench
