#include "userfaultfd.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "compat.h"

namespace cowbench {
namespace {

const char* kPermissionAdvice =
    "userfaultfd needs root, CAP_SYS_PTRACE, vm.unprivileged_userfaultfd=1, or read-write access "
    "to /dev/userfaultfd";

Status OpenRawUserfaultfd(UniqueFd* out, bool* userModeOnly) {
  *userModeOnly = false;
  int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd >= 0) {
    out->reset(fd);
    return Status::Ok();
  }
  const int sysErr = errno;
  // vm.unprivileged_userfaultfd=0 refuses the syscall (EPERM), and a seccomp filter or an
  // emulator such as valgrind can hide it (ENOSYS): /dev/userfaultfd may still grant it.
  int dev = ::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev >= 0) {
    UniqueFd devFd(dev);
    fd = ::ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
      out->reset(fd);
      return Status::Ok();
    }
  }
  // Without privilege, a user-mode-only userfaultfd is still allowed (Linux 5.11+).
  if (sysErr == EPERM) {
    fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (fd >= 0) {
      out->reset(fd);
      *userModeOnly = true;
      return Status::Ok();
    }
  }
  if (sysErr == ENOSYS)
    return Status::Fail("EUNSUPPORTED",
                        "userfaultfd: the kernel has no userfaultfd (CONFIG_USERFAULTFD): the syscall is "
                        "ENOSYS and /dev/userfaultfd gives no fd");
  Status st = Status::Sys("uffd: userfaultfd()", "userfaultfd", sysErr, sysErr == EPERM ? kPermissionAdvice : "");
  if (sysErr == EPERM) st.code = "EPERM";
  return st;
}

}  // namespace

Status OpenUserfaultfd(uint64_t wanted, uint64_t* available, UniqueFd* out, bool* userModeOnly) {
  bool userOnly = false;
  if (userModeOnly) *userModeOnly = false;
  // UFFDIO_API may be called once per fd: ask what exists on a throwaway fd first.
  UniqueFd query;
  Status st = OpenRawUserfaultfd(&query, &userOnly);
  if (!st.ok()) return st;
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = 0;
  if (::ioctl(query.get(), UFFDIO_API, &api) != 0) return Status::Sys("uffd: UFFDIO_API", "ioctl", errno);
  if (available) *available = api.features;
  if ((api.features & wanted) != wanted) {
    return Status::Fail(
        "EUNSUPPORTED", "uffd: the kernel lacks userfaultfd features 0x" + [](uint64_t v) {
          char b[32];
          std::snprintf(b, sizeof b, "%llx", (unsigned long long)v);
          return std::string(b);
        }(wanted & ~api.features));
  }
  st = OpenRawUserfaultfd(out, &userOnly);
  if (!st.ok()) return st;
  if (userModeOnly) *userModeOnly = userOnly;
  api = {};
  api.api = UFFD_API;
  api.features = wanted;
  if (::ioctl(out->get(), UFFDIO_API, &api) != 0) {
    int err = errno;
    out->reset();
    return Status::Sys("uffd: UFFDIO_API(features)", "ioctl", err);
  }
  return Status::Ok();
}

Status RegisterWriteProtect(int uffd, void* addr, size_t len, const std::string& who, bool* registered) {
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uint64_t>(addr);
  reg.range.len = len;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return Status::Sys(who + ": UFFDIO_REGISTER(MODE_WP)", "ioctl", errno);
  *registered = true;
  if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT)))
    return Status::Fail("EUNSUPPORTED", who + ": UFFDIO_WRITEPROTECT is not offered for this memory");
  return Status::Ok();
}

}  // namespace cowbench
