// Single dirty-tracking operations, one call each, for tinybench micro-benchmarks (the `scan`
// suite, C6): the engines' own code on small regions, so a sample is one real operation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/region.h"
#include "../common/status.h"
#include "clear_refs_tracker.h"
#include "dirty_tracker.h"
#include "wp_async_tracker.h"

namespace cowbench {

class ScanMicro {
 public:
  // Maps two regions of `pages` 4 KiB pages: one tracked by wp-async, one by the clear-refs
  // mechanics (unchecked: the pass is timed even where the soft-dirty bits never set).
  Status open(size_t pages);
  // One UFFDIO_WRITEPROTECT protecting, and one un-protecting, the 4 KiB page `page`.
  Status writeProtectPair(size_t page);
  // Writes the first `count` pages of the wp-async region (untimed setup for the next scan).
  Status touch(size_t count);
  // One wp-async collect: a single PAGEMAP_SCAN over the region that returns the written pages
  // and write-protects them again. `pages` gets how many it reported.
  Status pagemapScan(uint64_t* pages);
  // One clear-refs collect: the region's pagemap entries read, then "4" to clear_refs (which
  // walks every page table of the process, whatever the region's size).
  Status clearRefsPass(uint64_t* pages);
  // Stops tracking and unmaps; safe to call twice.
  Status close();

 private:
  Region wpRegion_;
  Region crRegion_;
  WpAsyncTracker wp_;
  ClearRefsTracker cr_{false};
  std::vector<PageRun> runs_;
  uint32_t version_ = 1;
  bool open_ = false;
};

}  // namespace cowbench
