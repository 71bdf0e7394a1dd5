// The one error type of the native layer: what failed, which syscall, errno, and advice.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace cowbench {

// Error codes that cross into JavaScript as `err.code`.
// ESYS: a syscall failed; EUNSUPPORTED: the kernel lacks a feature; EBUFFER_FULL: copy buffer full
// under the fail policy; EABORTED: cancelled by the user; EVERIFY / EINCOMPATIBLE: findings.
struct Status {
  std::string code;  // empty when ok
  std::string syscall;
  int err = 0;
  std::string message;

  bool ok() const { return code.empty(); }
  static Status Ok() { return {}; }
  static Status Fail(std::string code, std::string message) {
    Status s;
    s.code = std::move(code);
    s.message = std::move(message);
    return s;
  }
  // `what` names the operation, e.g. "uffd: UFFDIO_WRITEPROTECT"; errno is read by the caller.
  static Status Sys(const std::string& what, const std::string& syscall, int err, const std::string& advice = "") {
    Status s;
    s.code = "ESYS";
    s.syscall = syscall;
    s.err = err;
    s.message = what + " failed: " + ErrnoName(err) + " (" + std::strerror(err) + ")";
    if (!advice.empty()) s.message += "; " + advice;
    return s;
  }
  // EINVAL for a broken precondition that the TypeScript preflight owns (with its user-facing
  // message): reaching it means a caller skipped the preflight, so it reads as an internal error.
  static Status Internal(const std::string& what) {
    return Fail("EINVAL", "internal: " + what + " (a caller skipped the option preflight)");
  }
  static std::string ErrnoName(int err);
};

}  // namespace cowbench
