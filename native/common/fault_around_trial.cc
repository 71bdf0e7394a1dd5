#include "fault_around_trial.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <new>
#include <random>

#include "claimed_runs.h"

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
  if (o.writers < 1 || o.writers > 8) return Status::Fail("EINVAL", "fault-around trial: writers must be 1..8");
  if (!(o.faultCostNs >= 0 && o.faultCostNs <= 1e9))
    return Status::Fail("EINVAL", "fault-around trial: a fault's cost must be 0..1e9 ns");
  // The loop runs once per simulated write until the copier has passed every extent: bounded, so
  // a synchronous call cannot hang the JS thread.
  if (static_cast<double>(o.extents) * o.writesPerSec / o.copierExtentsPerSec > 1e9)
    return Status::Fail("EINVAL",
                        "fault-around trial: more than 1e9 simulated writes (extents x writes/s / copier extents/s)");
  constexpr size_t kPageBytes = 4096;
  FaultAroundPolicy policy;
  if (!policy.start(o.extents, true, o.rules))
    return OutOfMemory("allocating the fault-around trial's per-extent counts");
  const size_t pages = o.extents * kPerExtent;
  // The fault path's claim bitmap, and the extents judged dense at least once.
  std::unique_ptr<std::atomic<uint64_t>[]> claimed(new (std::nothrow) std::atomic<uint64_t>[(pages + 63) / 64]());
  std::unique_ptr<bool[]> denseExtent(new (std::nothrow) bool[o.extents]());
  if (!claimed || !denseExtent) return OutOfMemory("allocating the fault-around trial's page map");
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> anyPage(0, pages - 1);
  // The clock starts at 1 s (0 means "not started" to the policy).
  const double startNs = 1e9, writeNs = 1e9 / o.writesPerSec, extentNs = 1e9 / o.copierExtentsPerSec;
  policy.copierStarted(static_cast<uint64_t>(startNs));
  FaultAroundTrialResult r;
  size_t copierAt = 0;
  const size_t slots = pages / o.writers;  // each sequential writer's pages
  // The writer's clock: one write every writeNs, and each fault holds it back faultCostNs more
  // (summed apart, so each write moves the clock on by writeNs at least, as the bound assumes).
  double heldNs = 0;
  for (uint64_t w = 0;; ++w) {
    const double now = startNs + static_cast<double>(w) * writeNs + heldNs;
    // The copier saved every extent before the one it is in now (it claims nothing in the bitmap:
    // a write there is simply not a fault).
    const double copied = (now - startNs) / extentNs;  // compared before the cast: it may be huge
    if (copied >= static_cast<double>(o.extents)) break;
    const size_t at = static_cast<size_t>(copied);
    if (at != copierAt || w == 0) policy.copierAt(at, at);
    copierAt = at;
    ++r.writes;
    const size_t writer = w % o.writers;
    const size_t page =
        o.sequential ? ((w / o.writers + writer * kTrialWriterLagSlots) % slots) * o.writers + writer : anyPage(rng);
    const size_t extent = page / kPerExtent;
    if (extent < at || !ClaimGranule(claimed.get(), page)) continue;
    ++r.faults;
    // What FaultPath::serve claims for this fault.
    const size_t want = policy.granulesAt(extent, page % kPerExtent, kPerExtent, static_cast<uint64_t>(now));
    if (want >= kPerExtent) policy.wholeGranted(extent);  // no copy buffer to cut it
    heldNs += o.faultCostNs;                              // the writer waits for the fault to be served
    uint64_t claimedPages = 0;
    ClaimFaultRuns(claimed.get(), page, pages, kPageBytes, want, [&](const GranuleRun& run) {
      claimedPages += run.size();
      return true;
    });
    r.faultPathPages += claimedPages;
    if (r.claimsKept < kTrialClaimsKept) r.firstClaims[r.claimsKept++] = static_cast<uint32_t>(claimedPages);
    if (want >= kPerExtent && !denseExtent[extent]) {
      denseExtent[extent] = true;
      ++r.denseExtents;
    }
  }
  r.denseFaults = policy.denseFaults();
  r.regionHotFaults = policy.regionHotFaults();
  r.sequentialFaults = policy.sequentialFaults();
  *out = r;
  return Status::Ok();
}

}  // namespace cowbench
