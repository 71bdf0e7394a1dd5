// Options of the mprotect backend: the same keys, in the same order, as src/backends/mprotect.ts declares.
#pragma once

#include "../common/copy_path_options.h"
#include "../common/options.h"

namespace cowbench {

struct MprotectOptions {
  CopyPathOptions copyPath;  // --drain-wake, --fault-around, --copy-order: the shared fault path's

  void read(OptionReader& r) { copyPath.read(r); }
};

}  // namespace cowbench
