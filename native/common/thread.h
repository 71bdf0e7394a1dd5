// Starting a native thread as a Status. std::thread's constructor throws std::system_error
// (EAGAIN under RLIMIT_NPROC, a container's pids limit or systemd's TasksMax) and std::bad_alloc;
// thrown on a worker thread, either would abort the process. Every thread start goes through here.
#pragma once

#include <cerrno>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "status.h"

namespace cowbench {

// The Status of a thread that could not be started; `what` names it ("handler", "writer", ...).
inline Status ThreadStartFailure(const std::string& what, int err) {
  Status st;
  st.code = err == ENOMEM ? "ENOMEM" : err == EAGAIN ? "EAGAIN" : "ESYS";
  st.syscall = "pthread_create";
  st.err = err;
  st.message =
      Status::ErrnoName(err) + ": could not start " + what + " thread (pthread_create: " + std::strerror(err) + ")";
  if (err == EAGAIN)
    st.message +=
        "; raise the task limit (ulimit -u, a container's pids limit, systemd TasksMax) or the "
        "address-space limit (ulimit -v), or use fewer --handlers/--writers";
  return st;
}

// The Status of an allocation that failed (std::bad_alloc); `what` says where.
inline Status OutOfMemory(const std::string& what) {
  Status st =
      Status::Fail("ENOMEM", "ENOMEM: out of memory (" + what +
                                 "); raise the address-space limit (ulimit -v) or use a smaller --size/--buffer");
  st.err = ENOMEM;
  return st;
}

// What a thread body does when an exception escapes it (std::bad_alloc, mostly): record the
// failure where the thread's owner looks for it, and leave nothing blocked on the thread.
using ThreadEscape = std::function<void(const Status&)>;

// Starts `fn` on `*out` (which must not hold a running thread). An exception escaping `fn` on the
// new thread ends that thread and is handed to `onEscape` as a Status (built here, beforehand:
// the thread may have no memory left to build one).
template <typename Fn>
Status StartThread(const std::string& what, Fn&& fn, ThreadEscape onEscape, std::thread* out) {
  try {
    Status outOfMemory = OutOfMemory("in the " + what + " thread");
    Status escaped = Status::Fail("EINTERNAL", "the " + what + " thread failed with an unexpected exception");
    *out = std::thread([fn = std::forward<Fn>(fn), onEscape = std::move(onEscape), outOfMemory, escaped]() mutable {
      const Status* failure = nullptr;
      try {
        fn();
      } catch (const std::bad_alloc&) {
        failure = &outOfMemory;
      } catch (...) {
        failure = &escaped;
      }
      if (!failure) return;
      try {
        onEscape(*failure);
      } catch (...) {
        // Out of memory even to report it: nothing is left to try on this thread.
      }
    });
    return Status::Ok();
  } catch (const std::system_error& e) {
    return ThreadStartFailure(what, e.code().value());
  } catch (const std::bad_alloc&) {
    return ThreadStartFailure(what, ENOMEM);
  }
}

// Starts `fn` on a thread appended to `threads`. On failure nothing is appended (the vector grows
// before the thread starts, so a started thread is never dropped while joinable).
template <typename Fn>
Status StartThread(const std::string& what, Fn&& fn, ThreadEscape onEscape, std::vector<std::thread>* threads) {
  try {
    threads->reserve(threads->size() + 1);
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the " + what + " thread list");
  }
  std::thread t;
  Status st = StartThread(what, std::forward<Fn>(fn), std::move(onEscape), &t);
  if (st.ok()) threads->push_back(std::move(t));  // capacity reserved: cannot throw
  return st;
}

}  // namespace cowbench
