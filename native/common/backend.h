// The C++ side of the backend contract, and the context a snapshot runs in.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "copy_buffer.h"
#include "options.h"
#include "page.h"
#include "region.h"
#include "sink.h"
#include "status.h"
#include "workload.h"

namespace cowbench {

// Test-only: a fault that breaks the snapshot on purpose, so a test sees verification catch it.
enum class InjectFault {
  kNone,
  // Un-protect faulting pages without copying them first.
  kSkipCopyBeforeWrite,
  // Fault-around leaves one page of each run uncopied (still un-protected).
  kSkipFaultAroundPage,
  // The arm pause ignores the log of pages written since the expected state was copied
  // (Workload::precapture), so their versions in it are older than the image's.
  kSkipExpectedLog,
};

// Test-only: the glue throws this C++ exception inside a native step's worker (failure-path tests).
enum class InjectThrow { kNone, kBadAlloc, kSystemError, kException };

// Test-only fault injection and delays, all off by default: the TypeScript `Inject` (src/native.ts),
// converted once by the glue (SessionOptionsFrom).
struct Inject {
  InjectFault fault = InjectFault::kNone;
  // The buffer's drain (sink writer) sleeps this long before each write.
  unsigned sinkDelayUs = 0;
  // forkcow's child sleeps this long before writing (so a test can kill it mid-way).
  unsigned childDelayMs = 0;
  // The copier (uffd, mprotect) sleeps this long before it starts, so a test can watch writers
  // while a failure in the fault path waits for the copier to notice it.
  unsigned copierDelayUs = 0;
  // Snapshot prepare throws this exception on its worker thread.
  InjectThrow throwInPrepare = InjectThrow::kNone;
};

// The options every backend shares for one snapshot session, converted once from JavaScript
// (NativeSessionOptions in src/native.ts). A backend's own options are its own typed struct
// (native/<backend>/<backend>_options.h), converted when it is created.
struct SessionOptions {
  size_t bufferBytes = 64u << 20;
  BufferPolicy bufferPolicy = BufferPolicy::kBlock;
  size_t granularityBytes = kPageSize;
  Inject inject;  // test-only
};

// Figures every backend fills in where they apply; `extra` holds backend-specific ones.
struct SnapshotMetrics {
  std::vector<uint64_t> pausesNs;    // each stop-the-world, in order
  std::vector<uint64_t> quiescesNs;  // time to hold the writers, per pause
  uint64_t wpFaults = 0;
  uint64_t pagesCopiedBeforeWrite = 0;
  uint64_t bufferPeakBytes = 0;
  uint64_t throttledNs = 0;
  uint64_t vmaCountPeak = 0;
  int64_t extraMemoryPeakBytes = -1;  // -1: not measured by the backend
  std::map<std::string, double> extra;
  std::map<std::string, std::vector<double>> series;  // e.g. softdirty pages per pass
};

class SnapshotContext {
 public:
  SnapshotContext(Region& r, Workload& w, Sink& s, const SessionOptions& o)
      : region(r), workload(w), sink(s), options(o) {}

  // Holds the writers, runs `fn`, records every page's version as the expected image, resumes.
  // The last such capture is the consistency point. The versions are copied before the writers
  // are held; the pause rereads only the pages written since (Workload::precapture). `before`
  // (if any) runs after that copy, with writers running, just before they are held.
  Status stopTheWorld(const std::function<Status()>& fn, const std::function<Status()>& before = nullptr);

  // Records the first failure and asks every loop to stop; wakes every wait registered with
  // onCancel (at the first failure only).
  void fail(const Status& why);
  // Registers `cancel` to run with the first failure: a wait that must end when the snapshot
  // fails or is aborted (a copy buffer's). Runs at once if the snapshot has already failed.
  // `cancel` runs under the context's lock: it must not call back into the context.
  void onCancel(std::function<void(const Status&)> cancel);
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  Status firstError();

  void addCopied(uint64_t bytes) { bytesCopied_.fetch_add(bytes, std::memory_order_relaxed); }
  uint64_t bytesCopied() const { return bytesCopied_.load(std::memory_order_relaxed); }

  Region& region;
  Workload& workload;
  Sink& sink;
  const SessionOptions options;
  SnapshotMetrics metrics;
  std::vector<uint32_t> expected;

 private:
  std::vector<uint32_t> startVersions_;  // the first capture, kept once a later one replaces it
  std::vector<uint32_t> next_;           // the capture a pause is about to make (precaptured)
  std::mutex mutex_;
  Status error_;
  std::atomic<bool> cancelled_{false};
  std::vector<std::function<void(const Status&)>> cancelHooks_;
  std::atomic<uint64_t> bytesCopied_{0};
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Outside the pause: probe, open fds, register, start threads.
  virtual Status prepare(SnapshotContext& ctx) = 0;
  // Just before the pause, writers running: work that shortens the pause (default: none).
  virtual Status beforeArm(SnapshotContext& ctx) { return Status::Ok(); }
  // Inside the pause (writers held): start tracking.
  virtual Status arm(SnapshotContext& ctx) = 0;
  // Writers running: stream the whole image to the sink. May stop the world again.
  virtual Status copy(SnapshotContext& ctx) = 0;
  // Disarm, join threads, close fds, leave the region writable. Safe to call twice, and
  // after a failure at any step.
  virtual void release(SnapshotContext& ctx) = 0;
};

}  // namespace cowbench
