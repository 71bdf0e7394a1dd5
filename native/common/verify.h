// Point-in-time verification: every page of the image must carry exactly the version the page
// had at the consistency point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace cowbench {

struct BadPage {
  uint64_t page;
  uint32_t expected;
  int64_t found;  // -1: torn or foreign stamps; -2: missing (past the end of a short image)
};

struct VerifyResult {
  uint64_t checkedPages = 0;
  uint64_t badPages = 0;
  std::vector<BadPage> firstBad;  // at most kMaxReported
  uint64_t checksum = 0;          // FNV-1a 64 over the image's 64-bit words
  static constexpr size_t kMaxReported = 64;
};

Status VerifyImage(const std::string& path, const std::vector<uint32_t>& expected, VerifyResult* out);

}  // namespace cowbench
