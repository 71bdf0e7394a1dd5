// The userfaultfd steps every user of it shares (the uffd backend, softdirty's wp-async engine,
// the kernel probes): open with the API handshake, register a range for write-protect, and
// UFFDIO_WRITEPROTECT itself.
#pragma once

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fd.h"
#include "status.h"

namespace cowbench {

// Opens a userfaultfd and negotiates `wanted` features; `available` receives what the kernel
// offers. Tried in order: the syscall, /dev/userfaultfd, then the syscall with
// UFFD_USER_MODE_ONLY (Linux 5.11+), which an unprivileged process may open even with
// vm.unprivileged_userfaultfd=0; `userModeOnly` says whether that last one was used: such a
// userfaultfd serves faults of user-space accesses only, so a write the kernel makes on the
// process's behalf (read(2) into the page, io_uring, process_vm_writev, KVM) fails with EFAULT.
// EPERM and EUNSUPPORTED say what to do.
Status OpenUserfaultfd(uint64_t wanted, uint64_t* available, UniqueFd* out, bool* userModeOnly = nullptr);

// UFFDIO_REGISTER(MODE_WP) of [addr, addr + len); `registered` is set once the ioctl succeeded
// (so the caller unregisters), even if UFFDIO_WRITEPROTECT is then not offered for the range.
Status RegisterWriteProtect(int uffd, void* addr, size_t len, const std::string& who, bool* registered);

// One UFFDIO_WRITEPROTECT call with the kernel's EAGAIN retried. Returns 0, or the errno of the
// failed ioctl. Async-signal-safe (a raw ioctl), so the SIGBUS delivery path uses it too. `wake`
// only applies to un-protecting: the kernel rejects DONTWAKE together with WP (EINVAL).
inline int UffdWriteProtect(int uffd, const void* addr, size_t len, bool protect, bool wake = true) {
  uffdio_writeprotect wp{};
  wp.range.start = reinterpret_cast<uint64_t>(addr);
  wp.range.len = len;
  wp.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : (wake ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
  for (;;) {
    if (::ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0) return 0;
    if (errno != EAGAIN) return errno;  // EAGAIN: page tables changed under us (a THP split): retry
  }
}

}  // namespace cowbench
