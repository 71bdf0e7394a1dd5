#include "forkcow_backend.h"
#include "../common/page.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "../common/compat.h"

namespace cowbench {
namespace {

constexpr size_t kChildChunkBytes = 2u << 20;
constexpr int kChildWriteFailed = 3;               // exit status: a write failed, errno in the ChildReport
constexpr int kChildOrphaned = 4;                  // exit status: the parent died before the child started
constexpr uint64_t kSampleIntervalNs = 100000000;  // smaps_rollup walks page tables: sparingly

// Runs in the forked child of a multi-threaded process: only async-signal-safe calls, no
// allocation, nothing of Node, V8 or libuv; never returns (and never runs atexit handlers).
[[noreturn]] void RunChild(pid_t parent, int fd, bool isNull, const char* base, size_t bytes,
                           ForkcowBackend::ChildReport* report, unsigned delayMs) {
  // Node's handlers would write into the parent's libuv signal pipe: the child takes defaults.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kChildOrphaned);
  if (delayMs) {  // test hook: keep the child alive long enough to be killed mid-snapshot
    timespec ts{static_cast<time_t>(delayMs / 1000), static_cast<long>(delayMs % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  uint64_t off = 0;
  while (off < bytes) {
    const size_t want = std::min<size_t>(kChildChunkBytes, bytes - off);
    ssize_t n = isNull ? write(fd, base + off, want) : pwrite(fd, base + off, want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      report->err = n < 0 ? errno : EIO;
      report->errOffset = off;
      _exit(kChildWriteFailed);
    }
    off += static_cast<uint64_t>(n);
    report->bytesWritten = off;
  }
  report->done = 1;
  timespec ackTimeout{2, 0};
  if (!report->ack) syscall(SYS_futex, const_cast<uint32_t*>(&report->ack), FUTEX_WAIT, 0, &ackTimeout, nullptr, 0);
  _exit(0);
}

// Proportional set size of a process in bytes (its share of every page it maps), or -1.
int64_t ReadPssBytes(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/smaps_rollup", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  UniqueFd f(fd);
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char* p = std::strstr(buf, "\nPss:");
  if (!p) return -1;
  return std::strtoll(p + 5, nullptr, 10) * 1024;
}

std::string SignalName(int sig) {
#define S(x) \
  { x, #x }
  static const std::pair<int, const char*> kNames[] = {S(SIGKILL), S(SIGTERM), S(SIGINT),  S(SIGSEGV), S(SIGBUS),
                                                       S(SIGABRT), S(SIGHUP),  S(SIGQUIT), S(SIGPIPE), S(SIGXFSZ),
                                                       S(SIGUSR1), S(SIGUSR2), S(SIGILL),  S(SIGFPE),  S(SIGSYS)};
#undef S
  for (const auto& [value, name] : kNames)
    if (value == sig) return name;
  return "signal " + std::to_string(sig);
}

}  // namespace

ForkcowBackend::~ForkcowBackend() { killAndReap(); }

Status ForkcowBackend::prepare(SnapshotContext& ctx) {
  bytes_ = ctx.region.bytes();
  void* page = ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return Status::Sys("forkcow: mmap of the child's report page", "mmap", errno);
  report_ = Mapping(page, kPageSize);
  std::memset(page, 0, sizeof(ChildReport));
  return Status::Ok();
}

// Right before the fork, after the writers' baseline: what the process held without a snapshot
// (pages first touched during the baseline are not the snapshot's cost).
Status ForkcowBackend::beforeArm(SnapshotContext& ctx) {
  pssBeforeBytes_ = ReadPssBytes(::getpid());
  return Status::Ok();
}

Status ForkcowBackend::arm(SnapshotContext& ctx) {
  // Writers are held: the child's copy of the region is the consistency point.
  auto* report = reinterpret_cast<ChildReport*>(report_.data());
  const pid_t parent = ::getpid();
  const int fd = ctx.sink.fd();
  const bool isNull = ctx.sink.isNull();
  const char* base = ctx.region.base();
  const unsigned delayMs = ctx.options.inject.childDelayMs;
  const uint64_t t0 = NowNs();
  const pid_t pid = ::fork();
  if (pid == 0) RunChild(parent, fd, isNull, base, bytes_, report, delayMs);
  const uint64_t forkNs = NowNs() - t0;
  if (pid < 0) {
    const int err = errno;
    return Status::Sys("forkcow: fork", "fork", err,
                       err == ENOMEM || err == EAGAIN ? "the kernel could not duplicate the process (memory, "
                                                        "vm.overcommit_memory or pid limits)"
                                                      : "");
  }
  child_ = pid;
  ctx.metrics.extra["fork_us"] = static_cast<double>(forkNs) / 1000.0;
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd >= 0) pidfd_.reset(pfd);  // else: waitpid polling (kernels before 5.3)
  return Status::Ok();
}

void ForkcowBackend::sampleExtraMemory() {
  if (pssBeforeBytes_ < 0 || child_ <= 0) return;
  const uint64_t t0 = NowNs();
  const int64_t parent = ReadPssBytes(::getpid());
  const int64_t child = ReadPssBytes(child_);
  sampleNs_ += NowNs() - t0;
  if (parent < 0 || child < 0) return;  // the child has exited: its share is gone
  ++samples_;
  // Pages the parent wrote since fork exist twice now; together the two PSS add up to every
  // distinct page once, so the growth over the pre-fork PSS is what the snapshot costs.
  extraPeakBytes_ = std::max<int64_t>(extraPeakBytes_, std::max<int64_t>(0, parent + child - pssBeforeBytes_));
}

Status ForkcowBackend::childOutcome(const siginfo_t& info) {
  const auto* report = reinterpret_cast<const ChildReport*>(report_.data());
  const std::string who = "forkcow: the snapshot child (pid " + std::to_string(info.si_pid) + ")";
  const std::string progress =
      " after writing " + std::to_string(report->bytesWritten) + " of " + std::to_string(bytes_) + " bytes";
  if (info.si_code == CLD_EXITED && info.si_status == 0) {
    if (report->bytesWritten != bytes_)
      return Status::Fail("ECHILD", who + " exited 0" + progress + "; the image is incomplete");
    return Status::Ok();
  }
  if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
    return Status::Fail("ECHILD", who + " was killed by " + SignalName(info.si_status) + " (signal " +
                                      std::to_string(info.si_status) + ")" + progress +
                                      "; the image is incomplete and is not kept");
  }
  if (info.si_status == kChildWriteFailed && report->err != 0) {
    const int err = report->err;
    Status st = Status::Sys(who + " writing the image at offset " + std::to_string(report->errOffset), "pwrite", err,
                            (err == ENOSPC ? std::string("the file system is full; ") : std::string()) +
                                "child exit status " + std::to_string(info.si_status));
    return st;
  }
  return Status::Fail("ECHILD", who + " exited with status " + std::to_string(info.si_status) + progress +
                                    (info.si_status == kChildOrphaned ? " (its parent was gone)" : ""));
}

Status ForkcowBackend::copy(SnapshotContext& ctx) {
  if (child_ <= 0) return Status::Fail("EINVAL", "forkcow: copy before arm");
  const auto* report = reinterpret_cast<const ChildReport*>(report_.data());
  auto* shared = reinterpret_cast<ChildReport*>(report_.data());
  uint64_t nextSampleNs = 0;
  bool killed = false;
  for (;;) {
    if (shared->done && !shared->ack) {
      sampleExtraMemory();  // the last moment both copies of every written page exist
      shared->ack = 1;
      ::syscall(SYS_futex, const_cast<uint32_t*>(&shared->ack), FUTEX_WAKE, 1, nullptr, nullptr, 0);
    }
    const uint64_t written = report->bytesWritten;
    if (written > reported_) {
      ctx.addCopied(written - reported_);
      reported_ = written;
    }
    if (NowNs() >= nextSampleNs) {
      sampleExtraMemory();
      nextSampleNs =
          NowNs() + std::max<uint64_t>(kSampleIntervalNs, 10 * (sampleNs_ / std::max<uint64_t>(samples_, 1)));
    }
    if (ctx.cancelled() && !killed) {
      ::kill(child_, SIGKILL);
      killed = true;
    }
    // Wait for the child's exit (pidfd readable), or time out to sample and report progress.
    if (pidfd_.valid()) {
      pollfd pfd{pidfd_.get(), POLLIN, 0};
      int rc = ::poll(&pfd, 1, 5);
      if (rc < 0 && errno != EINTR) return Status::Sys("forkcow: poll(pidfd)", "poll", errno);
      if (rc <= 0) continue;
    }
    siginfo_t info{};
    int rc = ::waitid(P_PID, static_cast<id_t>(child_), &info, WEXITED | (pidfd_.valid() ? 0 : WNOHANG));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Status::Sys("forkcow: waitid", "waitid", errno);
    if (info.si_pid == 0) {  // WNOHANG: still running
      timespec ts{0, 20000000};
      nanosleep(&ts, nullptr);
      continue;
    }
    child_ = -1;
    pidfd_.reset();
    if (report->bytesWritten > reported_) {
      ctx.addCopied(report->bytesWritten - reported_);
      reported_ = report->bytesWritten;
    }
    ctx.metrics.extra["child_exit_status"] = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    if (ctx.cancelled()) return ctx.firstError();
    Status st = childOutcome(info);
    if (!st.ok()) {
      ctx.fail(st);
      return st;
    }
    // The child wrote through its own copy of the sink's file description.
    ctx.sink.addBytesWritten(reported_);
    return Status::Ok();
  }
}

void ForkcowBackend::killAndReap() {
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
    }
    child_ = -1;
  }
  pidfd_.reset();
}

void ForkcowBackend::release(SnapshotContext& ctx) {
  killAndReap();
  ctx.metrics.extraMemoryPeakBytes = extraPeakBytes_ < 0 ? -1 : extraPeakBytes_;
  ctx.metrics.extra["extra_memory_samples"] = static_cast<double>(samples_);
  ctx.metrics.extra["extra_memory_sampling_ms"] = static_cast<double>(sampleNs_) / 1e6;
  report_.reset();
}

}  // namespace cowbench
