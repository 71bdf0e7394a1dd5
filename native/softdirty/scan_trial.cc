#include "scan_trial.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>

#include "../common/region.h"
#include "../common/stamp.h"
#include "clear_refs_tracker.h"

namespace cowbench {

Status RunScanTrial(const ScanTrialOptions& options, std::vector<ScanTrialRep>* reps) {
  if (options.pages == 0) return Status::Fail("EINVAL", "scan trial: pages must be > 0");
  if (options.dirty != "alternate" && options.dirty != "fraction")
    return Status::Fail("EINVAL", "scan trial: dirty must be 'alternate' or 'fraction'");
  if (options.fraction < 0 || options.fraction > 1)
    return Status::Fail("EINVAL", "scan trial: fraction must be within [0, 1]");
  Region region;
  Status st = region.create(options.pages * kPageSize, false, FillMode::kAll);
  if (!st.ok()) return st;
  std::unique_ptr<DirtyTracker> tracker;
  if (options.engine == "clear-refs-unchecked")
    tracker = std::make_unique<ClearRefsTracker>(false);
  else
    st = CreateDirtyTracker(options.engine, options.vecLen, &tracker);
  if (st.ok()) st = tracker->open(region.base(), region.bytes());
  if (st.ok()) st = tracker->start();
  if (!st.ok()) return st;

  std::vector<uint64_t> order(options.pages);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.seed);
  std::vector<uint8_t> written(options.pages), seen(options.pages);
  for (unsigned rep = 0; rep < std::max(1u, options.reps); ++rep) {
    std::fill(written.begin(), written.end(), 0);
    std::fill(seen.begin(), seen.end(), 0);
    ScanTrialRep r;
    if (options.dirty == "alternate") {
      for (size_t p = 0; p < options.pages; p += 2) written[p] = 1;
    } else {
      const size_t want = static_cast<size_t>(options.fraction * static_cast<double>(options.pages) + 0.5);
      for (size_t i = 0; i < want; ++i) {  // a fresh random sample each rep (partial shuffle)
        std::swap(order[i], order[i + rng() % (options.pages - i)]);
        written[order[i]] = 1;
      }
    }
    for (size_t p = 0; p < options.pages; ++p) {
      if (!written[p]) continue;
      WriteStamp(region.base() + p * kPageSize, static_cast<uint32_t>(p), 2 + rep);
      ++r.dirtied;
    }
    std::vector<PageRun> runs;
    st = tracker->collect(&runs, &r.stats);
    if (!st.ok()) break;
    r.runs = runs.size();
    for (const auto& run : runs) {
      for (uint64_t p = run.first; p < run.first + run.count && p < options.pages; ++p) {
        ++r.reported;
        if (seen[p]++) ++r.duplicates;
        if (!written[p]) ++r.spurious;
      }
    }
    for (size_t p = 0; p < options.pages; ++p)
      if (written[p] && !seen[p]) ++r.missed;
    reps->push_back(r);
  }
  Status closed = tracker->close();
  return st.ok() ? closed : st;
}

}  // namespace cowbench
