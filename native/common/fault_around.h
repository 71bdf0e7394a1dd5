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
// sweep (0, 4, 16, 64, 512) on this machine: 1 GiB at 65,536 random writes/s snapshots at 0.90 of
// the idle snapshot of the same round (0.45 with K=0), and unthrottled random writers see the
// lowest write-stall p99.9 (n=5 each; issue 14's note).
constexpr unsigned kDefaultFaultAroundPages = 512;
constexpr unsigned kMaxFaultAroundPages = 512;

inline void ReadFaultAround(OptionReader& r, unsigned* faultAroundPages, CopyOrder* copyOrder) {
  r.count("faultAroundPages", faultAroundPages, 0, kMaxFaultAroundPages);
  r.choice("copyOrder", copyOrder, {{"sequential", CopyOrder::kSequential}, {"hot", CopyOrder::kHot}});
}

}  // namespace cowbench
