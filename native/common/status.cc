#include "status.h"

#include <cstdio>
#include <utility>

namespace cowbench {

std::string Status::ErrnoName(int err) {
#define E(x) \
  { x, #x }
  static const std::pair<int, const char*> kNames[] = {
      E(EPERM),  E(ENOENT), E(EINTR),   E(EIO),    E(EBADF),  E(EAGAIN),    E(ENOMEM), E(EACCES), E(EFAULT),
      E(EBUSY),  E(EEXIST), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE),    E(EMFILE), E(ENOTTY), E(EFBIG),
      E(ENOSPC), E(ESPIPE), E(EROFS),   E(EPIPE),  E(ERANGE), E(ENOSYS),    E(ELOOP),  E(ESRCH),  E(ECHILD),
      E(EDQUOT), E(ENODEV), E(ENXIO),   E(E2BIG),  E(EXDEV),  E(EOPNOTSUPP)};
#undef E
  for (const auto& [value, name] : kNames)
    if (value == err) return name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "errno %d", err);
  return buf;
}

}  // namespace cowbench
