// userfaultfd write-protect backend: one UFFDIO_WRITEPROTECT over the region at arm time, a
// background copier streaming pages in order, and handler threads that serve a fault through the
// shared fault path (common/fault_path.h: copy the page into the bounded buffer, un-protect it and
// so wake the blocked writer), or with --delivery sigbus the writer's own SIGBUS handler does.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../common/backend.h"
#include "../common/compat.h"
#include "../common/fault_path.h"
#include "../common/fd.h"
#include "uffd_options.h"
#include "uffd_sigbus.h"

namespace cowbench {

class UffdBackend final : public Backend {
 public:
  using Options = UffdOptions;
  explicit UffdBackend(const UffdOptions& options) : options_(options) {}
  ~UffdBackend() override;
  Status prepare(SnapshotContext& ctx) override;
  Status beforeArm(SnapshotContext& ctx) override;
  Status arm(SnapshotContext& ctx) override;
  Status copy(SnapshotContext& ctx) override;
  void release(SnapshotContext& ctx) override;

 private:
  Status writeProtect(char* addr, size_t len, bool protect, bool wake = true);
  Status wake(uint64_t start, uint64_t end);
  Status protectAll(unsigned threads);
  bool prearmed(const SnapshotContext& ctx) const;
  void unprotectAll();
  void handlerLoop(SnapshotContext* ctx);
  // Returns true when it un-protected the run it copied (`served`) without waking (batch mode):
  // the caller wakes.
  bool serveFault(SnapshotContext& ctx, uint64_t address, bool wakeNow, GranuleRun* served);
  void serveBatch(SnapshotContext& ctx, const uffd_msg* msgs, size_t count);

  const UffdOptions options_;
  UniqueFd uffd_;
  UniqueFd stopFd_;  // eventfd: tells handler threads to exit
  std::vector<std::thread> handlers_;
  FaultPath path_;  // the claim bitmap, the copy buffer and serve() (both deliveries)
  char* base_ = nullptr;
  size_t bytes_ = 0;
  size_t granule_ = 4096, granules_ = 0;
  bool registered_ = false;
  std::atomic<bool> armed_{false};
  std::atomic<bool> stopping_{false};
  // Pre-arm: the region is protected before the pause; a fault then is a write before the
  // consistency point: un-protect without copying and remember the page for re-protection.
  std::mutex prearmMutex_;
  bool prearmTracking_ = false;              // guarded by prearmMutex_
  std::atomic<bool> prearmPossible_{false};  // fast path: skip the mutex when never pre-armed
  std::atomic<uint64_t> prearmFaults_{0};
  std::vector<size_t> prearmWritten_;
  uint64_t features_ = 0;
  std::atomic<uint64_t> handlerRepins_{0}, wakeBatches_{0}, batchedFaults_{0};
  std::unique_ptr<UffdSigbusDelivery> sigbus_;  // --delivery sigbus: faults served in the writer
};

}  // namespace cowbench
