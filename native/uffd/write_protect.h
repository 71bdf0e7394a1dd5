// One UFFDIO_WRITEPROTECT call with the kernel's EAGAIN retried. Async-signal-safe (a raw ioctl),
// so the SIGBUS delivery path uses it too.
#pragma once

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace cowbench {

// Returns 0, or the errno of the failed ioctl. `wake` only applies to un-protecting: the kernel
// rejects DONTWAKE together with WP (EINVAL).
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
