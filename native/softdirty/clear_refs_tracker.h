// Engine "clear-refs": classic soft-dirty. Writing "4" to /proc/self/clear_refs clears every
// soft-dirty bit of the process (and write-protects the PTEs so the next write sets it again);
// bit 55 of each /proc/self/pagemap entry reports it. Needs CONFIG_MEM_SOFT_DIRTY, which a
// kernel can lack while still accepting the "4" (then the bit never sets): checked by behaviour.
#pragma once

#include <vector>

#include "../common/fd.h"
#include "dirty_tracker.h"

namespace cowbench {

// Appends the soft-dirty pages among `count` pagemap entries (the first one for region page
// `firstPage`) to `runs`. A page is dirty when bit 55 is set, present or not: a swapped-out
// page keeps the bit in its swap entry, and an untouched page of a VMA created since the last
// clear reports it from the VMA's VM_SOFTDIRTY flag.
void DecodeSoftDirty(const uint64_t* entries, size_t count, uint64_t firstPage, std::vector<PageRun>* runs);

class ClearRefsTracker final : public DirtyTracker {
 public:
  // `checkBehaviour` false skips the soft-dirty probe: only bench/scan.ts uses it, to time the
  // clear-refs mechanics (full pagemap read + clear) on a kernel whose bits do not work.
  explicit ClearRefsTracker(bool checkBehaviour = true) : checkBehaviour_(checkBehaviour) {}
  ~ClearRefsTracker() override { (void)close(); }
  const char* name() const override { return "clear-refs"; }
  Status open(char* base, size_t bytes) override;
  Status start() override;
  Status collect(std::vector<PageRun>* runs, ScanStats* stats) override;
  bool collectNeedsPause() const override { return true; }
  Status close() override;

 private:
  Status clearRefs();

  UniqueFd clearRefs_;
  UniqueFd pagemap_;
  std::vector<uint64_t> entries_;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  bool checkBehaviour_ = true;
};

}  // namespace cowbench
