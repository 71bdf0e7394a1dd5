// Engine "wp-async": userfaultfd async write-protect (UFFD_FEATURE_WP_ASYNC, Linux 6.7+) marks
// written pages in the page tables without any fault message; the PAGEMAP_SCAN ioctl on
// /proc/self/pagemap returns the written pages and write-protects them again in one call.
#pragma once

#include <vector>

#include "../common/compat.h"
#include "../common/fd.h"
#include "dirty_tracker.h"

namespace cowbench {

class WpAsyncTracker final : public DirtyTracker {
 public:
  static constexpr size_t kDefaultVecLen = 4096;  // page_region entries per call (96 KiB)

  explicit WpAsyncTracker(size_t vecLen = 0) : vec_(vecLen ? vecLen : kDefaultVecLen) {}
  ~WpAsyncTracker() override { (void)close(); }
  const char* name() const override { return "wp-async"; }
  Status open(char* base, size_t bytes) override;
  Status start() override;
  Status collect(std::vector<PageRun>* runs, ScanStats* stats) override;
  bool collectNeedsPause() const override { return false; }
  Status close() override;
  // UFFDIO_WRITEPROTECT over `count` pages from region page `first` (protect, or unprotect).
  Status writeProtectPages(uint64_t first, uint64_t count, bool protect);

 private:
  UniqueFd uffd_;
  UniqueFd pagemap_;
  std::vector<page_region> vec_;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  bool registered_ = false;
};

}  // namespace cowbench
