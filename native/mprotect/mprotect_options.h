// Options of the mprotect backend: the same keys as src/backends/mprotect.ts declares.
#pragma once

#include "../common/drain_wake.h"
#include "../common/options.h"

namespace cowbench {

struct MprotectOptions {
  DrainWake drainWake = DrainWake::kBatch;

  void read(OptionReader& r) { ReadDrainWake(r, &drainWake); }
};

}  // namespace cowbench
