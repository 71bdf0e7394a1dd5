#include "writers.h"

#include <time.h>

#include <chrono>

#include "stamp.h"

namespace cowbench {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

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

}  // namespace

Status Workload::start(const WriterConfig& config) {
  if (running()) return Status::Fail("EINVAL", "workload already running");
  if (config.kinds.empty()) return Status::Fail("EINVAL", "a workload needs at least one writer");
  config_ = config;
  versions_.resize(region_.pages());
  for (size_t p = 0; p < versions_.size(); ++p) versions_[p] = region_.initialVersion(p);
  writers_.clear();
  for (size_t i = 0; i < config.kinds.size(); ++i) {
    auto w = std::make_unique<Writer>();
    Status st = CreatePageWriter(config.kinds[i], i, region_, &w->impl);
    if (!st.ok()) {
      writers_.clear();
      return st;
    }
    writers_.push_back(std::move(w));
  }
  stopRequested_ = false;
  pauseRequested_ = false;
  parked_ = 0;
  for (size_t i = 0; i < writers_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
  beginPhase();
  return Status::Ok();
}

void Workload::stop() {
  if (threads_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopRequested_ = true;
  }
  resumeCv_.notify_all();
  parkedCv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

uint64_t Workload::quiesce() {
  uint64_t t0 = NowNs();
  std::unique_lock<std::mutex> lock(mutex_);
  pauseRequested_.store(true, std::memory_order_release);
  resumeCv_.notify_all();  // wakes writers sleeping for their rate
  parkedCv_.wait(lock, [&] { return parked_ == writers_.size() || threads_.empty(); });
  return NowNs() - t0;
}

void Workload::resume() {
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
  return !resumeCv_.wait_until(lock, deadline,
                               [&] { return pauseRequested_.load() || stopRequested_.load(); });
}

void Workload::run(size_t index) {
  Writer& self = *writers_[index];
  const size_t threads = writers_.size();
  const size_t pages = versions_.size();
  const size_t owned = pages > index ? (pages - index + threads - 1) / threads : 0;
  if (owned == 0) {
    // More writers than pages: this one has nothing to write and counts as held until stop.
    std::unique_lock<std::mutex> lock(mutex_);
    ++parked_;
    parkedCv_.notify_all();
    resumeCv_.wait(lock, [&] { return stopRequested_.load(); });
    --parked_;
    return;
  }
  Rng rng{config_.seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + 1};
  const size_t hotOwned = owned / 10 ? owned / 10 : 1;
  const double perThreadRate = config_.ratePagesPerSec / static_cast<double>(threads);
  const uint64_t intervalNs = perThreadRate > 0 ? static_cast<uint64_t>(1e9 / perThreadRate) : 0;
  uint64_t nextNs = NowNs();
  size_t cursor = 0;
  char* base = region_.base();

  while (!stopRequested_.load(std::memory_order_relaxed)) {
    if (pauseRequested_.load(std::memory_order_acquire)) {
      park();
      nextNs = NowNs();
      continue;
    }
    if (intervalNs) {
      uint64_t now = NowNs();
      if (now < nextNs && !waitPaced(nextNs)) continue;
      nextNs += intervalNs;
      // The rate is an offered load: a writer held up by a stall catches up on its backlog, as a
      // queue of requests would, but forgets a backlog older than one second.
      if (now > nextNs + 1000000000ull) nextNs = now - 1000000000ull;
    }
    size_t slot;
    switch (config_.pattern) {
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
    const uint32_t version = versions_[page] + 1;
    const uint64_t t0 = NowNs();
    int err = self.impl->write(base + page * kPageSize, static_cast<uint32_t>(page), version);
    const uint64_t t1 = NowNs();
    self.latency.record(t1 - t0);
    if (err == 0) {
      versions_[page] = version;
      self.writes.store(self.writes.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    } else {
      self.failed.store(self.failed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(self.errnoMutex);
      ++self.failedByErrno[err];
    }
  }
}

Workload::Totals Workload::totals() const {
  Totals t;
  t.timeNs = NowNs();
  Histogram::Snapshot one;
  for (const auto& w : writers_) {
    t.writes += w->writes.load(std::memory_order_relaxed);
    t.failed += w->failed.load(std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(w->errnoMutex);
      for (auto& [e, n] : w->failedByErrno) t.failedByErrno[e] += n;
    }
    w->latency.snapshotInto(one);
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
  s.elapsedNs = now.timeNs - phaseStart_.timeNs;
  s.latency = now.latency.since(phaseStart_.latency);
  return s;
}

}  // namespace cowbench
