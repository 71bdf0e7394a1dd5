// A self-contained dirty-tracking trial for tests and bench/scan.ts: a region with a known set of
// written pages, one engine, and an exact account of what each collect() reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/status.h"
#include "dirty_tracker.h"

namespace cowbench {

struct ScanTrialOptions {
  // "wp-async", "clear-refs", or "clear-refs-unchecked" (bench only: the clear-refs mechanics
  // timed without the soft-dirty behaviour check, on kernels where the bits never set).
  std::string engine = "wp-async";
  size_t pages = 4096;
  std::string dirty = "alternate";  // "alternate" (every other page) or "fraction" (random pages)
  double fraction = 0.01;
  uint64_t seed = 1;
  size_t vecLen = 0;  // page_region entries per PAGEMAP_SCAN call; 0 = the engine's default
  unsigned reps = 1;
};

struct ScanTrialRep {
  uint64_t dirtied = 0;     // pages written before this collect
  uint64_t reported = 0;    // pages the collect returned, duplicates included
  uint64_t duplicates = 0;  // pages returned more than once
  uint64_t missed = 0;      // written pages not returned
  uint64_t spurious = 0;    // returned pages nobody wrote
  uint64_t runs = 0;
  ScanStats stats;
};

// Maps and fills a region, starts the engine, then per rep writes a page set and collects it.
Status RunScanTrial(const ScanTrialOptions& options, std::vector<ScanTrialRep>* reps);

}  // namespace cowbench
