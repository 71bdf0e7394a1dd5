// The page sizes: the base page every region, stamp and pagemap entry is counted in, and the
// transparent hugepage (PMD) size a --hugepage region and --granularity 2m use.
#pragma once

#include <cstddef>

namespace cowbench {

constexpr size_t kPageSize = 4096;
constexpr size_t kHugePageSize = size_t{2} << 20;

}  // namespace cowbench
