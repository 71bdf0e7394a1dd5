// The --fault-around and --copy-order options, read by every backend whose write faults copy
// before the write (uffd, its SIGBUS delivery, mprotect): one shared declaration in
// src/backends/shared-options.ts, like --drain-wake.
#pragma once

#include "options.h"

namespace cowbench {

// The copier's order: address order, or the 2 MiB extents where faults were served most recently
// first (common/claimed_runs.h's HotExtents).
enum class CopyOrder { kSequential, kHot };

// A write fault copies up to this many not-yet-saved granules of its 2 MiB extent, the faulting
// one included, and un-protects them with one call; 0: only it. 512 (the whole extent) from the K
// sweeps on this machine (results/2026-12-01-vm-targets): unthrottled random writers keep 3.05x
// forkcow's throughput ratio [2.50-5.09] with 0.13x its stall p99.9, and 1 GiB at 65,536 random
// writes/s snapshots at 0.98 of the idle snapshot (0.34 with K=0). A paced KVM guest is the
// exception: it keeps 0.49 of its rate with K=0 and 0.24 with 512 (its vCPU waits for the run;
// 0.17 before runs were limited to the buffer's free slots, claimed_runs.h FaultAroundCounts).
constexpr unsigned kDefaultFaultAroundPages = 512;
constexpr unsigned kMaxFaultAroundPages = 512;

inline void ReadFaultAround(OptionReader& r, unsigned* faultAroundPages, CopyOrder* copyOrder) {
  r.count("faultAroundPages", faultAroundPages, 0, kMaxFaultAroundPages);
  r.choice("copyOrder", copyOrder, {{"sequential", CopyOrder::kSequential}, {"hot", CopyOrder::kHot}});
}

}  // namespace cowbench
