// The monotonic clock every native timing reads. Async-signal-safe (clock_gettime).
#pragma once

#include <time.h>

#include <cstdint>

namespace cowbench {

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace cowbench
