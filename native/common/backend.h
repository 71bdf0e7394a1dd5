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
#include "region.h"
#include "sink.h"
#include "status.h"
#include "writers.h"

namespace cowbench {

// Options converted once from JavaScript; each backend reads the ones it understands.
struct SnapshotOptions {
  size_t bufferBytes = 64u << 20;
  BufferPolicy bufferPolicy = BufferPolicy::kBlock;
  unsigned handlers = 1;
  size_t granularityBytes = 4096;
  std::string delivery = "thread";  // uffd: "thread" (handler threads) or "sigbus"
  std::string engine = "auto";      // softdirty: "clear-refs", "wp-async", "auto"
  uint64_t finalDirtyPages = 256;   // softdirty: stop pre-copy below this many dirty pages
  unsigned maxPasses = 8;           // softdirty
  unsigned armThreads = 1;          // uffd: threads splitting the arm-time write-protect
  std::string handlerWait = "poll";  // uffd: "poll" (sleep in poll(2)) or "spin" (busy-read the fd)
  bool prearm = true;               // uffd: write-protect before the pause, re-protect the few pages written since
  std::string handlerCpu = "any";   // uffd: pin handlers to the faulting thread's CPU ("same"), another ("other")
  bool handlerBatch = false;         // uffd: un-protect a batch of faults with DONTWAKE, then one UFFDIO_WAKE
  // Fault handlers wake the buffer's drain "early" (before the writer), "late" (after it) or in
  // "batch"es of kDrainWakeBatch queued pages (a full buffer or the final flush wakes it too).
  // batch by default: the latency suite measured 16.1 -> 7.6 µs per uffd fault on this machine.
  std::string drainWake = "batch";
  // uffd, mprotect (--fault-around): a write fault copies up to this many not-yet-saved granules of
  // its 2 MiB extent, the faulting one included, and un-protects them with one call; 0: only it.
  // 512 (the whole extent) from the K sweep (0, 4, 16, 64, 512) on this machine: 1 GiB at 65,536
  // random writes/s snapshots at 0.90 of the idle snapshot of the same round (0.45 with K=0), and
  // unthrottled random writers see the lowest write-stall p99.9 (n=5 each; issue 14's note).
  unsigned faultAroundPages = 512;
  std::string copyOrder = "sequential";  // uffd, mprotect copier: "sequential" or "hot" (faulted extents first)
  // Test-only fault: un-protect faulting pages without copying them first.
  bool injectSkipCopyBeforeWrite = false;
  // Test-only fault: fault-around leaves one page of each run uncopied (still un-protected).
  bool injectSkipFaultAroundPage = false;
  // Test-only fault: the buffer's drain (sink writer) sleeps this long before each write.
  unsigned injectSinkDelayUs = 0;
  // Test-only: forkcow's child sleeps this long before writing (so a test can kill it mid-way).
  unsigned injectChildDelayMs = 0;
  // Test-only: the copier (uffd, mprotect) sleeps this long before it starts, so a test can watch
  // writers while a failure in the fault path waits for the copier to notice it.
  unsigned injectCopierDelayUs = 0;
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
  SnapshotContext(Region& r, Workload& w, Sink& s, const SnapshotOptions& o)
      : region(r), workload(w), sink(s), options(o) {}

  // Holds the writers, runs `fn`, records every page's version as the expected image, resumes.
  // The last such capture is the consistency point.
  Status stopTheWorld(const std::function<Status()>& fn);

  // Records the first failure and asks every loop to stop.
  void fail(const Status& why);
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  Status firstError();

  void addCopied(uint64_t bytes) { bytesCopied_.fetch_add(bytes, std::memory_order_relaxed); }
  uint64_t bytesCopied() const { return bytesCopied_.load(std::memory_order_relaxed); }

  Region& region;
  Workload& workload;
  Sink& sink;
  const SnapshotOptions options;
  SnapshotMetrics metrics;
  std::vector<uint32_t> expected;

 private:
  std::vector<uint32_t> startVersions_;  // the first capture, kept once a later one replaces it
  std::mutex mutex_;
  Status error_;
  std::atomic<bool> cancelled_{false};
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

// Constructs the backend registered under `name` (backends.cc lists them).
Status CreateBackend(const std::string& name, std::unique_ptr<Backend>* out);

}  // namespace cowbench
