#include "uffd_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "../common/claimed_runs.h"
#include "../common/compat.h"
#include "../common/thread.h"
#include "../common/userfaultfd.h"

namespace cowbench {
namespace {

// The CPU thread `tid` of this process last ran on (field 39 of /proc/self/task/TID/stat), or -1.
int ThreadCpu(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = 0;
  // comm (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return -1;
  int field = 2;
  for (; *p && field < 39; ++p)
    if (*p == ' ') ++field;
  return field == 39 ? std::atoi(p) : -1;
}

// --handler-cpu same|other: a handler pins itself to the CPU of the thread whose fault it serves
// (same: the blocked writer's CPU hands over to the handler without a cross-CPU wake-up) or to
// another allowed CPU (other). UFFD_FEATURE_THREAD_ID names the faulting thread; its CPU is
// looked up in /proc at most every 10 ms per thread, and the handler re-pins only on a change.
class HandlerPlacement {
 public:
  explicit HandlerPlacement(HandlerCpu mode) : mode_(mode) {
    if (::sched_getaffinity(0, sizeof allowed_, &allowed_) != 0) CPU_ZERO(&allowed_);
  }
  bool active() const { return mode_ != HandlerCpu::kAny; }
  // Returns true if the handler moved.
  bool place(pid_t tid) {
    const uint64_t now = NowNs();
    Entry& e = cpuOf_[tid];
    if (e.checkedNs == 0 || now - e.checkedNs > 10'000'000) {
      e.cpu = ThreadCpu(tid);
      e.checkedNs = now;
    }
    if (e.cpu < 0) return false;
    int target = e.cpu;
    if (mode_ == HandlerCpu::kOther) {
      target = -1;
      for (int i = 1; i < CPU_SETSIZE && target < 0; ++i) {
        const int c = (e.cpu + i) % CPU_SETSIZE;
        if (CPU_ISSET(c, &allowed_)) target = c;
      }
      if (target < 0 || target == e.cpu) return false;  // one CPU only: nowhere else to go
    }
    if (target == pinned_) return false;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(target, &one);
    if (::sched_setaffinity(0, sizeof one, &one) != 0) return false;  // placement is a hint
    pinned_ = target;
    return true;
  }

 private:
  struct Entry {
    int cpu = -1;
    uint64_t checkedNs = 0;
  };
  HandlerCpu mode_;
  cpu_set_t allowed_{};
  std::unordered_map<pid_t, Entry> cpuOf_;
  int pinned_ = -1;
};

}  // namespace

UffdBackend::~UffdBackend() = default;

Status UffdBackend::writeProtect(char* addr, size_t len, bool protect, bool wake) {
  const int err = UffdWriteProtect(uffd_.get(), addr, len, protect, wake);
  if (err == 0) return Status::Ok();
  return Status::Sys(std::string("uffd: UFFDIO_WRITEPROTECT(") + (protect ? "protect" : "unprotect") + ")", "ioctl",
                     err);
}

Status UffdBackend::wake(uint64_t start, uint64_t end) {
  uffdio_range range{start, end - start};
  if (::ioctl(uffd_.get(), UFFDIO_WAKE, &range) != 0) return Status::Sys("uffd: UFFDIO_WAKE", "ioctl", errno);
  return Status::Ok();
}

void UffdBackend::unprotectAll() {
  if (armed_.exchange(false)) writeProtect(base_, bytes_, false);
}

Status UffdBackend::prepare(SnapshotContext& ctx) {
  base_ = ctx.region.base();
  bytes_ = ctx.region.bytes();
  granule_ = ctx.options.granularityBytes;

  const uint64_t delivery = options_.delivery == Delivery::kSigbus ? UFFD_FEATURE_SIGBUS : 0;
  // Handler placement needs the faulting thread's id in each message.
  const uint64_t threadId = options_.handlerCpu != HandlerCpu::kAny && !delivery ? UFFD_FEATURE_THREAD_ID : 0;
  uint64_t available = 0;
  bool userModeOnly = false;
  Status st = OpenUserfaultfd(UFFD_FEATURE_PAGEFAULT_FLAG_WP, &available, &uffd_, &userModeOnly);
  if (!st.ok()) return st;
  if ((available & delivery) != delivery)
    return Status::Fail("EUNSUPPORTED",
                        "uffd: the kernel lacks UFFD_FEATURE_SIGBUS (Linux 4.14+) for --delivery sigbus");
  if ((available & threadId) != threadId)
    return Status::Fail("EUNSUPPORTED",
                        "uffd: the kernel lacks UFFD_FEATURE_THREAD_ID (Linux 4.14+) for --handler-cpu");
  // Re-open with WP_UNPOPULATED where the kernel has it; else pre-fault so no page escapes.
  if (available & UFFD_FEATURE_WP_UNPOPULATED) {
    features_ = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_UNPOPULATED | delivery | threadId;
    st = OpenUserfaultfd(features_, nullptr, &uffd_);
    if (!st.ok()) return st;
  } else {
    features_ = UFFD_FEATURE_PAGEFAULT_FLAG_WP | delivery | threadId;
    if (delivery | threadId) {
      st = OpenUserfaultfd(features_, nullptr, &uffd_);
      if (!st.ok()) return st;
    }
    if (::madvise(base_, bytes_, MADV_POPULATE_WRITE) != 0)
      return Status::Sys("uffd: pre-fault (MADV_POPULATE_WRITE) without UFFD_FEATURE_WP_UNPOPULATED", "madvise", errno);
  }
  ctx.metrics.extra["wp_unpopulated"] = (features_ & UFFD_FEATURE_WP_UNPOPULATED) ? 1 : 0;
  // Unprivileged: faults of kernel-side writes are not served (they fail with EFAULT: lost writes).
  if (userModeOnly) ctx.metrics.extra["user_mode_only"] = 1;

  st = RegisterWriteProtect(uffd_.get(), base_, bytes_, "uffd", &registered_);
  if (!st.ok()) return st;

  granules_ = (bytes_ + granule_ - 1) / granule_;
  st = path_.start(ctx, base_, bytes_, granule_, options_.copyPath);
  if (!st.ok()) return st;
  if (delivery) {
    sigbus_ = std::make_unique<UffdSigbusDelivery>();
    return sigbus_->start(uffd_.get(), base_, bytes_, granule_, &path_);
  }

  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return Status::Sys("uffd: eventfd", "eventfd", errno);
  stopFd_.reset(efd);
  const unsigned n = std::max(1u, options_.handlers);
  for (unsigned i = 0; i < n; ++i) {
    st = StartThread(
        "handler", [this, &ctx] { handlerLoop(&ctx); },
        [this, &ctx](const Status& failure) {
          ctx.fail(failure);
          unprotectAll();
        },
        &handlers_);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// UFFDIO_WRITEPROTECT over the whole region, split across `threads`.
Status UffdBackend::protectAll(unsigned threads) {
  armed_ = true;
  threads = std::max(1u, threads);
  if (threads == 1) return writeProtect(base_, bytes_, true);
  const size_t per = (bytes_ / threads + granule_ - 1) / granule_ * granule_;
  std::vector<Status> results(threads);
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) {
    size_t off = per * i;
    if (off >= bytes_) break;
    Status st = StartThread(
        "arm", [&, i, off] { results[i] = writeProtect(base_ + off, std::min(per, bytes_ - off), true); },
        [&, i](const Status& failure) { results[i] = failure; }, &workers);
    if (!st.ok()) {
      for (auto& t : workers) t.join();
      return st;
    }
  }
  results[0] = writeProtect(base_, std::min(per, bytes_), true);
  for (auto& t : workers) t.join();
  for (auto& r : results)
    if (!r.ok()) return r;
  return Status::Ok();
}

// Pre-arm needs fault messages in handler threads; SIGBUS delivery protects in the pause.
bool UffdBackend::prearmed(const SnapshotContext& ctx) const { return options_.prearm && !sigbus_; }

Status UffdBackend::beforeArm(SnapshotContext& ctx) {
  if (!prearmed(ctx)) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(prearmMutex_);
    prearmTracking_ = true;
    prearmWritten_.clear();
  }
  prearmPossible_.store(true, std::memory_order_release);
  const uint64_t t0 = NowNs();
  Status st = protectAll(options_.armThreads);
  ctx.metrics.extra["prearm_protect_us"] = (NowNs() - t0) / 1e3;
  return st;
}

Status UffdBackend::arm(SnapshotContext& ctx) {
  if (sigbus_) sigbus_->arm();
  // Without a beforeArm (a caller that arms directly) nothing is protected yet: do it all here.
  if (!prearmed(ctx) || !prearmPossible_.load()) return protectAll(options_.armThreads);
  // Writers are held, so every pre-arm fault has been served (a writer blocked in a fault cannot
  // park). Holding the mutex, no handler can un-protect a page after this point without a copy.
  const uint64_t t0 = NowNs();
  std::lock_guard<std::mutex> lock(prearmMutex_);
  prearmTracking_ = false;
  prearmPossible_.store(false, std::memory_order_release);  // later faults skip the mutex
  ctx.metrics.extra["prearm_faults"] = static_cast<double>(prearmFaults_.load());
  const uint64_t t1 = NowNs();
  std::sort(prearmWritten_.begin(), prearmWritten_.end());
  prearmWritten_.erase(std::unique(prearmWritten_.begin(), prearmWritten_.end()), prearmWritten_.end());
  ctx.metrics.extra["prearm_reprotected_granules"] = static_cast<double>(prearmWritten_.size());
  const uint64_t t2 = NowNs();
  // The arm's own steps inside the pause: taking the pre-arm lock (handlers may hold it), sorting
  // the granules written since the pre-arm, re-protecting them.
  ctx.metrics.extra["arm_lock_us"] = (t1 - t0) / 1e3;
  ctx.metrics.extra["arm_sort_us"] = (t2 - t1) / 1e3;
  Status st;
  // Re-protecting costs an ioctl per run; past a quarter of the region one full pass is cheaper.
  if (prearmWritten_.size() * 4 > bytes_ / granule_) {
    st = protectAll(options_.armThreads);
  } else {
    for (size_t i = 0; i < prearmWritten_.size() && st.ok();) {
      size_t j = i + 1;
      while (j < prearmWritten_.size() && prearmWritten_[j] == prearmWritten_[j - 1] + 1) ++j;
      const size_t off = prearmWritten_[i] * granule_;
      st = writeProtect(base_ + off, std::min((j - i) * granule_, bytes_ - off), true);
      i = j;
    }
  }
  ctx.metrics.extra["arm_reprotect_us"] = (NowNs() - t2) / 1e3;
  return st;
}

bool UffdBackend::serveFault(SnapshotContext& ctx, uint64_t address, bool wakeNow, GranuleRun* served) {
  if (address < reinterpret_cast<uint64_t>(base_) || address >= reinterpret_cast<uint64_t>(base_) + bytes_)
    return false;
  const size_t g = (address - reinterpret_cast<uint64_t>(base_)) / granule_;
  if (prearmPossible_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(prearmMutex_);
    if (prearmTracking_) {
      prearmFaults_.fetch_add(1, std::memory_order_relaxed);
      // Before the consistency point: the write belongs in the image; re-protected at arm.
      prearmWritten_.push_back(g);
      Status st = writeProtect(base_ + g * granule_, std::min(granule_, bytes_ - g * granule_), false);
      if (!st.ok()) {
        ctx.fail(st);
        unprotectAll();
      }
      return false;
    }
  }
  // The kick waits for the batch's wake-up (serveBatch).
  const FaultPath::Served s = path_.serve(
      g, [this, wakeNow](char* addr, size_t len) { return UffdWriteProtect(uffd_.get(), addr, len, false, wakeNow); },
      /*kickNow=*/false);
  switch (s.outcome) {
    case FaultPath::Outcome::kOwnedElsewhere:
      return false;  // the copier or another handler un-protects it and wakes us
    case FaultPath::Outcome::kCopyFailed:
      // Release every writer: the snapshot is lost, the writers are not.
      ctx.fail(path_.copyFailure(s.error, "uffd"));
      unprotectAll();
      return false;
    case FaultPath::Outcome::kUnprotectFailed:
      ctx.fail(Status::Sys("uffd: UFFDIO_WRITEPROTECT(unprotect)", "ioctl", s.error));
      unprotectAll();
      return false;
    case FaultPath::Outcome::kServed:
      break;
  }
  *served = s.run;
  return !wakeNow;
}

// --handler-batch: un-protect every run of one read with DONTWAKE, then wake the span once.
// A writer woken whose page is still protected (claimed by the copier) simply faults again.
void UffdBackend::serveBatch(SnapshotContext& ctx, const uffd_msg* msgs, size_t count) {
  const bool batch = options_.handlerBatch && count > 1;
  uint64_t lo = UINT64_MAX, hi = 0;
  size_t deferred = 0;
  for (size_t i = 0; i < count; ++i) {
    if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
    GranuleRun run{};
    if (serveFault(ctx, msgs[i].arg.pagefault.address, !batch, &run)) {
      // The whole run: writers blocked on its neighbours were told another handler owns them.
      const uint64_t base = reinterpret_cast<uint64_t>(base_);
      lo = std::min<uint64_t>(lo, base + run.first * granule_);
      hi = std::max<uint64_t>(hi, base + std::min(run.end * granule_, bytes_));
      ++deferred;
    }
  }
  if (deferred == 0) {
    path_.kick();
    return;
  }
  wakeBatches_.fetch_add(1, std::memory_order_relaxed);
  batchedFaults_.fetch_add(deferred, std::memory_order_relaxed);
  Status st = wake(lo, hi);
  path_.kick();
  if (!st.ok()) {
    ctx.fail(st);
    unprotectAll();
  }
}

void UffdBackend::handlerLoop(SnapshotContext* ctx) {
  uffd_msg msgs[16];
  pollfd fds[2] = {{uffd_.get(), POLLIN, 0}, {stopFd_.get(), POLLIN, 0}};
  const bool spin = options_.handlerWait == HandlerWait::kSpin;
  HandlerPlacement placement(options_.handlerCpu);
  for (;;) {
    if (spin) {
      // Busy-read: no sleep/wake-up between the fault and its handler, at the price of a CPU.
      if (stopping_.load(std::memory_order_relaxed)) return;
    } else {
      int rc = ::poll(fds, 2, -1);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) {
        ctx->fail(Status::Sys("uffd: poll", "poll", errno));
        unprotectAll();
        return;
      }
      if (fds[1].revents) return;
    }
    ssize_t n = ::read(uffd_.get(), msgs, sizeof msgs);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        if (spin) __builtin_ia32_pause();
        continue;
      }
      ctx->fail(Status::Sys("uffd: read", "read", errno));
      unprotectAll();
      return;
    }
    const size_t count = static_cast<size_t>(n) / sizeof(uffd_msg);
    if (placement.active() && count > 0 && msgs[0].event == UFFD_EVENT_PAGEFAULT &&
        placement.place(static_cast<pid_t>(msgs[0].arg.pagefault.feat.ptid)))
      handlerRepins_.fetch_add(1, std::memory_order_relaxed);
    serveBatch(*ctx, msgs, count);
  }
}

Status UffdBackend::copy(SnapshotContext& ctx) {
  // Test-only stall: a failure in the fault path meanwhile must release writers by itself.
  if (ctx.options.inject.copierDelayUs)
    std::this_thread::sleep_for(std::chrono::microseconds(ctx.options.inject.copierDelayUs));
  const size_t perExtent = std::max<size_t>(1, kExtentBytes / granule_);
  size_t visited = 0;
  path_.copierStarted();
  ForEachExtent((granules_ + perExtent - 1) / perExtent, path_.hotExtents(), [&](size_t e) {
    path_.copierAt(e, visited++);
    if (ctx.cancelled()) return false;
    if (sigbus_) {
      Status failed = sigbus_->failure();
      if (!failed.ok()) ctx.fail(failed);
    }
    const size_t g = e * perExtent, end = std::min(granules_, g + perExtent);
    Status st = CopyClaimedRuns(
        ctx, base_, bytes_, granule_, g, end, [this](size_t i) { return path_.claim(i); },
        [this](size_t off, size_t len) { return writeProtect(base_ + off, len, false); });
    if (!st.ok()) ctx.fail(st);
    return true;
  });
  if (ctx.cancelled()) unprotectAll();  // writers first: they may be waiting on runs never saved
  // Every granule is claimed now; wait for faults still copying the ones they claimed.
  path_.waitIdle();
  Status st = sigbus_ ? sigbus_->failure() : Status::Ok();
  if (st.ok()) st = path_.flush();
  if (!st.ok()) ctx.fail(st);
  if (ctx.cancelled()) unprotectAll();
  return ctx.firstError();
}

void UffdBackend::release(SnapshotContext& ctx) {
  stopping_.store(true);
  if (stopFd_.valid()) {
    uint64_t one = 1;
    if (::write(stopFd_.get(), &one, sizeof one) != sizeof one) {
      // An eventfd write cannot fail here short of a bug; handlers would then hang on join.
      ctx.fail(Status::Sys("uffd: eventfd write", "write", errno));
    }
  }
  for (auto& t : handlers_) t.join();
  handlers_.clear();
  if (uffd_.valid()) {
    unprotectAll();
    if (registered_) {
      uffdio_range range{reinterpret_cast<uint64_t>(base_), bytes_};
      if (::ioctl(uffd_.get(), UFFDIO_UNREGISTER, &range) != 0)
        ctx.fail(Status::Sys("uffd: UFFDIO_UNREGISTER", "ioctl", errno));
      registered_ = false;
    }
  }
  if (sigbus_) sigbus_->stop();  // after unprotectAll: no write-protected page is left to fault
  path_.stop();
  path_.reportTo(ctx.metrics);
  ctx.metrics.extra["handler_repins"] = static_cast<double>(handlerRepins_.load());
  ctx.metrics.extra["wake_batches"] = static_cast<double>(wakeBatches_.load());
  ctx.metrics.extra["batched_faults"] = static_cast<double>(batchedFaults_.load());
  uffd_.reset();
  stopFd_.reset();
}

}  // namespace cowbench
