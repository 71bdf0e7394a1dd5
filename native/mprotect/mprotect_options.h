// Options of the mprotect backend: the same keys, in the same order, as src/backends/mprotect.ts declares.
#pragma once

#include "../common/drain_wake.h"
#include "../common/fault_around.h"
#include "../common/options.h"

namespace cowbench {

struct MprotectOptions {
  DrainWake drainWake = DrainWake::kBatch;
  unsigned faultAroundPages = kDefaultFaultAroundPages;  // --fault-around (common/fault_around.h)
  CopyOrder copyOrder = CopyOrder::kSequential;

  void read(OptionReader& r) {
    ReadDrainWake(r, &drainWake);
    ReadFaultAround(r, &faultAroundPages, &copyOrder);
  }
};

}  // namespace cowbench
