// The claim bitmap's operations, the fault path's run claiming (common/fault_path.h) and the
// copier's inner loop, shared by the copy-before-write backends (uffd, mprotect). Everything here
// except ForEachExtent and CopyClaimedRuns is async-signal-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend.h"

namespace cowbench {

// Claims granule g in the per-granule bitmap; true if this caller is the one that must copy it.
inline bool ClaimGranule(std::atomic<uint64_t>* claimed, size_t g) {
  const uint64_t bit = 1ull << (g & 63);
  // Test before the locked set: a sweep over a mostly claimed extent reads shared lines, it does
  // not take each one exclusively (the copier and other faults use them too).
  if (claimed[g >> 6].load(std::memory_order_acquire) & bit) return false;
  return (claimed[g >> 6].fetch_or(bit, std::memory_order_acq_rel) & bit) == 0;
}

// The 2 MiB extent fault-around stays inside (and the hot-first copier visits).
constexpr size_t kExtentBytes = 2u << 20;

// --fault-around K (common/copy_path_options.h) as granules per run (at least 1), capped at half the
// copy buffer's slots so one fault cannot fill the buffer.
inline size_t FaultAroundGranules(unsigned faultAroundPages, size_t bufferBytes, size_t granuleBytes) {
  const size_t slots = std::max<size_t>(1, bufferBytes / granuleBytes);
  return std::max<size_t>(1, std::min<size_t>(faultAroundPages, slots / 2));
}

struct GranuleRun {
  size_t first, end;  // [first, end)
  size_t size() const { return end - first; }
};

// Fault-around: the caller has claimed granule g; extends the claim to at most `maxGranules`
// granules (g included) of g's 2 MiB extent that nobody claimed yet, forward first, then
// backward, stopping at the first granule already claimed so the run stays contiguous (one
// un-protect). A granule another claimer owns is never taken: each is still copied once.
inline GranuleRun ClaimAround(std::atomic<uint64_t>* claimed, size_t g, size_t granules, size_t granuleBytes,
                              size_t maxGranules) {
  GranuleRun run{g, g + 1};
  if (maxGranules <= 1) return run;
  const size_t perExtent = std::max<size_t>(1, kExtentBytes / granuleBytes);
  const size_t extentFirst = g - g % perExtent;
  const size_t extentEnd = std::min(granules, extentFirst + perExtent);
  while (run.size() < maxGranules && run.end < extentEnd && ClaimGranule(claimed, run.end)) ++run.end;
  while (run.size() < maxGranules && run.first > extentFirst && ClaimGranule(claimed, run.first - 1)) --run.first;
  return run;
}

// What a fault claims once it has claimed granule g: the run ClaimAround takes for `maxGranules`,
// and, when that is the whole extent, every other stretch of the extent nobody claimed yet (the
// run stops at the first granule claimed before). `save(run)` gets each run as it is claimed, the
// faulting one first, and returns false to stop the claim there (a failed copy). Used by the fault
// path (FaultPath::serve) and by the policy's trial (fault_around_trial.h), so the trial counts
// what the fault path claims.
template <typename Save>
bool ClaimFaultRuns(std::atomic<uint64_t>* claimed, size_t g, size_t granules, size_t granuleBytes, size_t maxGranules,
                    Save&& save) {
  if (!save(ClaimAround(claimed, g, granules, granuleBytes, maxGranules))) return false;
  const size_t perExtent = std::max<size_t>(1, kExtentBytes / granuleBytes);
  if (maxGranules < perExtent || perExtent <= 1) return true;
  const size_t first = g - g % perExtent, end = std::min(granules, first + perExtent);
  for (size_t i = first; i < end; ++i) {
    if (!ClaimGranule(claimed, i)) continue;
    GranuleRun stretch{i, i + 1};
    while (stretch.end < end && ClaimGranule(claimed, stretch.end)) ++stretch.end;
    if (!save(stretch)) return false;
    i = stretch.end;
  }
  return true;
}

// Fault-around copies neighbours only into free slots of the copy buffer: a writer never waits
// for room for its neighbours. Without this rule a whole run per fault outran the sink, filled the
// buffer and throttled every writer (a paced KVM guest; the A/B of this rule against the others
// tried is in results/2026-12-01-vm-targets/NOTE.md). The neighbours left out wait for the copier
// like any page. The counts are what the fault path reports (backend_metrics.fault_around_*);
// lock-free, so a signal handler may update them.
class FaultAroundCounts {
 public:
  // The most granules a fault may take now: `maxGranules`, cut to the free slots (counted).
  size_t limit(size_t maxGranules, size_t freeBytes, size_t granuleBytes) {
    const size_t n = std::max<size_t>(1, std::min(maxGranules, freeBytes / granuleBytes));
    if (n < maxGranules) trimmed_.fetch_add(1, std::memory_order_relaxed);
    return n;
  }
  // A fault saved `granules` granules (its own included).
  void served(size_t granules) {
    if (granules <= 1) return;
    runs_.fetch_add(1, std::memory_order_relaxed);
    pages_.fetch_add(granules - 1, std::memory_order_relaxed);
  }
  void reportTo(SnapshotMetrics& m) const {
    m.extra["fault_around_runs"] = static_cast<double>(runs_.load());
    m.extra["fault_around_pages"] = static_cast<double>(pages_.load());
    m.extra["fault_around_trimmed"] = static_cast<double>(trimmed_.load());
  }

 private:
  std::atomic<uint64_t> runs_{0}, pages_{0}, trimmed_{0};
};

// Recently faulted 2 MiB extents, for a copier that visits them before continuing in order
// (--copy-order hot). Fault paths note() without locks (signal-safe); the copier next()s, newest
// first. An entry overwritten before the copier reads it is lost: only a hint, the ordered pass
// still covers every extent.
class HotExtents {
 public:
  static constexpr uint64_t kSlots = 256;
  void note(size_t extent) {
    // Consecutive faults in one extent (a sequential writer) take one slot.
    if (last_.exchange(extent + 1, std::memory_order_relaxed) == extent + 1) return;
    const uint64_t at = written_.fetch_add(1, std::memory_order_acq_rel);
    slots_[at % kSlots].store(extent + 1, std::memory_order_release);
  }
  // Copier only: the newest extent noted since it last looked, then older unread ones.
  bool next(size_t* extent) {
    const uint64_t w = written_.load(std::memory_order_acquire);
    if (w != top_) {
      floor_ = std::max(top_, w > kSlots ? w - kSlots : 0);
      top_ = cursor_ = w;
    }
    while (cursor_ > floor_) {
      const uint64_t e = slots_[--cursor_ % kSlots].load(std::memory_order_acquire);
      if (e != 0) {
        *extent = static_cast<size_t>(e - 1);
        return true;
      }
    }
    return false;
  }

 private:
  std::atomic<uint64_t> slots_[kSlots] = {};  // extent + 1; 0: not yet stored
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> last_{0};
  uint64_t top_ = 0, cursor_ = 0, floor_ = 0;  // copier only
};

// The copier's order: calls visit(extent) once per extent in [0, extents) until it returns
// false; with `hot`, recently faulted extents first (checked again before each extent).
template <typename Visit>
void ForEachExtent(size_t extents, HotExtents* hot, Visit&& visit) {
  std::vector<bool> done(hot ? extents : 0);
  for (size_t next = 0; next < extents;) {
    size_t e = next;
    if (hot) {
      size_t h;
      while (hot->next(&h)) {
        if (h < extents && !done[h]) {
          e = h;
          break;
        }
      }
      done[e] = true;
      while (next < extents && done[next]) ++next;
    } else {
      ++next;
    }
    if (!visit(e)) return;
  }
}

// Copies granules [first, end) to the sink: every maximal run of granules that `claim(i)` grants
// this copier is written straight from the (still protected) region, then `release(off, len)`
// re-enables writes on exactly that run. Granules claimed by a fault handler are skipped.
template <typename Claim, typename Release>
Status CopyClaimedRuns(SnapshotContext& ctx, const char* base, size_t bytes, size_t granule, size_t first, size_t end,
                       Claim&& claim, Release&& release) {
  size_t runStart = first;
  for (size_t i = first; i <= end; ++i) {
    if (i < end && claim(i)) continue;
    if (i > runStart) {
      const size_t off = runStart * granule;
      const size_t len = std::min(i * granule, bytes) - off;
      Status st = ctx.sink.writeAt(base + off, len, off);
      if (st.ok()) st = release(off, len);
      if (!st.ok()) return st;
      ctx.addCopied(len);
    }
    runStart = i + 1;
  }
  return Status::Ok();
}

}  // namespace cowbench
