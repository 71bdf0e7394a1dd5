// The workload: N writer threads storing (page, version) stamps into the region at a rate and
// pattern, each write timed into a histogram, with a per-page version vector and a barrier at
// which all writers can be held (quiesce) and released (resume).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "histogram.h"
#include "region.h"
#include "status.h"
#include "throughput_timeline.h"

namespace cowbench {

enum class Pattern { kSequential, kRandom, kHotset };

// How one write reaches a page: a CPU store, or a kernel path writing on the process's behalf.
class PageWriter {
 public:
  virtual ~PageWriter() = default;
  virtual const char* kind() const = 0;
  // Writes the stamps of (pageIndex, version) into `page`. Returns 0 when the write landed,
  // else the errno that stopped it (the write did not happen).
  virtual int write(char* page, uint32_t pageIndex, uint32_t version) = 0;
};

struct WriterConfig {
  std::vector<std::string> kinds;  // one entry per writer thread, e.g. {"cpu","cpu"}
  Pattern pattern = Pattern::kRandom;
  double ratePagesPerSec = 0;  // total over all threads; 0 = unthrottled
  uint64_t seed = 1;
};

class WriterContext;

// One writer thread's body. Most kinds are a PageWriter driven by the default page loop (the
// Workload picks each page and times each write); a kind whose writes are issued by something
// that runs on its own (a vCPU executing guest code) implements this directly.
class WriterThread {
 public:
  virtual ~WriterThread() = default;
  virtual const char* kind() const = 0;
  // Writes the pages this thread owns until ctx.stopRequested(). Whenever ctx.pauseRequested(),
  // it must reach a point where every write it reported is in memory and none is in flight, then
  // call ctx.park(). Reports each write through ctx.landed() / ctx.failed().
  virtual void run(WriterContext& ctx) = 0;
  // Called from another thread once a pause or stop was requested: make run() notice promptly
  // (e.g. kick a vCPU out of KVM_RUN). The default page loop notices between two writes.
  virtual void kick() {}
};

// The default body: pick a page by pattern and rate, time `writer`'s write of it (workload.cc).
std::unique_ptr<WriterThread> MakePageLoop(std::unique_ptr<PageWriter> writer);

// Creates the body of thread `index` of `config` for its kind, config.kinds[index]. The Workload's
// caller supplies it (native/writers/writer_kinds.h's CreateWriterThread lists the kinds).
using WriterFactory = Status (*)(const WriterConfig& config, size_t index, Region& region,
                                 std::unique_ptr<WriterThread>* out);

class Workload;

// What one writer thread reports to, and learns from, the Workload. Owned by the Workload.
class WriterContext {
 public:
  size_t index() const { return index_; }
  size_t threads() const;
  const WriterConfig& config() const;
  Region& region() const;
  bool stopRequested() const;
  bool pauseRequested() const;
  // Holds this thread at the barrier until resumed or stopped.
  void park();
  // For a thread with no page to write (more writers than pages): counts as held until stop.
  void idleUntilStop();
  // Sleeps until the deadline unless a pause or stop is requested; false when interrupted.
  bool waitPaced(uint64_t deadlineNs);
  // The version `page` holds (only this thread writes its own pages).
  uint32_t version(size_t page) const;
  // A write that landed at `endNs` (0: now): `page` now holds `version`.
  void landed(size_t page, uint32_t version, uint64_t latencyNs, uint64_t endNs = 0);
  // A write that did not happen: the page keeps its version.
  void failed(int err, uint64_t latencyNs);
  // Why a vCPU left the guest (kvm writers): "budget" (spent), "intr", "mmio", "efault", ...
  void countExit(const std::string& reason, uint64_t n = 1);

 private:
  friend class Workload;
  WriterContext(Workload& w, size_t index) : workload_(w), index_(index) {}
  Workload& workload_;
  size_t index_;
  std::string kind_;
  std::unique_ptr<WriterThread> body_;  // released by Workload::stop()
  Histogram latency_;
  ThroughputTimeline timeline_;
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> failures_{0};
  mutable std::mutex countsMutex_;
  std::map<int, uint64_t> failedByErrno_;
  std::map<std::string, uint64_t> exitReasons_;
  // Pages this writer wrote since the workload's precapture(); touched by this writer while the
  // log is on, by the pausing thread otherwise (common/workload.cc: the memory order).
  std::vector<uint32_t> log_;
  bool logOverflow_ = false;
};

struct PhaseStats {
  uint64_t writes = 0;
  uint64_t failedWrites = 0;
  std::map<int, uint64_t> failedByErrno;
  std::map<std::string, uint64_t> writesByKind, failedByKind;
  std::map<std::string, uint64_t> exitReasons;
  uint64_t elapsedNs = 0;
  Histogram::Snapshot latency;
};

class Workload {
 public:
  // `createWriter` null: a workload that is never start()ed with writers (the measuring thread of
  // the fault-latency probe is its only writer).
  Workload(Region& region, WriterFactory createWriter) : region_(region), createWriter_(createWriter) {}
  ~Workload() { stop(); }

  Status start(const WriterConfig& config);
  // Holds every writer between two writes; returns the ns it took.
  uint64_t quiesce();
  void resume();
  void stop();
  bool running() const { return !threads_.empty(); }
  size_t threadCount() const { return writers_.size(); }

  // Only while quiesced (or stopped): the version each page holds.
  const std::vector<uint32_t>& versions() const { return versions_; }

  // The expected state of a pause in two steps, so the pause holds the writers only for the pages
  // written since the first. precapture(), writers running: starts a log of the pages written from
  // here on and copies every page's version into `*out`. capture(), in the pause: brings `*out` up
  // to date from the log (O(pages written since precapture)) and stops it, or, when there was no
  // precapture (no membarrier on this kernel) or a writer's log overflowed, copies the whole vector.
  // Returns how many pages it updated; `*whole` says whether it copied everything.
  Status precapture(std::vector<uint32_t>* out);
  // `skipLog`: test-only, the log is ignored (InjectFault::kSkipExpectedLog).
  size_t capture(std::vector<uint32_t>* out, bool* whole, bool skipLog = false);

  void beginPhase();
  PhaseStats phaseStats() const;

  // Writes per 10 ms since start() over all writers, with the marks (pauses, and `mark()`s).
  void mark(const std::string& name) { marks_.add(name, NowNs()); }
  TimelineSnapshot timeline() const;

 private:
  friend class WriterContext;
  struct Totals {
    uint64_t writes = 0, failed = 0, timeNs = 0;
    std::map<int, uint64_t> failedByErrno;
    std::map<std::string, uint64_t> writesByKind, failedByKind, exitReasons;
    Histogram::Snapshot latency;
  };
  bool waitPaced(uint64_t deadlineNs);
  void park();
  void kickAll();
  Totals totals() const;

  Region& region_;
  WriterFactory createWriter_;
  WriterConfig config_;
  std::vector<uint32_t> versions_;
  std::vector<std::unique_ptr<WriterContext>> writers_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable parkedCv_, resumeCv_;
  std::atomic<bool> pauseRequested_{false};
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> logging_{false};                 // writers append what they write to their log_
  std::unique_ptr<std::atomic<uint64_t>[]> logged_;  // a bit per page: in some writer's log_
  size_t loggedWords_ = 0;
  bool logPending_ = false;   // the pausing thread's: logging_ is on until capture()
  bool precaptured_ = false;  // and the copy precapture() made is valid
  size_t parked_ = 0;
  Totals phaseStart_;
  uint64_t startNs_ = 0;
  PhaseMarks marks_;
};

}  // namespace cowbench
