// Same-run calibration figures: what this machine does without any snapshot, so every timing can
// also be reported as a ratio that survives a change of machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"

namespace cowbench {

struct Calibration {
  double memcpyBytesPerSec = 0;  // one thread copying a buffer larger than the caches
  double pageFaultNs = 0;        // first write to a fresh anonymous 4 KiB page
  double sinkBytesPerSec = 0;    // plain sequential write of `sinkBytes` to a file in `dir`
  uint64_t sinkBytes = 0;
};

// `dir` empty: skip the sink measurement.
Status Calibrate(size_t bytes, const std::string& dir, Calibration* out);

}  // namespace cowbench
