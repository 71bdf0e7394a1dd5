// Fixed-memory log-linear latency histogram (16 linear sub-buckets per power of two, ~6% error).
// One writer thread records; any thread may read a snapshot (relaxed atomics, no locks).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace cowbench {

class Histogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kMaxExp = 44;  // values up to ~2^44 ns (4.8 hours)
  static constexpr int kBuckets = (kMaxExp - kSubBits + 1) * kSub;

  void record(uint64_t ns) {
    auto& c = counts_[index(ns)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
  }

  static int index(uint64_t ns) {
    if (ns < kSub) return static_cast<int>(ns);
    int exp = 63 - __builtin_clzll(ns);
    if (exp > kMaxExp) return kBuckets - 1;
    int sub = static_cast<int>((ns >> (exp - kSubBits)) & (kSub - 1));
    return (exp - kSubBits + 1) * kSub + sub;
  }
  // Upper bound (ns) of the values counted in bucket i.
  static uint64_t upperBound(int i) {
    if (i < kSub) return static_cast<uint64_t>(i);
    int exp = i / kSub + kSubBits - 1;
    uint64_t sub = static_cast<uint64_t>(i % kSub);
    return ((uint64_t{kSub} + sub + 1) << (exp - kSubBits)) - 1;
  }

  struct Snapshot {
    std::vector<uint64_t> counts = std::vector<uint64_t>(kBuckets, 0);
    uint64_t max = 0;
    uint64_t total() const;
    // Value (ns) at quantile q in [0,1], as the bucket's upper bound.
    uint64_t quantile(double q) const;
    void add(const Snapshot& o);
    // this - earlier, bucket-wise: the histogram of one phase.
    Snapshot since(const Snapshot& earlier) const;
  };
  void snapshotInto(Snapshot& s) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> max_{0};
};

}  // namespace cowbench
