#include "uffd_sigbus.h"

#include <csignal>

#include "../common/userfaultfd.h"

namespace cowbench {

Status UffdSigbusDelivery::start(int uffd, char* base, size_t bytes, size_t granule, FaultPath* path) {
  uffd_ = uffd;
  return signal_.start(SIGBUS, base, bytes, granule, path, &UffdSigbusDelivery::Unprotect, this);
}

// Nobody sleeps on the fd in SIGBUS mode, so un-protecting wakes no one.
int UffdSigbusDelivery::Unprotect(void* self, char* addr, size_t len) {
  return UffdWriteProtect(static_cast<UffdSigbusDelivery*>(self)->uffd_, addr, len, false);
}

Status UffdSigbusDelivery::failure() {
  if (signal_.failure() != SignalCopyPath::kUnprotect) return signal_.bufferFailure("uffd");
  return Status::Sys("uffd: UFFDIO_WRITEPROTECT(unprotect) in the SIGBUS handler", "ioctl", signal_.failureErrno());
}

}  // namespace cowbench
