// --fault-around auto: how many granules a write fault copies, decided per 2 MiB extent from how
// often that extent has faulted, and for the whole region from how fast it faults. Three rules,
// the largest wins:
//
// The region rule. When the writers fault the region faster than kHotPerExtentPerSec faults a
// second per extent still to be saved, every fault copies its whole extent. This is the one signal
// this file found that tells writers held back by their faults from writers with time to spare.
//  - What it separates (issue 23's matrix, this machine; per extent, K=0 and the ramp): two
//    unthrottled writers over 256 MiB, random, sequential or hotset, fault 100-260 times a second;
//    whole extents (K=512) served them best, 1.6x the ramp's writer ratio. The paced rows fault
//    slower: 1 GiB at 65,536 writes/s 22-39 (128 at the start, when every write faults), the
//    filled 16 GiB 3-8, the KVM guest 8 (its exits, not its pace, hold it there). K=512 cost those
//    2 %, 11 % and 46 % of their rate against K=0. The bar sits between the two groups, a factor
//    of 2-3 from each, and is evidence from one machine, not a law: a writer that faults slowly
//    here because its CPU is shared may fault above the bar on a bigger machine, and then it
//    earns whole extents by the same reasoning as the dense rule below (it would fault on most
//    neighbours before the copier arrives).
//  - Why not per extent: an unthrottled writer is held back by its faults, so each extent sees
//    only a few (100-260 a second, ~20 in a 0.2 s snapshot) before the copier arrives, too few to
//    judge one extent by; the region's rate is the same evidence summed over every extent, sure
//    after a few milliseconds.
//  - The rate is measured over windows of at least 64 faults and 1 ms, or 10 ms, whichever comes
//    first (a window of fewer than 16 faults is never hot), and decides the next window; the extents still to be saved
//    are the region's less the ones the copier passed or a fault already asked whole for (the larger of the two
//    counts).
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
// State: per extent, its fault count (the ramp's n and the dense rule's k + 1), first fault time
// and whether a fault asked for all of it, allocated once per snapshot (13 bytes per 2 MiB); the
// copier's position and start; the region rule's window.
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
  // The region rule's bar: faults per second per extent still to be saved.
  static constexpr double kHotPerExtentPerSec = 50;
  // Its window: closed at kWindowFaults faults once kWindowMinNs passed, or at kWindowMaxNs. A
  // window with fewer than kHotMinFaults faults is never hot (a few faults over the last few live
  // extents are not a rate).
  static constexpr uint64_t kWindowFaults = 64, kHotMinFaults = 16;
  static constexpr uint64_t kWindowMinNs = 1000000, kWindowMaxNs = 10000000;

  // Granules the n-th fault (1-based) of an extent may claim under the ramp, `cap` at most.
  static size_t RampGranules(uint32_t n, size_t cap) {
    return n - 1u >= 32 ? cap : std::min(cap, size_t{1} << (n - 1));
  }

  // Per-extent state for `extents` extents of `granuleBytes` granules; false when it cannot be
  // allocated. `rampBytes` is kRampBytes but in the trial's before/after comparison.
  // `regionRule` false: without the region rule (the trial's before/after comparison).
  bool start(size_t extents, bool copierInOrder, size_t granuleBytes, size_t rampBytes = kRampBytes,
             bool regionRule = true) {
    extents_ = extents;
    regionRule_ = regionRule;
    inOrder_ = copierInOrder;
    rampCap_ = std::max<size_t>(1, rampBytes / granuleBytes);
    faults_.reset(new (std::nothrow) std::atomic<uint32_t>[extents]());
    firstNs_.reset(new (std::nothrow) std::atomic<uint64_t>[extents]());
    whole_.reset(new (std::nothrow) std::atomic<uint8_t>[extents]());
    return faults_ && firstNs_ && whole_;
  }
  // The copier started (its rate is measured from here).
  void copierStarted() { copierStarted(NowNs()); }
  void copierStarted(uint64_t nowNs) {
    windowStartNs_.store(nowNs, std::memory_order_relaxed);
    copierStartNs_.store(nowNs, std::memory_order_release);
  }
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
    if (n == 1) firstNs_[extent].store(now, std::memory_order_relaxed);
    if (regionRule_ && regionHot(now)) {
      regionHotFaults_.fetch_add(1, std::memory_order_relaxed);
      return whole(extent, maxGranules);
    }
    const size_t ramp = std::min(maxGranules, RampGranules(n, rampCap_));
    if (n == 1) return ramp;
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
    return whole(extent, maxGranules);
  }

  // Faults whose extent was judged dense. They asked for the whole extent; a run is still bounded
  // by the free half of the copy buffer (FaultAroundCounts::limit), so with a small --buffer a
  // dense fault may claim less than its extent.
  uint64_t denseFaults() const { return dense_.load(std::memory_order_relaxed); }
  // Of those, the faults the region rule sent (the region was hot).
  uint64_t regionHotFaults() const { return regionHotFaults_.load(std::memory_order_relaxed); }

 private:
  // A fault asks for all of `extent`.
  size_t whole(size_t extent, size_t maxGranules) {
    dense_.fetch_add(1, std::memory_order_relaxed);
    if (whole_[extent].exchange(1, std::memory_order_relaxed) == 0)
      wholeExtents_.fetch_add(1, std::memory_order_relaxed);
    return maxGranules;
  }

  // The region rule: counts the fault in the current window; the thread that closes a window
  // judges it (a compare-and-swap on its start, so one thread does), and its verdict holds for the
  // next. Before the copier starts there is no window and the region is not hot.
  bool regionHot(uint64_t now) {
    uint64_t start = windowStartNs_.load(std::memory_order_relaxed);
    if (start == 0) return false;
    const uint64_t counted = windowFaults_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now <= start) return hot_.load(std::memory_order_relaxed);
    const uint64_t span = now - start;
    if (span >= kWindowMaxNs || (counted >= kWindowFaults && span >= kWindowMinNs)) {
      if (windowStartNs_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
        const uint64_t faults = windowFaults_.exchange(0, std::memory_order_relaxed);
        // Extents saved or asked whole: the larger of the two counts (their sum counts twice an
        // extent asked whole that the copier then passed), so the rate is, if anything, low.
        const size_t gone =
            std::max(copierDone_.load(std::memory_order_relaxed), wholeExtents_.load(std::memory_order_relaxed));
        const double live = static_cast<double>(gone < extents_ ? extents_ - gone : 1);
        const double perExtentPerSec = static_cast<double>(faults) * 1e9 / static_cast<double>(span) / live;
        hot_.store(faults >= kHotMinFaults && perExtentPerSec >= kHotPerExtentPerSec, std::memory_order_relaxed);
      }
    }
    return hot_.load(std::memory_order_relaxed);
  }

  size_t extents_ = 0;
  bool inOrder_ = true;
  bool regionRule_ = true;
  size_t rampCap_ = 1;  // kRampBytes in granules, at least 1
  std::unique_ptr<std::atomic<uint32_t>[]> faults_;
  std::unique_ptr<std::atomic<uint64_t>[]> firstNs_;
  std::unique_ptr<std::atomic<uint8_t>[]> whole_;
  std::atomic<uint64_t> copierStartNs_{0};
  std::atomic<size_t> copierExtent_{0}, copierDone_{0};
  std::atomic<uint64_t> dense_{0}, regionHotFaults_{0};
  std::atomic<size_t> wholeExtents_{0};
  std::atomic<uint64_t> windowStartNs_{0}, windowFaults_{0};
  std::atomic<bool> hot_{false};
};

}  // namespace cowbench
