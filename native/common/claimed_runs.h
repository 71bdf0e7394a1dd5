// The copier's inner loop, shared by the copy-before-write backends.
#pragma once

#include <algorithm>
#include <cstddef>

#include "backend.h"

namespace cowbench {

// Copies granules [first, end) to the sink: every maximal run of granules that `claim(i)` grants
// this copier is written straight from the (still protected) region, then `release(off, len)`
// re-enables writes on exactly that run. Granules claimed by a fault handler are skipped.
template <typename Claim, typename Release>
Status CopyClaimedRuns(SnapshotContext& ctx, const char* base, size_t bytes, size_t granule, size_t first,
                       size_t end, Claim&& claim, Release&& release) {
  size_t runStart = first;
  for (size_t i = first; i <= end; ++i) {
    if (i < end && claim(i)) continue;
    if (i > runStart) {
      const size_t off = runStart * granule;
      const size_t len = std::min(i * granule, bytes) - off;
      Status st = ctx.sink.writeAt(base + off, len, off);
      if (st.ok()) st = release(off, len);
      if (!st.ok()) return st;
      ctx.addCopied(len);
    }
    runStart = i + 1;
  }
  return Status::Ok();
}

}  // namespace cowbench
