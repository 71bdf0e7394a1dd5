#include "status.h"

#include <cstdio>

namespace cowbench {

std::string Status::ErrnoName(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC)
    E(ESPIPE) E(EROFS) E(EPIPE) E(ERANGE) E(ENOSYS) E(ELOOP) E(EOPNOTSUPP) E(ESRCH) E(ECHILD)
    E(EDQUOT) E(ENODEV) E(ENXIO) E(E2BIG) E(EXDEV)
#undef E
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "errno %d", err);
      return buf;
    }
  }
}

}  // namespace cowbench
