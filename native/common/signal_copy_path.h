// The copy-before-write path that runs inside the faulting writer's own signal handler (mprotect's
// SIGSEGV, uffd's SIGBUS delivery): claim the granule, copy it into the signal-safe staging
// buffer, re-enable writes on it. Everything here that runs in signal context uses only atomics,
// memcpy and raw syscalls; failures are recorded and turned into a Status on the copier's thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "backend.h"
#include "claimed_runs.h"
#include "fault_around.h"
#include "staging_buffer.h"

namespace cowbench {

class SignalCopyPath {
 public:
  // Re-enables writes on [addr, addr + len): 0 or the errno. Runs in signal context.
  using Unprotect = int (*)(void* owner, char* addr, size_t len);
  enum Failure : int { kNone = 0, kBufferFull, kBufferFailed, kUnprotect };

  ~SignalCopyPath() { stop(); }
  // `claimed` is the backend's per-granule bitmap, shared with its copier; faults raised as
  // `signo` inside the region are routed here (common/fault_signals). A fault copies and
  // un-protects up to `faultAroundPages` unsaved granules of its extent (--fault-around), and with
  // CopyOrder::kHot notes its extent for the copier (hotExtents()).
  Status start(SnapshotContext& ctx, int signo, char* base, size_t bytes, size_t granule,
               std::atomic<uint64_t>* claimed, Unprotect unprotect, void* owner, DrainWake drainWake,
               unsigned faultAroundPages, CopyOrder copyOrder);
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
  // Waits until no handler is between its claim and its push.
  void waitIdle() const;
  StagingBuffer& buffer() { return buffer_; }
  // The extents faults were served in, newest first, when --copy-order hot; else null.
  HotExtents* hotExtents() { return hotOrder_ ? &hot_ : nullptr; }
  // Disarms, stops routing faults here and stops the buffer. Idempotent.
  void stop();
  void addMetrics(SnapshotMetrics& m) const;

 private:
  static bool OnFault(void* self, char* address);  // signal context
  bool serve(char* address);                       // signal context

  SnapshotContext* ctx_ = nullptr;
  char* base_ = nullptr;
  size_t bytes_ = 0, granule_ = 4096, granules_ = 0;
  size_t faultAround_ = 1;  // granules per fault-around run, the faulting one included
  std::atomic<uint64_t>* claimed_ = nullptr;
  Unprotect unprotect_ = nullptr;
  void* owner_ = nullptr;
  bool skipCopy_ = false, skipAroundPage_ = false, hotOrder_ = false;
  HotExtents hot_;
  DrainWake drainWake_ = DrainWake::kEarly;
  StagingBuffer buffer_;
  int faultSlot_ = -1;
  std::atomic<bool> armed_{false};
  std::atomic<int> busy_{0};  // handlers between their claim and the end of their push
  std::atomic<uint64_t> faults_{0}, copiedBeforeWrite_{0};
  FaultAroundCounts around_;
  std::atomic<int> failure_{kNone}, failureErrno_{0};
  std::atomic<uint64_t> failureOffset_{0};
};

}  // namespace cowbench
