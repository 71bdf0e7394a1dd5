// Write faults served inside the faulting writer's own signal handler (mprotect's SIGSEGV, uffd's
// SIGBUS delivery): routes the signal to the backend's FaultPath (common/fault_path.h) while
// armed, and records a failure there for the copier's thread, since a signal handler can only use
// atomics, memcpy and raw syscalls. A failure re-enables writes on the whole region at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "fault_path.h"

namespace cowbench {

class SignalCopyPath {
 public:
  // Re-enables writes on [addr, addr + len): 0 or the errno. Runs in signal context.
  using Unprotect = int (*)(void* owner, char* addr, size_t len);
  enum Failure : int { kNone = 0, kBufferFull, kBufferFailed, kUnprotect };

  ~SignalCopyPath() { stop(); }
  // Routes faults raised as `signo` inside [base, base + bytes) to `path` (common/fault_signals).
  Status start(int signo, char* base, size_t bytes, size_t granule, FaultPath* path, Unprotect unprotect, void* owner);
  void arm() { armed_.store(true, std::memory_order_release); }
  void disarm() { armed_.store(false, std::memory_order_release); }
  // Signal-safe: records the first failure, stops serving faults and re-enables writes on the
  // whole region (the snapshot is lost, the writers are not).
  void fail(Failure what, int err, uint64_t offset);
  Failure failure() const { return static_cast<Failure>(failure_.load()); }
  int failureErrno() const { return failureErrno_.load(); }
  uint64_t failureOffset() const { return failureOffset_.load(); }
  // kBufferFull / kBufferFailed as a Status naming `who`; Ok for the other kinds.
  Status bufferFailure(const char* who);
  // Disarms and stops routing faults here (waiting out a handler still inside). Idempotent.
  void stop();

 private:
  static bool OnFault(void* self, char* address);  // signal context

  char* base_ = nullptr;
  size_t bytes_ = 0, granule_ = 4096;
  FaultPath* path_ = nullptr;
  Unprotect unprotect_ = nullptr;
  void* owner_ = nullptr;
  int faultSlot_ = -1;
  std::atomic<bool> armed_{false};
  std::atomic<int> failure_{kNone}, failureErrno_{0};
  std::atomic<uint64_t> failureOffset_{0};
};

}  // namespace cowbench
