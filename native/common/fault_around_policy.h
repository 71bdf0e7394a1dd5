// --fault-around auto: how many granules a write fault copies, decided per 2 MiB extent from how
// often that extent has faulted. Two rules, the larger wins:
//
// The ramp. The n-th fault in an extent may claim min(2^(n-1), kRampBytes / granule) granules:
// 1, 2, 4, 8, then 16 4k pages for every fault after the fourth.
//  - Cost model: a write fault costs its writer one round trip (trap, handler wake-up or signal
//    delivery, copy, un-protect, return: 4-5 µs median here, bench ci), a 4k page copy about
//    0.4 µs (memcpy ~10 GB/s, cold source). A neighbour copied saves a round trip if the writer
//    would have faulted on it before the copier got there, and costs a copy if not; it pays when
//    that chance is above ~1/10. A random writer's next write lands anywhere in the extent, so the
//    chance is the extent's density, and the extent's faults so far are the only evidence of it.
//  - Why doubling: each fault doubles the stake on that evidence. A lone fault copies its own page
//    (no evidence, no stake); a dense extent reaches the cap in five faults (a linear ramp needs
//    sixteen); and the copies an extent made by its n-th fault, 2^n - 1, are less than twice its
//    last fault's, so an extent that goes quiet wasted at most about its last fault's copies.
//  - Why a cap: above it a run only pays for a dense extent, which the dense rule judges (with a
//    confidence bound). 16 pages (~6 µs of copy, about one round trip) bound the worst case: a paced
//    random writer over a large region, whose extents take up to ~20 faults before the copier
//    arrives, mostly claims 16 pages per fault and never more (fixed K=16 cost the issue-23 16 GiB
//    row nothing measurable: 0.946 of the writer's rate against K=0's 0.956, n = 5).
//  - The cap is a byte budget per fault, so with 2 MiB granules it is one granule (the faulting
//    one: an extent is one granule there) and the policy is the dense rule alone, as before.
//
// The dense rule. A fault copies its whole extent when the extent is sure to take at least
// kDenseFaults more faults before the background copier gets there: 32 faults saved pay for
// copying the rest of a 512-page extent. (The bar was set before the ramp, when a fault not judged
// dense copied one page. Under the ramp each of those faults would copy up to 16 pages anyway,
// and an extent takes fewer faults, so it is judged dense later and more rarely than before: the
// rule is the same, its effect smaller; measured in results/2026-12-06-vm-fault-around3.) A lone
// fault (a paced random writer over a large region, a vCPU) never stalls for 2 MiB, and a dense
// extent (unthrottled or sequential writers, a hot set) is saved in one fault. The whole extent is
// every stretch of it not yet claimed, around the runs earlier faults took (ClaimFaultRuns in
// claimed_runs.h).
//
// "Sure" is a lower confidence bound, not the point estimate. The extent's faults after its first
// are k in t ns; the future faults it promises are its rate times the time until the copier
// arrives (the copier's own rate so far, the extents it still visits first). Judged from k/t, a
// paced random writer over 16 GiB (8 faults/s per extent, ~22 promised at most) had 489 of 8,192
// extents judged dense from 4 faults that clustered by chance, each costing its writer a 2 MiB
// copy. The rate is therefore taken as the lower bound (√k − kZ/2)² / t: the square root of a
// Poisson count is close to normal with variance 1/4, so with kZ = 4 the bound is above the true
// rate in about 3 of 100,000 judgements. Evidence must grow with the claim: k = 5 counts as 0.06
// faults, 10 as 1.4, 30 as 12, 100 as 64. A sequential writer's faults come microseconds apart,
// and a dense extent keeps faulting, so the bound soon passes the bar; a sparse writer's chance
// cluster does not. test/fault-around-auto.test.ts runs the policy and the fault path's claim code
// on a simulated clock (fault_around_trial.h).
//
// State: per extent, its fault count (the ramp's n and the dense rule's k + 1) and first fault
// time, allocated once per snapshot (12 bytes per 2 MiB); the copier's position and start.
// granules() is async-signal-safe (atomics, clock_gettime and arithmetic), so a signal handler may
// call it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "clock.h"

namespace cowbench {

class FaultAroundPolicy {
 public:
  // An extent is dense when it is sure to take this many more faults before the copier arrives. A
  // 4k page copy costs a small fraction of a write fault's round trip, so 32 faults saved pay for
  // copying the rest of a 512-page extent.
  static constexpr double kDenseFaults = 32;
  // The one-sided normal quantile of the rate's lower bound (one judgement in ~30,000 too high).
  static constexpr double kZ = 4;
  // The ramp's most bytes per fault below the dense bar: 16 4k pages.
  static constexpr size_t kRampBytes = 16 * 4096;

  // Granules the n-th fault (1-based) of an extent may claim under the ramp, `cap` at most.
  static size_t RampGranules(uint32_t n, size_t cap) {
    return n - 1u >= 32 ? cap : std::min(cap, size_t{1} << (n - 1));
  }

  // Per-extent state for `extents` extents of `granuleBytes` granules; false when it cannot be
  // allocated. `rampBytes` is kRampBytes but in the trial's before/after comparison.
  bool start(size_t extents, bool copierInOrder, size_t granuleBytes, size_t rampBytes = kRampBytes) {
    extents_ = extents;
    inOrder_ = copierInOrder;
    rampCap_ = std::max<size_t>(1, rampBytes / granuleBytes);
    faults_.reset(new (std::nothrow) std::atomic<uint32_t>[extents]());
    firstNs_.reset(new (std::nothrow) std::atomic<uint64_t>[extents]());
    return faults_ && firstNs_;
  }
  // The copier started (its rate is measured from here).
  void copierStarted() { copierStarted(NowNs()); }
  void copierStarted(uint64_t nowNs) { copierStartNs_.store(nowNs, std::memory_order_release); }
  // The copier is about to copy `extent`, its `done`-th (0-based) of the run.
  void copierAt(size_t extent, size_t done) {
    copierExtent_.store(extent, std::memory_order_relaxed);
    copierDone_.store(done, std::memory_order_relaxed);
  }

  // Granules a fault in `extent` may claim (its own included): `maxGranules` when the extent is
  // dense, else the ramp's share of it. Counts the fault.
  size_t granules(size_t extent, size_t maxGranules) { return granulesAt(extent, maxGranules, NowNs()); }
  // The same at a given time (the policy's trial drives it with a simulated clock).
  size_t granulesAt(size_t extent, size_t maxGranules, uint64_t now) {
    if (maxGranules <= 1 || extent >= extents_) return 1;
    const uint32_t n = faults_[extent].fetch_add(1, std::memory_order_relaxed) + 1;
    const size_t ramp = std::min(maxGranules, RampGranules(n, rampCap_));
    if (n == 1) {
      firstNs_[extent].store(now, std::memory_order_relaxed);
      return ramp;
    }
    const uint64_t first = firstNs_[extent].load(std::memory_order_relaxed);
    const uint64_t start = copierStartNs_.load(std::memory_order_acquire);
    if (first == 0 || start == 0 || now <= start) return ramp;
    // The lower bound of the extent's fault rate from its n - 1 faults since the first.
    const double root = std::sqrt(static_cast<double>(n - 1)) - kZ / 2;
    if (root <= 0) return ramp;
    const double perNs = root * root / static_cast<double>(now > first ? now - first : 1);
    // The copier's rate since it started.
    const size_t done = copierDone_.load(std::memory_order_relaxed);
    const double extentsPerNs = static_cast<double>(done + 1) / static_cast<double>(now - start);
    // Extents the copier visits before this one: in address order, the distance ahead of it;
    // hot first, half of what is left on average.
    const size_t at = copierExtent_.load(std::memory_order_relaxed);
    double ahead;
    if (inOrder_)
      ahead = extent > at ? static_cast<double>(extent - at) : 0;
    else
      ahead = done < extents_ ? static_cast<double>(extents_ - done) / 2 : 0;
    if (perNs * ahead / extentsPerNs < kDenseFaults) return ramp;
    dense_.fetch_add(1, std::memory_order_relaxed);
    return maxGranules;
  }

  // Faults whose extent was judged dense. They asked for the whole extent; a run is still bounded
  // by the free half of the copy buffer (FaultAroundCounts::limit), so with a small --buffer a
  // dense fault may claim less than its extent.
  uint64_t denseFaults() const { return dense_.load(std::memory_order_relaxed); }

 private:
  size_t extents_ = 0;
  bool inOrder_ = true;
  size_t rampCap_ = 1;  // kRampBytes in granules, at least 1
  std::unique_ptr<std::atomic<uint32_t>[]> faults_;
  std::unique_ptr<std::atomic<uint64_t>[]> firstNs_;
  std::atomic<uint64_t> copierStartNs_{0};
  std::atomic<size_t> copierExtent_{0}, copierDone_{0};
  std::atomic<uint64_t> dense_{0};
};

}  // namespace cowbench
