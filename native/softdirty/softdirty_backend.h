// Iterative pre-copy, the way live migration does it: pass 0 copies every page while writers
// run; each later pass re-copies the pages written during the previous one; when the dirty set
// is small enough (or after --max-passes) the writers are held once more and what is still
// dirty is copied. The image shows the state at that final pause: consistency point "end".
#pragma once

#include <memory>
#include <vector>

#include "../common/backend.h"
#include "dirty_tracker.h"
#include "softdirty_options.h"

namespace cowbench {

class SoftdirtyBackend final : public Backend {
 public:
  using Options = SoftdirtyOptions;
  explicit SoftdirtyBackend(const SoftdirtyOptions& options) : options_(options) {}
  ~SoftdirtyBackend() override;
  Status prepare(SnapshotContext& ctx) override;
  Status beforeArm(SnapshotContext& ctx) override;
  Status arm(SnapshotContext& ctx) override;
  Status copy(SnapshotContext& ctx) override;
  void release(SnapshotContext& ctx) override;

 private:
  Status openEngine(const std::string& engine);
  // Collects the pages written since the last collect; holds the writers for engines that need
  // it unless `writersHeld`.
  Status collect(SnapshotContext& ctx, std::vector<PageRun>* runs, bool writersHeld);
  Status copyRuns(SnapshotContext& ctx, const std::vector<PageRun>& runs);
  void recordPass(uint64_t pages, uint64_t scanNs, uint64_t copyNs);

  const SoftdirtyOptions options_;
  std::unique_ptr<DirtyTracker> tracker_;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  ScanStats lastScan_;
  ScanStats totalScan_;
  std::vector<double> pagesPerPass_, scanUsPerPass_, copyMsPerPass_;
};

}  // namespace cowbench
