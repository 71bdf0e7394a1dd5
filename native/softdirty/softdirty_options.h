// Options of the softdirty backend: the same keys, in the same order, as src/backends/softdirty.ts.
#pragma once

#include <cstdint>

#include "../common/options.h"

namespace cowbench {

enum class Engine { kAuto, kClearRefs, kWpAsync };  // auto: the first that works, best first

struct SoftdirtyOptions {
  Engine engine = Engine::kAuto;
  uint64_t finalDirtyPages = 256;  // stop pre-copy below this many dirty pages
  unsigned maxPasses = 8;          // pre-copy passes before the forced final stop

  void read(OptionReader& r) {
    r.choice("engine", &engine,
             {{"auto", Engine::kAuto}, {"clear-refs", Engine::kClearRefs}, {"wp-async", Engine::kWpAsync}});
    r.count("finalDirtyPages", &finalDirtyPages, 0, uint64_t{1} << 40);
    r.count("maxPasses", &maxPasses, 1, 1000);
  }
};

}  // namespace cowbench
