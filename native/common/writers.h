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

#include "histogram.h"
#include "region.h"
#include "status.h"

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

// Creates the PageWriter of thread `index` for a writer kind ("cpu", ...), or fails with
// EUNSUPPORTED naming what the machine lacks. Defined in page_writers.cc, which lists the kinds.
Status CreatePageWriter(const std::string& kind, size_t index, Region& region,
                        std::unique_ptr<PageWriter>* out);

struct WriterConfig {
  std::vector<std::string> kinds;  // one entry per writer thread, e.g. {"cpu","cpu"}
  Pattern pattern = Pattern::kRandom;
  double ratePagesPerSec = 0;  // total over all threads; 0 = unthrottled
  uint64_t seed = 1;
};

struct PhaseStats {
  uint64_t writes = 0;
  uint64_t failedWrites = 0;
  std::map<int, uint64_t> failedByErrno;
  uint64_t elapsedNs = 0;
  Histogram::Snapshot latency;
};

class Workload {
 public:
  explicit Workload(Region& region) : region_(region) {}
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

  void beginPhase();
  PhaseStats phaseStats() const;

 private:
  struct Writer {
    std::unique_ptr<PageWriter> impl;
    Histogram latency;
    std::atomic<uint64_t> writes{0};
    std::atomic<uint64_t> failed{0};
    std::mutex errnoMutex;
    std::map<int, uint64_t> failedByErrno;
  };
  struct Totals {
    uint64_t writes = 0, failed = 0, timeNs = 0;
    std::map<int, uint64_t> failedByErrno;
    Histogram::Snapshot latency;
  };
  void run(size_t index);
  bool waitPaced(uint64_t deadlineNs);
  void park();
  Totals totals() const;

  Region& region_;
  WriterConfig config_;
  std::vector<uint32_t> versions_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable parkedCv_, resumeCv_;
  std::atomic<bool> pauseRequested_{false};
  std::atomic<bool> stopRequested_{false};
  size_t parked_ = 0;
  Totals phaseStart_;
};

uint64_t NowNs();

}  // namespace cowbench
