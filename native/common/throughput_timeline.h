// Writes per 10 ms through a run, in fixed memory: one preallocated ring of buckets per writer
// thread (its only writer), each bucket tagged with the lap of the ring it counts for, so a write
// costs one relaxed load and one relaxed store and never allocates. A reader sums the rings.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cowbench {

class ThroughputTimeline {
 public:
  static constexpr uint64_t kBucketNs = 10'000'000;  // 10 ms
  static constexpr size_t kBuckets = 8192;           // 81.92 s kept, 64 KiB per writer thread
  static constexpr int kLapShift = 40;               // bucket = lap << 40 | count

  // Allocates and zeroes the ring (not on the write path). Buckets count from `startNs`.
  void reset(uint64_t startNs) {
    if (!buckets_) buckets_.reset(new std::atomic<uint64_t>[kBuckets]());
    for (size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
    startNs_ = startNs;
  }

  // `n` writes that landed at `nowNs`. Only the owning thread calls this.
  void count(uint64_t nowNs, uint64_t n = 1) {
    if (!buckets_ || nowNs < startNs_) return;
    const uint64_t index = (nowNs - startNs_) / kBucketNs;
    const uint64_t lap = index / kBuckets + 1;  // 0: never written
    std::atomic<uint64_t>& b = buckets_[index % kBuckets];
    const uint64_t v = b.load(std::memory_order_relaxed);
    b.store((v >> kLapShift) == lap ? v + n : (lap << kLapShift) | n, std::memory_order_relaxed);
  }

  // Adds this ring's counts into `out`, indexed by bucket from `first` (buckets older than the
  // ring keeps are gone).
  void addInto(std::vector<uint64_t>& out, uint64_t first) const {
    if (!buckets_) return;
    for (size_t slot = 0; slot < kBuckets; ++slot) {
      const uint64_t v = buckets_[slot].load(std::memory_order_relaxed);
      const uint64_t lap = v >> kLapShift;
      if (lap == 0) continue;
      const uint64_t index = (lap - 1) * kBuckets + slot;
      if (index >= first && index - first < out.size()) out[index - first] += v & ((1ull << kLapShift) - 1);
    }
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  uint64_t startNs_ = 0;
};

// Named moments of a run on the timeline's clock (pause start/end from the workload, the
// protocol's phases from the orchestrator). Fixed capacity; never touched by a write.
class PhaseMarks {
 public:
  static constexpr size_t kMax = 64;
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    marks_.clear();
    marks_.reserve(kMax);
    dropped_ = 0;
  }
  void add(const std::string& name, uint64_t nowNs) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (marks_.size() < kMax)
      marks_.push_back({name, nowNs});
    else
      ++dropped_;
  }
  struct Mark {
    std::string name;
    uint64_t ns;
  };
  std::vector<Mark> list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return marks_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Mark> marks_;
  uint64_t dropped_ = 0;
};

// What a reader gets: writes per bucket from `firstBucket` (bucket 0 starts at the workload's
// start), and the marks in ns since that start.
struct TimelineSnapshot {
  uint64_t bucketNs = ThroughputTimeline::kBucketNs;
  uint64_t firstBucket = 0;
  std::vector<uint64_t> writes;
  std::vector<PhaseMarks::Mark> marks;
};

}  // namespace cowbench
