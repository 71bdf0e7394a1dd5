// uffd's `--delivery sigbus` (UFFD_FEATURE_SIGBUS): a write to a write-protected page raises
// SIGBUS in the writing thread instead of queueing a message for a handler thread. The writer's
// own handler (routed by common/fault_signals) copies the page into the signal-safe staging
// buffer and un-protects it with UFFDIO_WRITEPROTECT: uffd's per-page protection with
// mprotect's in-thread round trip. Like mprotect it cannot serve kernel-side writers (EFAULT).
#pragma once

#include <atomic>
#include <cstdint>

#include "../common/backend.h"
#include "../common/staging_buffer.h"

namespace cowbench {

class UffdSigbusDelivery {
 public:
  ~UffdSigbusDelivery() { stop(); }
  // `claimed` is the backend's per-granule bitmap, shared with its copier.
  Status start(SnapshotContext& ctx, int uffd, char* base, size_t bytes, size_t granule,
               std::atomic<uint64_t>* claimed);
  void arm() { armed_.store(true, std::memory_order_release); }
  // On the copier's thread: the failure a handler recorded, if any.
  Status failure();
  // Waits for handlers still copying pages they claimed, then for the buffer to drain.
  Status flush();
  void stop();
  void addMetrics(SnapshotMetrics& m) const;

 private:
  static bool OnFault(void* self, char* address);  // signal context
  bool serveFault(char* address);                  // signal context
  bool unprotect(char* addr, size_t len);          // signal-safe
  void failFromSignal(int what, int err);

  SnapshotContext* ctx_ = nullptr;
  int uffd_ = -1;
  char* base_ = nullptr;
  size_t bytes_ = 0, granule_ = 4096;
  bool skipCopy_ = false;
  DrainWake drainWake_ = DrainWake::kEarly;
  std::atomic<uint64_t>* claimed_ = nullptr;
  StagingBuffer buffer_;
  int faultSlot_ = -1;
  std::atomic<bool> armed_{false};
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> faults_{0}, copiedBeforeWrite_{0};
  std::atomic<int> failure_{0}, failureErrno_{0};
};

}  // namespace cowbench
