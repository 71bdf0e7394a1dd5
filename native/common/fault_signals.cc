#include "fault_signals.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

namespace cowbench {
namespace {

constexpr int kMaxRanges = 8;
constexpr uint64_t kRetiredGraceNs = 1000000000ull;  // late faults of an unregistered range

enum RangeState : int { kFree = 0, kSetup, kActive, kRetired };

struct FaultRange {
  std::atomic<int> state{kFree};
  std::atomic<int> signo{0};
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<FaultFn> fn{nullptr};
  std::atomic<void*> self{nullptr};
  std::atomic<int> inflight{0};  // handlers currently looking at this range
  std::atomic<uint64_t> retiredAtNs{0};
};

// The process-wide state of the fault signal handler. The handler reads `ranges` and
// `previous`; `ranges` is lock-free, `previous` is written only under `installMutex` while
// (re)installing, before our handler can run for that signal.
struct FaultSignalState {
  FaultRange ranges[kMaxRanges];
  struct sigaction previousSegv {};
  struct sigaction previousBus {};
  std::mutex installMutex;  // never taken in signal context
};

FaultSignalState& State() {
  static FaultSignalState state;  // constructed on first registration, never destroyed
  return state;
}

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Hands the fault to whoever was installed before us, as if we had never been there.
void Chain(int signo, siginfo_t* info, void* uctx) {
  FaultSignalState& s = State();
  const struct sigaction& prev = signo == SIGBUS ? s.previousBus : s.previousSegv;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) {
      prev.sa_sigaction(signo, info, uctx);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(signo);
    return;
  }
  // Default action: restore it and re-raise; the signal is blocked while we run, so it is
  // delivered (and kills with a core, as it would have without us) when we return.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(signo, &dfl, nullptr);
  raise(signo);
}

void OnFaultSignal(int signo, siginfo_t* info, void* uctx) {
  const int savedErrno = errno;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  FaultSignalState& s = State();
  bool retry = false;
  bool owned = false;
  // Active ranges first: a new region is often mapped where a retired one was.
  for (int wanted : {kActive, kRetired}) {
    for (FaultRange& r : s.ranges) {
      r.inflight.fetch_add(1);
      const bool inside =
          r.state.load() == wanted && addr >= r.begin.load() && addr < r.end.load() && r.signo.load() == signo;
      if (inside && wanted == kActive) {
        owned = true;
        retry = r.fn.load()(r.self.load(), reinterpret_cast<char*>(addr));
      } else if (inside) {
        // A protection fault delivered after its owner re-enabled writes: retry the access.
        // A missing mapping (SEGV_MAPERR) or an old range is a real fault. Several retired
        // ranges can cover one address (regions of successive snapshots mapped at the same
        // place): the fault belongs to the most recently retired one, so every match is
        // checked and any one still in its grace retries (the oldest is not the owner).
        owned = true;
        retry = retry || ((signo != SIGSEGV || info->si_code == SEGV_ACCERR) &&
                          MonotonicNs() - r.retiredAtNs.load() < kRetiredGraceNs);
      }
      r.inflight.fetch_sub(1);
      if (owned && wanted == kActive) break;
    }
    if (owned) break;
  }
  if (!retry) Chain(signo, info, uctx);
  errno = savedErrno;
}

// Installs OnFaultSignal for `signo` unless it is already the handler. Caller holds installMutex.
Status InstallLocked(FaultSignalState& s, int signo) {
  struct sigaction current {};
  if (sigaction(signo, nullptr, &current) != 0)
    return Status::Sys("fault signals: sigaction(query)", "sigaction", errno);
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == OnFaultSignal) return Status::Ok();
  struct sigaction ours {};
  ours.sa_sigaction = OnFaultSignal;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;  // ONSTACK: a thread with an alternate stack keeps using it
  sigemptyset(&ours.sa_mask);
  // The previous handler is recorded before ours can run for this signal.
  (signo == SIGBUS ? s.previousBus : s.previousSegv) = current;
  if (sigaction(signo, &ours, nullptr) != 0)
    return Status::Sys(std::string("fault signals: install ") + (signo == SIGBUS ? "SIGBUS" : "SIGSEGV") + " handler",
                       "sigaction", errno);
  return Status::Ok();
}

}  // namespace

Status RegisterFaultRange(int signo, char* base, size_t bytes, FaultFn fn, void* self, int* slotOut) {
  if (signo != SIGSEGV && signo != SIGBUS) return Status::Fail("EINVAL", "fault signals: only SIGSEGV and SIGBUS");
  FaultSignalState& s = State();
  std::lock_guard<std::mutex> lock(s.installMutex);
  // Reinstalled if someone replaced us since the last registration (we then chain to them).
  Status st = InstallLocked(s, signo);
  if (!st.ok()) return st;
  // A new range takes its addresses from every retired range it overlaps: those regions are
  // gone (the address was unmapped and mapped again), so their slots are freed.
  const uintptr_t newBegin = reinterpret_cast<uintptr_t>(base), newEnd = newBegin + bytes;
  for (FaultRange& r : s.ranges) {
    int state = kRetired;
    if (r.begin.load() >= newEnd || r.end.load() <= newBegin) continue;
    if (!r.state.compare_exchange_strong(state, kSetup)) continue;
    while (r.inflight.load() != 0) sched_yield();
    r.state = kFree;
  }
  // A free slot, else a retired one past its grace period, else the longest-retired one.
  for (int pass = 0; pass < 3; ++pass) {
    int oldest = -1;
    for (int i = 0; i < kMaxRanges; ++i) {
      FaultRange& r = s.ranges[i];
      const int state = r.state.load();
      if (state == kActive || state == kSetup) continue;
      if (pass == 0 && state != kFree) continue;
      if (pass == 1 && MonotonicNs() - r.retiredAtNs.load() < kRetiredGraceNs) continue;
      if (pass == 2 && oldest >= 0 && r.retiredAtNs.load() >= s.ranges[oldest].retiredAtNs.load()) continue;
      oldest = i;
      if (pass < 2) break;
    }
    if (oldest < 0) continue;
    FaultRange& r = s.ranges[oldest];
    int state = r.state.load();
    if ((state != kFree && state != kRetired) || !r.state.compare_exchange_strong(state, kSetup)) continue;
    while (r.inflight.load() != 0) sched_yield();
    r.signo = signo;
    r.begin = reinterpret_cast<uintptr_t>(base);
    r.end = reinterpret_cast<uintptr_t>(base) + bytes;
    r.fn = fn;
    r.self = self;
    r.state = kActive;
    *slotOut = oldest;
    return Status::Ok();
  }
  return Status::Fail("EBUSY", "fault signals: more than " + std::to_string(kMaxRanges) +
                                   " regions under signal-based snapshot at once");
}

void UnregisterFaultRange(int slot) {
  if (slot < 0 || slot >= kMaxRanges) return;
  FaultRange& r = State().ranges[slot];
  r.retiredAtNs = MonotonicNs();
  r.state = kRetired;
  // A handler that saw kActive may still be inside fn: its owner must outlive that call.
  while (r.inflight.load() != 0) sched_yield();
}

}  // namespace cowbench
