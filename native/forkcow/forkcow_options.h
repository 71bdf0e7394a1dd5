// Options of the forkcow backend: none beyond the shared ones (src/backends/forkcow.ts).
#pragma once

#include "../common/options.h"

namespace cowbench {

struct ForkcowOptions {
  void read(OptionReader&) {}
};

}  // namespace cowbench
