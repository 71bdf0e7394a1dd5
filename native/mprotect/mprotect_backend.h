// mprotect backend: mprotect(PROT_READ) over the region at arm time; a SIGSEGV handler on the
// writing thread copies the faulting page into a signal-safe staging buffer and re-enables
// writes on that page; a background copier streams the rest and re-enables writes per saved run.
// Every page written ahead of the copier splits the mapping: the process's mapping count is
// tracked, and mprotect's ENOMEM at vm.max_map_count fails the snapshot cleanly.
#pragma once

#include <atomic>
#include <memory>

#include "../common/backend.h"
#include "../common/claimed_runs.h"
#include "../common/signal_copy_path.h"
#include "mprotect_options.h"

namespace cowbench {

class MprotectBackend final : public Backend {
 public:
  using Options = MprotectOptions;
  explicit MprotectBackend(const MprotectOptions& options) : options_(options) {}
  ~MprotectBackend() override;
  Status prepare(SnapshotContext& ctx) override;
  Status arm(SnapshotContext& ctx) override;
  Status copy(SnapshotContext& ctx) override;
  void release(SnapshotContext& ctx) override;

 private:
  static int Reenable(void* self, char* addr, size_t len);  // signal context
  bool claim(size_t g) { return ClaimGranule(claimed_.get(), g); }
  Status recordedFailure(SnapshotContext& ctx);
  Status vmaLimitStatus(const std::string& what, int err, uint64_t offset, size_t len);
  void sampleVmaCount(SnapshotContext& ctx);
  void unprotectAll();

  const MprotectOptions options_;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  size_t granule_ = 4096;
  long maxMapCount_ = -1;
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;
  SignalCopyPath path_;  // the SIGSEGV handler's copy-before-write (declared after claimed_)
  uint64_t vmaPeak_ = 0, vmaSamples_ = 0, vmaSampleNs_ = 0;
};

// The process's current mapping count (lines of /proc/self/maps), or -1.
long CountMappings();

}  // namespace cowbench
