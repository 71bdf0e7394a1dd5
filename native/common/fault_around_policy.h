// --fault-around auto: how many granules a write fault copies, decided for the whole region from
// how fast it faults and per 2 MiB extent from where and how often that extent has faulted. A
// fault takes its whole extent when the region, sequential or dense rule says so, or one of them
// said so before in that extent (a grant the copy buffer cut is a shortage of room, not a new
// judgement); else it copies its own granule (why not a ramp of small runs: "No ramp", below).
//
// The region rule. While the writers fault the region faster than kHotPerExtentPerSec faults a
// second per extent still to be saved, every fault copies its whole extent. Of the signals tried
// this is the one that told writers held back by their faults from writers with time to spare.
//  - What it separates (issue 23's matrix on this machine, faults a second per extent of the
//    region while every write still faults, at the start of a snapshot): two unthrottled writers
//    over 256 MiB, random, sequential or hotset, 100-260 (they fault as fast as they are served);
//    whole extents (K=512) served them best, 1.6x a ramp's writer ratio. 1 GiB at 65,536
//    writes/s: 128, so it is judged hot too, and whole extents cost it 2 % of its rate against
//    K=0. The filled 16 GiB at the same pace: 8; the KVM guest: 8 (its exits, not its pace, hold
//    it there). K=512 cost those two 11 % and 46 %. The bar sits 2-3x from either side, and it is
//    evidence from one machine, not a law: a writer that faults slowly here because its CPU is
//    shared may fault above the bar on a bigger machine, and then it earns whole extents by the
//    dense rule's reasoning (it would fault on most neighbours before the copier arrives).
//  - Why not per extent: a writer held back by its faults gives each extent only a few (~20 in a
//    0.2 s snapshot) before the copier arrives, too few to judge one extent by; the region's rate
//    is the same evidence summed over every extent, sure within a few milliseconds.
//  - The rate is measured once the copier has started, over windows closed at 64 faults once 1 ms
//    has passed, or at 10 ms; a window of fewer than 16 faults is never hot (so below ~32 MiB the
//    bar is in effect higher: 16 faults in 10 ms).
//  - Judged only while about half of the region or more is still to be saved (the saved count is,
//    if anything, low). While nearly every write faults, the rate says how much the faults hold
//    the writers back; once most of the region is saved most writes do not fault, a writer held
//    back before runs near its own pace, and its faults over the few extents left measure that
//    pace, not a verdict on them. The KVM guest (8 faults a second per extent at the start) went
//    over the bar that way in its last tenth and the latch then sent its last extents whole:
//    0.93 of K=0's writer ratio (n = 15, results/2026-12-06-vm-fault-around5/ab/r6-n15.txt),
//    against 1.04 and 0.97 judged this way (an A/A pair, n = 12 each, no fault sent whole by the
//    region rule; results/2026-12-06-vm-fault-around6/ab/r6.txt). Writers that are held back are
//    judged in the first windows, a few milliseconds into the snapshot.
//  - The first hot window makes the region hot for the rest of the snapshot: a later window below
//    the bar is a full copy buffer (faults wait for room, so they slow) or the last few extents,
//    not writers with time to spare. Judged window by window, row 1 took 5x K=512's faults
//    (n = 20); with the latch 2.6x (n = 12).
//  - An extent a rule sent whole keeps asking for the rest of it on later faults (any rule's
//    judgement, the dense rule's too): a grant the copy buffer cut is a shortage, not a verdict.
//    The extents still to be saved are the region's less the larger of two counts: the extents
//    the copier passed, and those a fault was granted whole (the fault path reports a grant that
//    the copy buffer did not cut).
//  - With 2 MiB granules an extent is one granule: the rule counts faults but claims nothing more.
//
// The sequential rule. A fault that lands on the granule just past, or the one after, where one of
// the extent's two tracked runs ended, the second time in a row, takes the whole extent: a writer
// going forward through it (its first three faults claim 1, 1, then the rest). Two runs, because
// the matrix's row 2 is two threads taking turns page by page, each at its own place in an extent:
// with one run tracked each one's faults broke the other's streak, and the row took 175-206 faults
// against K=512's 136-145 (results/2026-12-06-vm-fault-around6; the trial: 324 faults for 8 extents
// against 12; an earlier ramp of growing runs had hidden it). The first fault of an extent, in its
// first 2 granules, takes the whole extent at once when the extent before it was judged so: the
// writer crossed over. A random writer continues a run by chance about once in 128 faults of an
// extent, twice in a row about once in 33,000 (the trial's 16 GiB paced writer: 1-6 whole extents
// of 8,192 per snapshot; with 4 granules of slack, 4-15). Why the rule: sequential writers fault at
// the pace of their runs, so the region rule (faults per extent) does not see them held back, and
// the dense rule needs ~10 faults per extent to be sure; K=512 took about 1 fault per extent there,
// auto 2.5 before the rule (results/2026-12-06-vm-fault-around4).
//
// No ramp. Below the rules a fault copies its own granule. An earlier policy let an extent's n-th
// fault claim min(2^(n-1), 16) pages, betting on the extent's density as its faults grew. With the
// region and sequential rules serving the writers that runs help (unthrottled, sequential), the
// bet only fell on paced writers, and it lost there: the paced KVM guest kept 0.81-0.89 of K=0's
// writer ratio under it (n = 15, results/2026-12-06-vm-fault-around5/ab/r6-n15*), and K=16 was
// below K=0 in every matrix (a neighbour copied costs a paced vCPU a copy inside its exit, and
// saves nothing when the copier gets there first).
//
// The dense rule. A fault copies its whole extent when the extent is sure to take at least
// kDenseFaults more faults before the background copier gets there. The copy is not extra work
// (the copier skips what a fault claimed); what it costs is the writer's wait, ~200 µs for the
// rest of a 512-page extent at ~0.4 µs a page, against 32 round trips saved at 4-5 µs each (bench
// ci's median here): about even at the bar, a gain above it, and the bar is a lower confidence
// bound (below), so the expected saving is larger. A lone
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
// State: per extent, its fault count (the dense rule's k + 1), first fault time, where its two
// tracked runs ended with their streaks, and whether it was granted whole, allocated once per
// snapshot (21 bytes per 2 MiB); the copier's position and start; the region rule's window.
// granules() is async-signal-safe (lock-free atomics, clock_gettime and arithmetic), so a signal
// handler may call it.
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

static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<uint8_t>::is_always_lock_free,
              "granules() runs in signal handlers");

// Which of the policy's rules run: all of them but in the trial's before/after comparisons.
struct FaultAroundRules {
  bool region = true;           // the region rule
  bool regionUntilHalf = true;  // it judges only while about half the region is left to save
  bool sequential = true;       // the sequential rule
};

class FaultAroundPolicy {
 public:
  // An extent is dense when it is sure to take this many more faults before the copier arrives:
  // their round trips about pay for the writer's wait while the rest of a 512-page extent is copied.
  static constexpr double kDenseFaults = 32;
  // The one-sided normal quantile of the rate's lower bound (one judgement in ~30,000 too high).
  static constexpr double kZ = 4;
  // The sequential rule: this many faults in a row, each where the run before it ended.
  static constexpr uint32_t kSequentialFaults = 2;
  static constexpr size_t kSequentialGap = 2;
  // Runs tracked per extent: two writers interleaved page by page, each at its own place in the
  // extent, each continue their own. (Three or more there break each other's streaks, as two did
  // with one run tracked; the dense rule is left for them.)
  static constexpr size_t kTracks = 2;
  static_assert(kTracks == 2, "sequentialStreak() chooses between two tracks, whole_ keeps one bit for the last");
  // The region rule's bar: faults per second per extent still to be saved.
  static constexpr double kHotPerExtentPerSec = 50;
  // Its window: closed at kWindowFaults faults once kWindowMinNs passed, or at kWindowMaxNs. A
  // window with fewer than kHotMinFaults faults is never hot (a few faults over the last few live
  // extents are not a rate).
  static constexpr uint64_t kWindowFaults = 64, kHotMinFaults = 16;
  static constexpr uint64_t kWindowMinNs = 1000000, kWindowMaxNs = 10000000;

  // Per-extent state for `extents` extents; false when it cannot be allocated.
  bool start(size_t extents, bool copierInOrder, FaultAroundRules rules = {}) {
    extents_ = extents;
    rules_ = rules;
    inOrder_ = copierInOrder;
    faults_.reset(new (std::nothrow) std::atomic<uint32_t>[extents]());
    firstNs_.reset(new (std::nothrow) std::atomic<uint64_t>[extents]());
    whole_.reset(new (std::nothrow) std::atomic<uint8_t>[extents]());
    next_.reset(new (std::nothrow) std::atomic<uint32_t>[extents * kTracks]());
    return faults_ && firstNs_ && whole_ && next_;
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

  // Granules a fault in `extent` may claim (its own included): `maxGranules` when the region is hot,
  // the writer goes forward, the extent is dense or a rule sent it whole before, else 1 (its own).
  // Counts the fault. The caller reports a grant of the whole extent that it did not
  // cut (wholeGranted).
  size_t granules(size_t extent, size_t offset, size_t maxGranules) {
    return granulesAt(extent, offset, maxGranules, NowNs());
  }
  // The same at a given time (the policy's trial drives it with a simulated clock). `offset`: the
  // faulting granule's index in its extent.
  size_t granulesAt(size_t extent, size_t offset, size_t maxGranules, uint64_t now) {
    if (maxGranules <= 1 || extent >= extents_) return 1;
    uint32_t streak = 0;
    size_t track = 0;
    const size_t grant = decide(extent, offset, maxGranules, now, &streak, &track);
    // Where this fault's run ends if nothing ahead of it was claimed: a writer going forward
    // faults there next. Packed with the streak: (end + 1) << 8 | streak; 0 is "no fault yet".
    const uint32_t end = static_cast<uint32_t>(std::min<size_t>(offset + grant, 0xFFFFFE));
    next_[extent * kTracks + track].store((end + 1) << 8 | std::min<uint32_t>(streak, 255), std::memory_order_relaxed);
    // Which track was written last (a read first: most faults leave it as it was).
    const bool lastIsOne = (whole_[extent].load(std::memory_order_relaxed) & kLastTrack) != 0;
    if (track == 1 && !lastIsOne)
      whole_[extent].fetch_or(kLastTrack, std::memory_order_relaxed);
    else if (track == 0 && lastIsOne)
      whole_[extent].fetch_and(static_cast<uint8_t>(~kLastTrack), std::memory_order_relaxed);
    return grant;
  }

  // `extent` was granted whole: a fault may claim all of it. Counted once per extent.
  void wholeGranted(size_t extent) {
    if (extent < extents_ && (whole_[extent].fetch_or(kGrantedWhole, std::memory_order_relaxed) & kGrantedWhole) == 0)
      wholeExtents_.fetch_add(1, std::memory_order_relaxed);
  }

  // Faults that asked for their whole extent: sent by a rule, or in an extent a rule sent whole
  // before. A run is still bounded by the free half of the copy buffer (FaultAroundCounts::limit),
  // so with a small --buffer such a fault may claim less than its extent.
  uint64_t denseFaults() const { return dense_.load(std::memory_order_relaxed); }
  // Of those, the faults the region rule sent (the region was hot).
  uint64_t regionHotFaults() const { return regionHotFaults_.load(std::memory_order_relaxed); }
  // Of those, the faults the sequential rule sent.
  uint64_t sequentialFaults() const { return sequentialFaults_.load(std::memory_order_relaxed); }

 private:
  // The rules in order; `streak` gets the fault's run of faults in a row, `track` the one of the
  // extent's kTracks runs it continues or replaces.
  size_t decide(size_t extent, size_t offset, size_t maxGranules, uint64_t now, uint32_t* streak, size_t* track) {
    const uint32_t n = faults_[extent].fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == 1) firstNs_[extent].store(now, std::memory_order_relaxed);
    *streak = sequentialStreak(extent, offset, n, track);
    if (*streak >= kSequentialFaults) whole_[extent].fetch_or(kJudgedSequential, std::memory_order_relaxed);
    if (rules_.region && regionHot(now)) {
      regionHotFaults_.fetch_add(1, std::memory_order_relaxed);
      return whole(extent, maxGranules);
    }
    // An extent a rule sent whole before keeps asking for the rest of it: a grant the copy buffer
    // cut is a shortage of room, not a new judgement.
    if (whole_[extent].load(std::memory_order_relaxed) & kAskedWhole) return whole(extent, maxGranules);
    if (rules_.sequential && *streak >= kSequentialFaults) {
      sequentialFaults_.fetch_add(1, std::memory_order_relaxed);
      return whole(extent, maxGranules);
    }
    if (n == 1) return 1;
    const uint64_t first = firstNs_[extent].load(std::memory_order_relaxed);
    const uint64_t start = copierStartNs_.load(std::memory_order_acquire);
    if (first == 0 || start == 0 || now <= start) return 1;
    // The lower bound of the extent's fault rate from its n - 1 faults since the first.
    const double root = std::sqrt(static_cast<double>(n - 1)) - kZ / 2;
    if (root <= 0) return 1;
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
    if (perNs * ahead / extentsPerNs < kDenseFaults) return 1;
    return whole(extent, maxGranules);
  }

  // The sequential rule's evidence: the fault (the extent's n-th) continues one of the extent's
  // tracked runs when it lands fewer than kSequentialGap granules past where that run ended (a
  // writer going forward; with two taking turns page by page each lands one past its own run). A
  // fault that continues none starts a run in an empty track, else in place of the shorter streak
  // (of equals, the track not written last), and the other tracks' streaks start again: the faults
  // must come in a row, each continuing a run, as a random writer's do not. An extent's first fault
  // near its start continues the extent before it when that one was judged sequential (the writer
  // crossed into this one).
  uint32_t sequentialStreak(size_t extent, size_t offset, uint32_t n, size_t* track) {
    std::atomic<uint32_t>* runs = &next_[extent * kTracks];
    uint32_t seen[kTracks];
    for (size_t t = 0; t < kTracks; ++t) {
      seen[t] = runs[t].load(std::memory_order_relaxed);
      const size_t end = seen[t] >> 8;  // the run's end + 1; 0: no fault yet
      if (end != 0 && offset + 1 >= end && offset + 1 < end + kSequentialGap) {
        *track = t;
        return (seen[t] & 0xFF) + 1;
      }
    }
    const size_t last = (whole_[extent].load(std::memory_order_relaxed) & kLastTrack) ? 1 : 0;
    size_t replace;  // an empty track, else the shorter streak, else the one not written last
    if (seen[0] == 0 || seen[1] == 0)
      replace = seen[0] == 0 ? 0 : 1;
    else if ((seen[0] & 0xFF) != (seen[1] & 0xFF))
      replace = (seen[0] & 0xFF) < (seen[1] & 0xFF) ? 0 : 1;
    else
      replace = 1 - last;
    *track = replace;
    // The other track's streak starts again (unless it moved on meanwhile: one try, lock-free).
    const size_t other = 1 - replace;
    if ((seen[other] & 0xFF) != 0)
      runs[other].compare_exchange_strong(seen[other], seen[other] & ~0xFFu, std::memory_order_relaxed);
    if (n == 1 && offset < kSequentialGap && extent > 0 &&
        (whole_[extent - 1].load(std::memory_order_relaxed) & kJudgedSequential))
      return kSequentialFaults;
    return 0;
  }

  // A fault asks for all of its extent.
  size_t whole(size_t extent, size_t maxGranules) {
    dense_.fetch_add(1, std::memory_order_relaxed);
    whole_[extent].fetch_or(kAskedWhole, std::memory_order_relaxed);
    return maxGranules;
  }

  // The region rule: counts the fault in the current window; the thread that closes a window
  // judges it (a compare-and-swap on its start, so one thread does); a hot verdict holds from the
  // next window on. A closer that was overtaken by the next window's (a thread preempted between the two
  // steps) stores no verdict. Before the copier starts there is no window and the region is not
  // hot.
  bool regionHot(uint64_t now) {
    uint64_t start = windowStartNs_.load(std::memory_order_relaxed);
    if (start == 0) return false;
    const uint64_t counted = windowFaults_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now <= start) return hot_.load(std::memory_order_relaxed);
    const uint64_t span = now - start;
    if (span >= kWindowMaxNs || (counted >= kWindowFaults && span >= kWindowMinNs)) {
      if (windowStartNs_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
        const uint64_t faults = windowFaults_.exchange(0, std::memory_order_relaxed);
        // Extents saved or granted whole: the larger of the two counts (their sum counts twice an
        // extent granted whole that the copier then passed), so the rate is, if anything, low.
        const size_t gone =
            std::max(copierDone_.load(std::memory_order_relaxed), wholeExtents_.load(std::memory_order_relaxed));
        const double live = static_cast<double>(gone < extents_ ? extents_ - gone : 1);
        const double perExtentPerSec = static_cast<double>(faults) * 1e9 / static_cast<double>(span) / live;
        // Judged while at least half the region is still to be saved (the header says why).
        const bool judged = !rules_.regionUntilHalf || 2 * gone <= extents_;
        const bool hot = judged && faults >= kHotMinFaults && perExtentPerSec >= kHotPerExtentPerSec;
        // Once hot, hot for the rest of the snapshot (the header says why).
        if (hot && windowStartNs_.load(std::memory_order_relaxed) == now) hot_.store(true, std::memory_order_relaxed);
      }
    }
    return hot_.load(std::memory_order_relaxed);
  }

  size_t extents_ = 0;
  bool inOrder_ = true;
  FaultAroundRules rules_;
  std::unique_ptr<std::atomic<uint32_t>[]> faults_;
  std::unique_ptr<std::atomic<uint64_t>[]> firstNs_;
  // Per extent: granted whole, asked for whole, a fault of it reached the sequential rule's streak,
  // and which of its two tracked runs was written last.
  static constexpr uint8_t kGrantedWhole = 1, kAskedWhole = 2, kJudgedSequential = 4, kLastTrack = 8;
  std::unique_ptr<std::atomic<uint8_t>[]> whole_;
  std::unique_ptr<std::atomic<uint32_t>[]> next_;  // kTracks per extent: (run end + 1) << 8 | streak; 0: none
  std::atomic<uint64_t> copierStartNs_{0};
  std::atomic<size_t> copierExtent_{0}, copierDone_{0};
  std::atomic<uint64_t> dense_{0}, regionHotFaults_{0}, sequentialFaults_{0};
  std::atomic<size_t> wholeExtents_{0};
  std::atomic<uint64_t> windowStartNs_{0}, windowFaults_{0};
  std::atomic<bool> hot_{false};
};

}  // namespace cowbench
