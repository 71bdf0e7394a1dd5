#include "fault_path.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "thread.h"

namespace cowbench {

Status FaultPath::start(SnapshotContext& ctx, char* base, size_t bytes, size_t granule,
                        const CopyPathOptions& options) {
  // The granularity's choices and "2m needs --hugepage" are the preflight's rules (src/preflight.ts).
  if (granule != kPageSize && granule != kHugePageSize)
    return Status::Internal("a copy granule other than 4k or 2m (" + std::to_string(granule) + " bytes)");
  if (granule == kHugePageSize && !ctx.region.hugepage())
    return Status::Internal("2m copy granules over a region without hugepages");
  ctx_ = &ctx;
  options_ = options;
  base_ = base;
  bytes_ = bytes;
  granule_ = granule;
  granules_ = (bytes + granule - 1) / granule;
  skipCopy_ = ctx.options.inject.fault == InjectFault::kSkipCopyBeforeWrite;
  skipAroundPage_ = ctx.options.inject.fault == InjectFault::kSkipFaultAroundPage;
  faultAround_ = FaultAroundGranules(options.faultAroundPages, ctx.options.bufferBytes, granule);
  perExtent_ = std::max<size_t>(1, kExtentBytes / granule);
  if (options.faultAroundAuto &&
      !policy_.start((granules_ + perExtent_ - 1) / perExtent_, options.copyOrder == CopyOrder::kSequential))
    return OutOfMemory("allocating --fault-around auto's per-extent counts");
  claimed_.reset(new std::atomic<uint64_t>[(granules_ + 63) / 64]());
  Status st = buffer_.start(ctx.options.bufferBytes, granule, ctx.options.bufferPolicy, &ctx.sink,
                            ctx.options.inject.sinkDelayUs);
  if (!st.ok()) return st;
  ctx.onCancel([this](const Status& why) { buffer_.cancel(why); });  // a failure or abort ends its waits
  return Status::Ok();
}

void FaultPath::waitIdle() const {
  while (busy_.load(std::memory_order_acquire) != 0) ::usleep(50);
}

void FaultPath::reportTo(SnapshotMetrics& m) const {
  m.wpFaults = faults_.load();
  m.pagesCopiedBeforeWrite = copiedBeforeWrite_.load();
  m.bufferPeakBytes = buffer_.peakBytes();
  m.throttledNs = buffer_.throttledNs();
  around_.reportTo(m);
  m.extra["fault_around_auto"] = options_.faultAroundAuto ? 1 : 0;
  if (options_.faultAroundAuto) {
    m.extra["fault_around_dense_faults"] = static_cast<double>(policy_.denseFaults());
    m.extra["fault_around_region_hot_faults"] = static_cast<double>(policy_.regionHotFaults());
    m.extra["fault_around_sequential_faults"] = static_cast<double>(policy_.sequentialFaults());
  }
}

}  // namespace cowbench
