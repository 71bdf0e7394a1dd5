#include "uffd_sigbus.h"

#include <csignal>

#include "../common/userfaultfd.h"

namespace cowbench {

Status UffdSigbusDelivery::start(SnapshotContext& ctx, int uffd, char* base, size_t bytes, size_t granule,
                                 std::atomic<uint64_t>* claimed, DrainWake drainWake,
                                 unsigned faultAroundPages, CopyOrder copyOrder) {
  uffd_ = uffd;
  return path_.start(ctx, SIGBUS, base, bytes, granule, claimed, &UffdSigbusDelivery::Unprotect, this, drainWake,
                     faultAroundPages, copyOrder);
}

// Nobody sleeps on the fd in SIGBUS mode, so un-protecting wakes no one.
int UffdSigbusDelivery::Unprotect(void* self, char* addr, size_t len) {
  return UffdWriteProtect(static_cast<UffdSigbusDelivery*>(self)->uffd_, addr, len, false);
}

Status UffdSigbusDelivery::failure() {
  if (path_.failure() != SignalCopyPath::kUnprotect) return path_.bufferFailure("uffd");
  return Status::Sys("uffd: UFFDIO_WRITEPROTECT(unprotect) in the SIGBUS handler", "ioctl", path_.failureErrno());
}

Status UffdSigbusDelivery::flush() {
  path_.waitIdle();
  Status st = failure();
  if (!st.ok()) return st;
  return path_.buffer().flush();
}

}  // namespace cowbench
