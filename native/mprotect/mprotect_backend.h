// mprotect backend: mprotect(PROT_READ) over the region at arm time; a SIGSEGV handler on the
// writing thread copies the faulting page into a signal-safe staging buffer and re-enables
// writes on that page; a background copier streams the rest and re-enables writes per saved run.
// Every page written ahead of the copier splits the mapping: the process's mapping count is
// tracked, and mprotect's ENOMEM at vm.max_map_count fails the snapshot cleanly.
#pragma once

#include <atomic>
#include <memory>

#include "../common/backend.h"
#include "../common/staging_buffer.h"

namespace cowbench {

class MprotectBackend final : public Backend {
 public:
  ~MprotectBackend() override;
  Status prepare(SnapshotContext& ctx) override;
  Status arm(SnapshotContext& ctx) override;
  Status copy(SnapshotContext& ctx) override;
  void release(SnapshotContext& ctx) override;

 private:
  // What a signal handler recorded going wrong; turned into a Status on the copier's thread.
  enum FaultFailure : int { kNone = 0, kBufferFull, kBufferFailed, kUnprotect };

  static bool OnFault(void* self, char* address);  // signal context
  bool serveFault(char* address);                  // signal context
  bool claim(size_t g) {
    const uint64_t bit = 1ull << (g & 63);
    return (claimed_[g >> 6].fetch_or(bit, std::memory_order_acq_rel) & bit) == 0;
  }
  // Signal-safe: records the first failure and makes the whole region writable again.
  void failFromSignal(FaultFailure what, int err, uint64_t offset);
  Status recordedFailure(SnapshotContext& ctx);
  Status vmaLimitStatus(const std::string& what, int err, uint64_t offset, size_t len);
  void sampleVmaCount(SnapshotContext& ctx);
  void unprotectAll();

  SnapshotContext* ctx_ = nullptr;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  size_t granule_ = 4096;
  long maxMapCount_ = -1;
  bool skipCopy_ = false;
  DrainWake drainWake_ = DrainWake::kEarly;
  int faultSlot_ = -1;
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;
  StagingBuffer buffer_;
  std::atomic<bool> armed_{false};
  std::atomic<int> busy_{0};  // handlers between claim and the end of their push
  std::atomic<uint64_t> faults_{0}, copiedBeforeWrite_{0};
  std::atomic<int> failure_{kNone}, failureErrno_{0};
  std::atomic<uint64_t> failureOffset_{0};
  uint64_t vmaPeak_ = 0, vmaSamples_ = 0, vmaSampleNs_ = 0;
};

// The process's current mapping count (lines of /proc/self/maps), or -1.
long CountMappings();

}  // namespace cowbench
