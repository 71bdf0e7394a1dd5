// The options of the copy-before-write fault path (common/fault_path.h), shared by every backend
// whose write faults copy before the write: uffd (both deliveries) and mprotect. One struct, read
// once when the backend is created and held by each backend's options struct; its keys are
// src/backends/shared-options.ts's copy-path declarations, in the same order.
#pragma once

#include <cstddef>

#include "options.h"

namespace cowbench {

// When a fault handler wakes the copy buffer's drain thread (--drain-wake): before the faulting
// writer is released (early), after it (late), or once per kDrainWakeBatch queued pages (batch; a
// full buffer and the final flush wake it too). Off the writer's path, the wake-up of a sleeping
// drain on another CPU (a cross-CPU IPI, costly under nested virtualisation) stops adding to each
// fault. Batch is the default from the latency suite's drain-wake rows
// (results/2026-12-01-vm-latency-quick).
enum class DrainWake { kEarly, kLate, kBatch };
constexpr size_t kDrainWakeBatch = 32;
// The CopyBuffer::kick() threshold for a mode that does not wake at push time.
inline size_t DrainKickMin(DrainWake w) { return w == DrainWake::kBatch ? kDrainWakeBatch : 1; }

// The copier's order: address order, or the 2 MiB extents where faults were served most recently
// first (common/claimed_runs.h's HotExtents).
enum class CopyOrder { kSequential, kHot };

// A write fault copies up to this many not-yet-saved granules of its 2 MiB extent, the faulting
// one included, and un-protects them with one call; 0: only it. The default is auto
// (common/fault_around_policy.h): the whole extent while the region faults fast, where the writer
// goes forward or where the extent is dense, else the faulting granule alone; a fixed K overrides
// it. No fixed K suits every writer (the K sweeps in
// results/2026-12-01-vm-targets and results/2026-12-02-vm-kvm-native: 512 for unthrottled CPU
// writers, 0 for a paced KVM guest).
constexpr unsigned kMaxFaultAroundPages = 512;

struct CopyPathOptions {
  DrainWake drainWake = DrainWake::kBatch;           // --drain-wake
  bool faultAroundAuto = true;                       // --fault-around auto
  unsigned faultAroundPages = kMaxFaultAroundPages;  // --fault-around K (the most auto takes)
  CopyOrder copyOrder = CopyOrder::kSequential;      // --copy-order

  void read(OptionReader& r) {
    r.choice("drainWake", &drainWake,
             {{"early", DrainWake::kEarly}, {"late", DrainWake::kLate}, {"batch", DrainWake::kBatch}});
    r.countOrWord("faultAroundPages", &faultAroundPages, 0, kMaxFaultAroundPages, "auto", &faultAroundAuto);
    r.choice("copyOrder", &copyOrder, {{"sequential", CopyOrder::kSequential}, {"hot", CopyOrder::kHot}});
  }
};

}  // namespace cowbench
