// A trial of --fault-around auto's policy (fault_around_policy.h) against a simulated writer (at
// its own pace, or held back by each fault) and copier on a simulated clock: the policy's
// judgements, and the runs the fault path's own claim code (ClaimFaultRuns, claimed_runs.h) takes
// for them, counted for a workload without running one, so a test can check that a lone fault
// copies its own page, that chance clusters of a sparse writer never earn the whole extent and that
// sequential and dense writers do, independent of how loaded the machine is. No copy buffer: a
// fault's limit is never cut to its free slots.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "fault_around_policy.h"
#include "status.h"

namespace cowbench {

struct FaultAroundTrialOptions {
  size_t extents = 0;       // region size, in 2 MiB extents of 4k pages
  double writesPerSec = 0;  // the writers' own pace together, in page writes per second
  double faultCostNs = 0;   // how long each fault holds its writer back besides (its round trip)
  bool sequential = false;  // pages in address order from page 0, else uniformly random
  // With sequential: writers taking turns, each on every writers-th page (page = slot x writers +
  // i, as the workload's threads), writer i starting kTrialWriterLagSlots x i slots on: the
  // writers are in the same extent at different places.
  size_t writers = 1;
  double copierExtentsPerSec = 0;  // the copier's pace, in address order from extent 0
  uint64_t seed = 1;               // of the random writer's pages
  FaultAroundRules rules;          // the policy without some of its rules (before/after comparisons)
};

constexpr size_t kTrialWriterLagSlots = 100;
// How many faults' claims a trial keeps.
constexpr size_t kTrialClaimsKept = 64;

struct FaultAroundTrialResult {
  uint64_t writes = 0;            // writes made until the copier finished
  uint64_t faults = 0;            // writes to a page not yet saved (each a write fault)
  uint64_t denseFaults = 0;       // faults that asked for the whole extent (any rule)
  uint64_t denseExtents = 0;      // extents with at least one such fault
  uint64_t regionHotFaults = 0;   // of the dense faults, those the region rule sent
  uint64_t sequentialFaults = 0;  // of the dense faults, those the sequential rule sent
  uint64_t faultPathPages = 0;    // pages copied on the fault path (the faulting ones included)
  // Pages claimed by each of the first `claimsKept` faults, in order.
  std::array<uint32_t, kTrialClaimsKept> firstClaims{};
  size_t claimsKept = 0;
};

// Runs the trial; EINVAL for a size or pace that is not positive and finite.
Status RunFaultAroundTrial(const FaultAroundTrialOptions& o, FaultAroundTrialResult* out);

}  // namespace cowbench
