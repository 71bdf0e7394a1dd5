#include "histogram.h"

namespace cowbench {

uint64_t Histogram::Snapshot::total() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

uint64_t Histogram::Snapshot::quantile(double q) const {
  uint64_t n = total();
  if (n == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n));
  if (rank >= n) rank = n - 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (seen > rank) {
      uint64_t ub = upperBound(i);
      return ub < max || max == 0 ? ub : max;
    }
  }
  return max;
}

void Histogram::Snapshot::add(const Snapshot& o) {
  for (int i = 0; i < kBuckets; ++i) counts[i] += o.counts[i];
  if (o.max > max) max = o.max;
}

Histogram::Snapshot Histogram::Snapshot::since(const Snapshot& earlier) const {
  Snapshot d;
  for (int i = 0; i < kBuckets; ++i) d.counts[i] = counts[i] - earlier.counts[i];
  // The phase's own maximum is known to bucket precision only.
  for (int i = kBuckets - 1; i >= 0; --i) {
    if (d.counts[i] != 0) {
      uint64_t ub = upperBound(i);
      d.max = ub < max ? ub : max;
      break;
    }
  }
  return d;
}

void Histogram::snapshotInto(Snapshot& s) const {
  for (int i = 0; i < kBuckets; ++i) s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  s.max = max_.load(std::memory_order_relaxed);
}

}  // namespace cowbench
