// --fault-around auto: how many granules a write fault copies, decided per 2 MiB extent from how
// densely that extent is being written. Copying a neighbour on the fault path pays only if the
// neighbour would otherwise fault before the background copier reaches it; each neighbour copied
// costs the faulting writer a page copy either way. So a fault copies its whole extent when the
// extent's own fault rate, times the time until the copier gets there, promises at least
// kDenseFaults more faults in it, and only its own granule otherwise: a lone fault (a paced random
// writer over a large region, a vCPU) never stalls for 2 MiB, and a dense extent (unthrottled or
// sequential writers, a hot set) is saved in one fault.
//
// State: per extent, its fault count and first fault time, allocated once per snapshot (12 bytes
// per 2 MiB); the copier's position and start. granules() is async-signal-safe (atomics and
// clock_gettime), so a signal handler may call it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "clock.h"

namespace cowbench {

class FaultAroundPolicy {
 public:
  // An extent is dense when it promises this many more faults before the copier arrives. A 4k
  // page copy costs a small fraction of a write fault's round trip, so 32 faults saved pay for
  // copying the rest of a 512-page extent; the rows of results/2026-12-06-vm-fault-around measure it.
  static constexpr double kDenseFaults = 32;
  // A rate needs this many faults in the extent first: two faults close together by chance are
  // not a dense extent.
  static constexpr uint32_t kMinFaults = 4;

  // Per-extent state for `extents` extents; false when it cannot be allocated.
  bool start(size_t extents, bool copierInOrder) {
    extents_ = extents;
    inOrder_ = copierInOrder;
    faults_.reset(new (std::nothrow) std::atomic<uint32_t>[extents]());
    firstNs_.reset(new (std::nothrow) std::atomic<uint64_t>[extents]());
    return faults_ && firstNs_;
  }
  // The copier started (its rate is measured from here).
  void copierStarted() { copierStartNs_.store(NowNs(), std::memory_order_release); }
  // The copier is about to copy `extent`, its `done`-th (0-based) of the run.
  void copierAt(size_t extent, size_t done) {
    copierExtent_.store(extent, std::memory_order_relaxed);
    copierDone_.store(done, std::memory_order_relaxed);
  }

  // Granules a fault in `extent` may claim (its own included): `maxGranules` or 1. Counts the fault.
  size_t granules(size_t extent, size_t maxGranules) {
    if (maxGranules <= 1 || extent >= extents_) return 1;
    const uint64_t now = NowNs();
    const uint32_t n = faults_[extent].fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == 1) {
      firstNs_[extent].store(now, std::memory_order_relaxed);
      return 1;
    }
    const uint64_t first = firstNs_[extent].load(std::memory_order_relaxed);
    const uint64_t start = copierStartNs_.load(std::memory_order_acquire);
    if (n < kMinFaults || first == 0 || start == 0 || now <= start) return 1;
    // The extent's fault rate since its first fault, and the copier's rate since it started.
    const double perNs = static_cast<double>(n - 1) / static_cast<double>(now > first ? now - first : 1);
    const double extentsPerNs =
        static_cast<double>(copierDone_.load(std::memory_order_relaxed) + 1) / static_cast<double>(now - start);
    // Extents the copier visits before this one: in address order, the distance ahead of it;
    // hot first, half of what is left on average.
    const size_t at = copierExtent_.load(std::memory_order_relaxed);
    const size_t done = copierDone_.load(std::memory_order_relaxed);
    double ahead;
    if (inOrder_)
      ahead = extent > at ? static_cast<double>(extent - at) : 0;
    else
      ahead = done < extents_ ? static_cast<double>(extents_ - done) / 2 : 0;
    const double expectedFaults = perNs * ahead / extentsPerNs;
    if (expectedFaults < kDenseFaults) return 1;
    dense_.fetch_add(1, std::memory_order_relaxed);
    return maxGranules;
  }

  // Faults whose extent was judged dense (they took neighbours along).
  uint64_t denseFaults() const { return dense_.load(std::memory_order_relaxed); }

 private:
  size_t extents_ = 0;
  bool inOrder_ = true;
  std::unique_ptr<std::atomic<uint32_t>[]> faults_;
  std::unique_ptr<std::atomic<uint64_t>[]> firstNs_;
  std::atomic<uint64_t> copierStartNs_{0};
  std::atomic<size_t> copierExtent_{0}, copierDone_{0};
  std::atomic<uint64_t> dense_{0};
};

}  // namespace cowbench
