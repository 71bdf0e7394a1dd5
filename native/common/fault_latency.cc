#include "fault_latency.h"

#include <sched.h>

#include <cerrno>
#include <utility>

#include "snapshot_session.h"
#include "stamp.h"
#include "workload.h"

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

Status MeasureFaultLatency(std::unique_ptr<Backend> backend, Region& region, Sink& sink, const SessionOptions& options,
                           std::vector<double>* samplesNs, SnapshotMetrics* metrics) {
  PinToCurrentCpu pin;
  if (pin.cpu() < 0) return Status::Sys("fault latency: pin the measuring thread", "sched_setaffinity", pin.error());
  Workload idle(region, nullptr);  // no writer threads: the measuring thread is the only writer
  std::unique_ptr<SnapshotSession> session;
  Status st = SnapshotSession::Create(std::move(backend), region, idle, sink, options, &session);
  if (!st.ok()) return st;
  SnapshotContext& ctx = session->context();
  // The same protocol as a snapshot (uffd pre-arm protects in arm's beforeArm), without copy().
  st = session->prepare();
  if (st.ok()) st = session->arm();
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
  session->release();
  *metrics = ctx.metrics;
  metrics->extra["writer_cpu"] = pin.cpu();
  if (st.ok()) st = ctx.firstError();
  return st;
}

}  // namespace cowbench
