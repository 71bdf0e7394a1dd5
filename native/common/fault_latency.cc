#include "fault_latency.h"

#include <sched.h>

#include <cerrno>

#include "stamp.h"
#include "writers.h"

namespace cowbench {
namespace {

// Pins the calling (libuv pool) thread to the CPU it is on for the measurement, so "same CPU"
// and "other CPU" handler placements mean something; restores its affinity on scope exit.
class PinToCurrentCpu {
 public:
  PinToCurrentCpu() {
    if (::sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    cpu_ = ::sched_getcpu();
    if (cpu_ < 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_, &one);
    pinned_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
    if (!pinned_) err_ = errno;
  }
  ~PinToCurrentCpu() {
    if (pinned_) ::sched_setaffinity(0, sizeof saved_, &saved_);
  }
  int cpu() const { return pinned_ ? cpu_ : -1; }
  int error() const { return err_; }

 private:
  cpu_set_t saved_{};
  int cpu_ = -1;
  bool pinned_ = false;
  int err_ = 0;
};

}  // namespace

Status MeasureFaultLatency(const std::string& backend, Region& region, Sink& sink, const SnapshotOptions& options, const OptionBag& backendOptions,
                           std::vector<double>* samplesNs, SnapshotMetrics* metrics) {
  std::unique_ptr<Backend> b;
  Status st = CreateBackend(backend, backendOptions, &b);
  if (!st.ok()) return st;
  PinToCurrentCpu pin;
  if (pin.cpu() < 0) return Status::Sys("fault latency: pin the measuring thread", "sched_setaffinity", pin.error());
  Workload idle(region);  // no writer threads: the measuring thread is the only writer
  SnapshotContext ctx(region, idle, sink, options);
  st = b->prepare(ctx);
  // The same protocol as a snapshot: beforeArm (uffd pre-arm protects here), then arm in a pause.
  if (st.ok()) st = b->beforeArm(ctx);
  if (st.ok()) st = ctx.stopTheWorld([&] { return b->arm(ctx); });
  if (st.ok()) {
    const size_t pages = region.pages();
    samplesNs->reserve(pages);
    char* base = region.base();
    for (size_t p = 0; p < pages && !ctx.cancelled(); ++p) {
      volatile char* byte = base + p * kPageSize + 64;
      const uint64_t t0 = NowNs();
      *byte = static_cast<char>(*byte + 1);
      samplesNs->push_back(static_cast<double>(NowNs() - t0));
    }
  }
  b->release(ctx);
  *metrics = ctx.metrics;
  metrics->extra["writer_cpu"] = pin.cpu();
  if (st.ok()) st = ctx.firstError();
  return st;
}

}  // namespace cowbench
