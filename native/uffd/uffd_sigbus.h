// uffd's `--delivery sigbus` (UFFD_FEATURE_SIGBUS): a write to a write-protected page raises
// SIGBUS in the writing thread instead of queueing a message for a handler thread. The writer's
// own handler (common/signal_copy_path, shared with mprotect) serves it through the backend's
// fault path, un-protecting with UFFDIO_WRITEPROTECT: uffd's per-page protection with mprotect's
// in-thread round trip. Like mprotect it cannot serve kernel-side writers (EFAULT).
#pragma once

#include "../common/backend.h"
#include "../common/signal_copy_path.h"

namespace cowbench {

class UffdSigbusDelivery {
 public:
  // Routes the SIGBUS faults of [base, base + bytes) to `path`, un-protecting through `uffd`.
  Status start(int uffd, char* base, size_t bytes, size_t granule, FaultPath* path);
  void arm() { signal_.arm(); }
  // On the copier's thread: the failure a handler recorded, if any.
  Status failure();
  // Stops routing faults (after the region is writable again: none is left to fault).
  void stop() { signal_.stop(); }

 private:
  static int Unprotect(void* self, char* addr, size_t len);  // signal context

  int uffd_ = -1;
  SignalCopyPath signal_;
};

}  // namespace cowbench
