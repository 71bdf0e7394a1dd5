#include "fault_around_trial.h"

#include <cmath>
#include <new>
#include <random>
#include <vector>

#include "fault_around_policy.h"
#include "thread.h"

namespace cowbench {

Status RunFaultAroundTrial(const FaultAroundTrialOptions& o, FaultAroundTrialResult* out) {
  constexpr size_t kPerExtent = 512;
  if (o.extents == 0 || o.extents > (size_t{1} << 16))
    return Status::Fail("EINVAL", "fault-around trial: extents must be 1..65536 (128 GiB)");
  if (!(o.writesPerSec > 0) || !std::isfinite(o.writesPerSec) || !(o.copierExtentsPerSec > 0) ||
      !std::isfinite(o.copierExtentsPerSec))
    return Status::Fail("EINVAL", "fault-around trial: the write and copier rates must be positive and finite");
  // The loop runs once per simulated write until the copier has passed every extent: bounded, so
  // a synchronous call cannot hang the JS thread.
  if (static_cast<double>(o.extents) * o.writesPerSec / o.copierExtentsPerSec > 1e9)
    return Status::Fail("EINVAL",
                        "fault-around trial: more than 1e9 simulated writes (extents x writes/s / copier extents/s)");
  FaultAroundPolicy policy;
  if (!policy.start(o.extents, true)) return OutOfMemory("allocating the fault-around trial's per-extent counts");
  const size_t pages = o.extents * kPerExtent;
  std::vector<bool> saved, dense;
  try {
    saved.assign(pages, false);
    dense.assign(o.extents, false);
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the fault-around trial's page map");
  }
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> anyPage(0, pages - 1);
  // The clock starts at 1 s (0 means "not started" to the policy).
  const double startNs = 1e9, writeNs = 1e9 / o.writesPerSec, extentNs = 1e9 / o.copierExtentsPerSec;
  policy.copierStarted(static_cast<uint64_t>(startNs));
  FaultAroundTrialResult r;
  size_t copierAt = 0, next = 0;
  for (uint64_t w = 0;; ++w) {
    const double now = startNs + static_cast<double>(w) * writeNs;
    // The copier saved every extent before the one it is in now.
    const size_t at = static_cast<size_t>((now - startNs) / extentNs);
    if (at >= o.extents) break;
    if (at != copierAt || w == 0) policy.copierAt(at, at);
    copierAt = at;
    ++r.writes;
    const size_t page = o.sequential ? next++ % pages : anyPage(rng);
    const size_t extent = page / kPerExtent;
    if (extent < at || saved[page]) continue;
    ++r.faults;
    // The run a fault claims: its page, then forward, then back, within its extent, up to the first
    // page already saved either way (ClaimAround).
    const size_t want = policy.granulesAt(extent, kPerExtent, static_cast<uint64_t>(now));
    const size_t first = extent * kPerExtent, end = first + kPerExtent;
    size_t lo = page, hi = page + 1;
    saved[page] = true;
    while (hi - lo < want && hi < end && !saved[hi]) saved[hi++] = true;
    while (hi - lo < want && lo > first && !saved[lo - 1]) saved[--lo] = true;
    r.faultPathPages += hi - lo;
    // The whole extent asked for: every other unsaved stretch of it too (FaultPath::serve).
    if (want >= kPerExtent)
      for (size_t p = first; p < end; ++p)
        if (!saved[p]) {
          saved[p] = true;
          ++r.faultPathPages;
        }
    if (want > 1 && !dense[extent]) {
      dense[extent] = true;
      ++r.denseExtents;
    }
  }
  r.denseFaults = policy.denseFaults();
  *out = r;
  return Status::Ok();
}

}  // namespace cowbench
