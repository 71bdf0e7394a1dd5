// The --drain-wake option, read by every backend whose faults fill a copy buffer (uffd, its SIGBUS
// delivery, mprotect).
#pragma once

#include "copy_buffer.h"
#include "options.h"

namespace cowbench {

inline void ReadDrainWake(OptionReader& r, DrainWake* out) {
  r.choice("drainWake", out, {{"early", DrainWake::kEarly}, {"late", DrainWake::kLate}, {"batch", DrainWake::kBatch}});
}

}  // namespace cowbench
