#include "fault_latency.h"

#include "stamp.h"
#include "writers.h"

namespace cowbench {

Status MeasureFaultLatency(const std::string& backend, Region& region, Sink& sink, const SnapshotOptions& options,
                           std::vector<double>* samplesNs, SnapshotMetrics* metrics) {
  std::unique_ptr<Backend> b;
  Status st = CreateBackend(backend, &b);
  if (!st.ok()) return st;
  Workload idle(region);  // no writer threads: the measuring thread is the only writer
  SnapshotContext ctx(region, idle, sink, options);
  st = b->prepare(ctx);
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
  if (st.ok()) st = ctx.firstError();
  return st;
}

}  // namespace cowbench
