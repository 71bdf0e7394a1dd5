// uffd's `--delivery sigbus` (UFFD_FEATURE_SIGBUS): a write to a write-protected page raises
// SIGBUS in the writing thread instead of queueing a message for a handler thread. The writer's
// own handler (common/signal_copy_path, shared with mprotect) copies the page into the signal-safe
// staging buffer and un-protects it with UFFDIO_WRITEPROTECT: uffd's per-page protection with
// mprotect's in-thread round trip. Like mprotect it cannot serve kernel-side writers (EFAULT).
#pragma once

#include <atomic>
#include <cstdint>

#include "../common/backend.h"
#include "../common/signal_copy_path.h"

namespace cowbench {

class UffdSigbusDelivery {
 public:
  // `claimed` is the backend's per-granule bitmap, shared with its copier.
  Status start(SnapshotContext& ctx, int uffd, char* base, size_t bytes, size_t granule,
               std::atomic<uint64_t>* claimed, DrainWake drainWake, unsigned faultAroundPages,
               CopyOrder copyOrder);
  void arm() { path_.arm(); }
  // On the copier's thread: the failure a handler recorded, if any.
  Status failure();
  // Waits for handlers still copying pages they claimed, then for the buffer to drain.
  Status flush();
  void stop() { path_.stop(); }
  HotExtents* hotExtents() { return path_.hotExtents(); }
  void addMetrics(SnapshotMetrics& m) const { path_.addMetrics(m); }

 private:
  static int Unprotect(void* self, char* addr, size_t len);  // signal context

  int uffd_ = -1;
  SignalCopyPath path_;
};

}  // namespace cowbench
