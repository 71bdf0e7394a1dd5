// The softdirty backend's dirty-tracking engines behind one small interface: start tracking,
// then repeatedly collect the pages written since the previous collect (and make them clean).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../common/status.h"

namespace cowbench {

// `count` pages starting at page index `first` of the region.
struct PageRun {
  uint64_t first;
  uint64_t count;
  bool operator==(const PageRun& o) const { return first == o.first && count == o.count; }
};

// Appends [first, first+count) to `runs`, merging with the last run when they touch.
void AppendRun(std::vector<PageRun>* runs, uint64_t first, uint64_t count);
uint64_t CountPages(const std::vector<PageRun>& runs);

// What one collect() cost.
struct ScanStats {
  uint64_t ns = 0;
  uint64_t calls = 0;         // ioctl(PAGEMAP_SCAN) calls, or pagemap preads
  uint64_t regions = 0;       // page_region entries the kernel returned
  uint64_t walkEndShort = 0;  // complete scans whose walk_end stopped short of the range end
};

class DirtyTracker {
 public:
  virtual ~DirtyTracker() = default;
  // The --engine name.
  virtual const char* name() const = 0;
  // Outside the pause: check the kernel by behaviour, open fds, register the region.
  virtual Status open(char* base, size_t bytes) = 0;
  // Before the arm pause, writers running (the backend's beforeArm): from now on every page counts
  // as clean until written. A write racing the start is simply tracked: the image is of the end.
  virtual Status start() = 0;
  // Appends the pages written since start() or the previous collect() to `runs` (in page order)
  // and makes them clean again.
  virtual Status collect(std::vector<PageRun>* runs, ScanStats* stats) = 0;
  // True when collect() is only correct with the writers held (its read and its clear are two
  // separate steps, so a write between them would be lost).
  virtual bool collectNeedsPause() const = 0;
  // Stops tracking and leaves the region writable; safe to call twice.
  virtual Status close() = 0;
};

// "wp-async" or "clear-refs" (not "auto": the backend tries engines in order).
// `scanVecLen`: page_region entries per PAGEMAP_SCAN call (wp-async only; 0 = default).
Status CreateDirtyTracker(const std::string& engine, size_t scanVecLen, std::unique_ptr<DirtyTracker>* out);

}  // namespace cowbench
