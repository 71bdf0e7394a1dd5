// mprotect backend: mprotect(PROT_READ) over the region at arm time; a SIGSEGV handler on the
// writing thread serves the fault through the shared fault path (common/fault_path.h: copy the
// page into the signal-safe copy buffer, re-enable writes on it); a background copier streams the rest and re-enables
// writes per saved run. Every page written ahead of the copier splits the mapping: the process's mapping count is
// tracked, and mprotect's ENOMEM at vm.max_map_count fails the snapshot cleanly.
#pragma once

#include <string>

#include "../common/backend.h"
#include "../common/fault_path.h"
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
  Status recordedFailure(SnapshotContext& ctx);
  Status vmaLimitStatus(const std::string& what, int err, uint64_t offset, size_t len);
  void sampleVmaCount(SnapshotContext& ctx);
  void unprotectAll();

  const MprotectOptions options_;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  size_t granule_ = 4096;
  long maxMapCount_ = -1;
  FaultPath path_;         // the claim bitmap, the copy buffer and serve()
  SignalCopyPath signal_;  // routes SIGSEGV to path_ (declared after it: stops routing first)
  uint64_t vmaPeak_ = 0, vmaSamples_ = 0, vmaSampleNs_ = 0;
};

// The process's current mapping count (lines of /proc/self/maps), or -1.
long CountMappings();

}  // namespace cowbench
