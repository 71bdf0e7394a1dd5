#include "workload.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <new>

#include "stamp.h"
#include "thread.h"

namespace cowbench {

namespace {

// xorshift64*: a fast per-thread generator; quality is ample for picking pages.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

// The default writer body: picks one of its pages by pattern, paces to the rate, and times one
// PageWriter::write per page.
class PageLoop final : public WriterThread {
 public:
  explicit PageLoop(std::unique_ptr<PageWriter> writer) : writer_(std::move(writer)) {}
  const char* kind() const override { return writer_->kind(); }

  void run(WriterContext& ctx) override {
    const size_t index = ctx.index();
    const size_t threads = ctx.threads();
    const size_t pages = ctx.region().pages();
    const WriterConfig& config = ctx.config();
    const size_t owned = pages > index ? (pages - index + threads - 1) / threads : 0;
    if (owned == 0) return ctx.idleUntilStop();
    Rng rng{config.seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + 1};
    const size_t hotOwned = owned / 10 ? owned / 10 : 1;
    const double perThreadRate = config.ratePagesPerSec / static_cast<double>(threads);
    const uint64_t intervalNs = perThreadRate > 0 ? static_cast<uint64_t>(1e9 / perThreadRate) : 0;
    uint64_t nextNs = NowNs();
    size_t cursor = 0;
    char* base = ctx.region().base();

    while (!ctx.stopRequested()) {
      if (ctx.pauseRequested()) {
        ctx.park();
        nextNs = NowNs();
        continue;
      }
      if (intervalNs) {
        uint64_t now = NowNs();
        if (now < nextNs && !ctx.waitPaced(nextNs)) continue;
        nextNs += intervalNs;
        // The rate is an offered load: a writer held up by a stall catches up on its backlog, as
        // a queue of requests would, but forgets a backlog older than one second.
        if (now > nextNs + 1000000000ull) nextNs = now - 1000000000ull;
      }
      size_t slot;
      switch (config.pattern) {
        case Pattern::kSequential:
          slot = cursor++ % owned;
          break;
        case Pattern::kHotset:
          // 90% of writes go to the hottest 10% of this thread's pages.
          slot = rng.below(10) < 9 ? rng.below(hotOwned) : rng.below(owned);
          break;
        default:
          slot = rng.below(owned);
          break;
      }
      const size_t page = slot * threads + index;
      const uint32_t version = ctx.version(page) + 1;
      const uint64_t t0 = NowNs();
      int err = writer_->write(base + page * kPageSize, static_cast<uint32_t>(page), version);
      const uint64_t t1 = NowNs();
      const uint64_t elapsed = t1 - t0;
      if (err == 0)
        ctx.landed(page, version, elapsed, t1);
      else
        ctx.failed(err, elapsed);
    }
  }

 private:
  std::unique_ptr<PageWriter> writer_;
};

}  // namespace

std::unique_ptr<WriterThread> MakePageLoop(std::unique_ptr<PageWriter> writer) {
  return std::make_unique<PageLoop>(std::move(writer));
}

// ---- WriterContext ---------------------------------------------------------------------------
size_t WriterContext::threads() const { return workload_.writers_.size(); }
const WriterConfig& WriterContext::config() const { return workload_.config_; }
Region& WriterContext::region() const { return workload_.region_; }
bool WriterContext::stopRequested() const { return workload_.stopRequested_.load(std::memory_order_relaxed); }
bool WriterContext::pauseRequested() const { return workload_.pauseRequested_.load(std::memory_order_acquire); }
void WriterContext::park() { workload_.park(); }

void WriterContext::idleUntilStop() {
  std::unique_lock<std::mutex> lock(workload_.mutex_);
  ++workload_.parked_;
  workload_.parkedCv_.notify_all();
  workload_.resumeCv_.wait(lock, [&] { return workload_.stopRequested_.load(); });
  --workload_.parked_;
}

bool WriterContext::waitPaced(uint64_t deadlineNs) { return workload_.waitPaced(deadlineNs); }
uint32_t WriterContext::version(size_t page) const { return workload_.versions_[page]; }

void WriterContext::landed(size_t page, uint32_t version, uint64_t latencyNs, uint64_t endNs) {
  latency_.record(latencyNs);
  timeline_.count(endNs ? endNs : NowNs());
  // Stored, then the log flag loaded, in this order (Workload::precapture's barrier pairs with it).
  __atomic_store_n(&workload_.versions_[page], version, __ATOMIC_RELAXED);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (workload_.logging_.load(std::memory_order_acquire) && !logOverflow_) {
    // Each page once (the bitmap), so the log never outgrows the pages this writer owns.
    std::atomic<uint64_t>& word = workload_.logged_[page >> 6];
    const uint64_t bit = 1ull << (page & 63);
    if (!(word.load(std::memory_order_relaxed) & bit)) {
      word.fetch_or(bit, std::memory_order_relaxed);
      try {
        log_.push_back(static_cast<uint32_t>(page));
      } catch (const std::bad_alloc&) {
        logOverflow_ = true;  // capture() copies the whole vector instead
      }
    }
  }
  writes_.store(writes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void WriterContext::failed(int err, uint64_t latencyNs) {
  latency_.record(latencyNs);
  failures_.store(failures_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(countsMutex_);
  ++failedByErrno_[err];
}

void WriterContext::countExit(const std::string& reason, uint64_t n) {
  std::lock_guard<std::mutex> lock(countsMutex_);
  exitReasons_[reason] += n;
}

// ---- Workload --------------------------------------------------------------------------------
Status Workload::start(const WriterConfig& config) {
  if (running()) return Status::Fail("EINVAL", "workload already running");
  try {
    config_ = config;
    versions_.resize(region_.pages());
    writers_.clear();
    writers_.reserve(config.kinds.size());
  } catch (const std::bad_alloc&) {
    writers_.clear();
    return OutOfMemory("allocating the writers' page versions (" + std::to_string(region_.pages()) + " pages)");
  }
  for (size_t p = 0; p < versions_.size(); ++p) versions_[p] = region_.initialVersion(p);
  for (size_t i = 0; i < config.kinds.size(); ++i) {
    std::unique_ptr<WriterContext> w(new (std::nothrow) WriterContext(*this, i));
    if (!w) {
      writers_.clear();
      return OutOfMemory("allocating writer " + std::to_string(i));
    }
    w->kind_ = config.kinds[i];
    Status st = createWriter_ ? createWriter_(config_, i, region_, &w->body_)
                              : Status::Internal("a workload without a writer factory started writers");
    if (!st.ok()) {
      writers_.clear();
      return st;
    }
    writers_.push_back(std::move(w));  // capacity reserved
  }
  stopRequested_ = false;
  pauseRequested_ = false;
  logging_ = false;
  logPending_ = precaptured_ = false;
  logged_.reset();
  loggedWords_ = 0;
  parked_ = 0;
  startNs_ = NowNs();
  marks_.clear();
  for (auto& w : writers_) w->timeline_.reset(startNs_);
  for (size_t i = 0; i < writers_.size(); ++i) {
    WriterContext* w = writers_[i].get();
    // A writer whose body throws (out of memory) stops writing but still counts at every pause.
    Status st = StartThread(
        "writer", [w] { w->body_->run(*w); },
        [w](const Status& failure) {
          try {
            w->countExit(failure.code);
          } catch (const std::bad_alloc&) {
          }
          w->idleUntilStop();
        },
        &threads_);
    if (!st.ok()) {
      stop();  // the writers already started
      writers_.clear();
      return st;
    }
  }
  beginPhase();
  return Status::Ok();
}

void Workload::kickAll() {
  for (auto& w : writers_)
    if (w->body_) w->body_->kick();
}

void Workload::stop() {
  if (threads_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopRequested_ = true;
  }
  resumeCv_.notify_all();
  parkedCv_.notify_all();
  kickAll();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Free what the bodies hold (helper processes, VMs); their counts stay for phaseStats().
  for (auto& w : writers_) w->body_.reset();
}

uint64_t Workload::quiesce() {
  uint64_t t0 = NowNs();
  marks_.add("pause_start", t0);
  std::unique_lock<std::mutex> lock(mutex_);
  pauseRequested_.store(true, std::memory_order_release);
  resumeCv_.notify_all();  // wakes writers sleeping for their rate
  kickAll();               // and brings self-running writers (vCPUs) to the barrier
  parkedCv_.wait(lock, [&] { return parked_ == writers_.size() || threads_.empty(); });
  return NowNs() - t0;
}

void Workload::resume() {
  marks_.add("pause_end", NowNs());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pauseRequested_.store(false, std::memory_order_release);
  }
  resumeCv_.notify_all();
}

void Workload::park() {
  std::unique_lock<std::mutex> lock(mutex_);
  ++parked_;
  parkedCv_.notify_all();
  resumeCv_.wait(lock, [&] { return !pauseRequested_.load() || stopRequested_.load(); });
  --parked_;
}

// Sleeps until the deadline unless a pause or stop is requested; false when interrupted.
bool Workload::waitPaced(uint64_t deadlineNs) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadlineNs));
  return !resumeCv_.wait_until(lock, deadline, [&] { return pauseRequested_.load() || stopRequested_.load(); });
}

namespace {

// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) (Linux 4.14+) needs registering once per process.
bool MembarrierRegistered() {
  static const bool registered = ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  return registered;
}

// A full memory barrier on every running thread of this process before it returns.
bool MembarrierPrivateExpedited() { return ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0; }

}  // namespace

// The log and the copy race with writers on purpose. A writer stores a page's version, then loads
// logging_ (a compiler barrier between them, no fence: the write path stays a plain store). This
// thread stores logging_, then membarrier() runs a full barrier on every writer's CPU, then it
// reads the versions. The barrier lands on each writer either after its store (then the store is
// visible to the reads below) or before it (then its load sees logging_ set and logs the page,
// which capture() rereads with the writers held). Either way no write is missed.
Status Workload::precapture(std::vector<uint32_t>* out) {
  // An earlier precapture whose pause never came (its `before` step failed): its copy and its
  // log, still on, hold everything since, so they serve this pause as well.
  if (logPending_) return Status::Ok();
  precaptured_ = false;
  // No writers (nothing changes), or no membarrier: capture() copies the whole vector.
  if (threads_.empty() || !MembarrierRegistered()) return Status::Ok();
  try {
    out->resize(versions_.size());
    const size_t words = (versions_.size() + 63) / 64;
    if (loggedWords_ != words) {
      logged_.reset(new std::atomic<uint64_t>[words]());  // zero; capture() clears what it sets
      loggedWords_ = words;
    }
    for (auto& w : writers_) {
      w->log_.clear();
      w->log_.reserve(4096);
      w->logOverflow_ = false;
    }
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the expected state before the pause");
  }
  logging_.store(true, std::memory_order_seq_cst);
  logPending_ = true;  // writers may touch their logs now: only capture(), in a pause, resets them
  if (!MembarrierPrivateExpedited()) return Status::Ok();  // capture() copies the whole vector
  uint32_t* to = out->data();
  for (size_t p = 0; p < versions_.size(); ++p) to[p] = __atomic_load_n(&versions_[p], __ATOMIC_RELAXED);
  precaptured_ = true;
  return Status::Ok();
}

size_t Workload::capture(std::vector<uint32_t>* out, bool* whole, bool skipLog) {
  logging_.store(false, std::memory_order_relaxed);  // writers are held: none is between store and load
  bool overflow = false;
  for (auto& w : writers_) overflow = overflow || w->logOverflow_;
  *whole = !precaptured_ || overflow || out->size() != versions_.size();
  size_t n = 0;
  for (auto& w : writers_) {
    for (uint32_t p : w->log_) {
      if (!*whole && !skipLog) (*out)[p] = versions_[p];
      logged_[p >> 6].store(0, std::memory_order_relaxed);  // the bitmap is all zero again
    }
    n += w->log_.size();
    w->log_.clear();
  }
  logPending_ = false;
  precaptured_ = false;
  if (*whole) {
    *out = versions_;
    return versions_.size();
  }
  return skipLog ? 0 : n;
}

Workload::Totals Workload::totals() const {
  Totals t;
  t.timeNs = NowNs();
  Histogram::Snapshot one;
  for (const auto& w : writers_) {
    const uint64_t writes = w->writes_.load(std::memory_order_relaxed);
    const uint64_t failures = w->failures_.load(std::memory_order_relaxed);
    t.writes += writes;
    t.failed += failures;
    t.writesByKind[w->kind_] += writes;
    t.failedByKind[w->kind_] += failures;
    {
      std::lock_guard<std::mutex> lock(w->countsMutex_);
      for (auto& [e, n] : w->failedByErrno_) t.failedByErrno[e] += n;
      for (auto& [r, n] : w->exitReasons_) t.exitReasons[r] += n;
    }
    w->latency_.snapshotInto(one);
    t.latency.add(one);
  }
  return t;
}

void Workload::beginPhase() { phaseStart_ = totals(); }

PhaseStats Workload::phaseStats() const {
  Totals now = totals();
  PhaseStats s;
  s.writes = now.writes - phaseStart_.writes;
  s.failedWrites = now.failed - phaseStart_.failed;
  for (auto& [e, n] : now.failedByErrno) {
    auto it = phaseStart_.failedByErrno.find(e);
    uint64_t before = it == phaseStart_.failedByErrno.end() ? 0 : it->second;
    if (n > before) s.failedByErrno[e] = n - before;
  }
  auto since = [](const std::map<std::string, uint64_t>& now, const std::map<std::string, uint64_t>& before) {
    std::map<std::string, uint64_t> out;
    for (auto& [k, n] : now) {
      auto it = before.find(k);
      out[k] = n - (it == before.end() ? 0 : it->second);
    }
    return out;
  };
  s.writesByKind = since(now.writesByKind, phaseStart_.writesByKind);
  s.failedByKind = since(now.failedByKind, phaseStart_.failedByKind);
  for (auto& [r, n] : since(now.exitReasons, phaseStart_.exitReasons))
    if (n) s.exitReasons[r] = n;
  s.elapsedNs = now.timeNs - phaseStart_.timeNs;
  s.latency = now.latency.since(phaseStart_.latency);
  return s;
}

TimelineSnapshot Workload::timeline() const {
  TimelineSnapshot t;
  const uint64_t now = NowNs();
  const uint64_t last = now > startNs_ ? (now - startNs_) / ThroughputTimeline::kBucketNs : 0;
  t.firstBucket = last + 1 > ThroughputTimeline::kBuckets ? last + 1 - ThroughputTimeline::kBuckets : 0;
  t.writes.assign(last + 1 - t.firstBucket, 0);
  for (const auto& w : writers_) w->timeline_.addInto(t.writes, t.firstBucket);
  t.marks = marks_.list();
  for (auto& m : t.marks) m.ns = m.ns > startNs_ ? m.ns - startNs_ : 0;
  return t;
}

}  // namespace cowbench
