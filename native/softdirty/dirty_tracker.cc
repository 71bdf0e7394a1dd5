#include "dirty_tracker.h"

#include "clear_refs_tracker.h"
#include "wp_async_tracker.h"

namespace cowbench {

void AppendRun(std::vector<PageRun>* runs, uint64_t first, uint64_t count) {
  if (count == 0) return;
  if (!runs->empty() && runs->back().first + runs->back().count == first) {
    runs->back().count += count;
    return;
  }
  runs->push_back({first, count});
}

uint64_t CountPages(const std::vector<PageRun>& runs) {
  uint64_t n = 0;
  for (const auto& r : runs) n += r.count;
  return n;
}

Status CreateDirtyTracker(const std::string& engine, size_t scanVecLen, std::unique_ptr<DirtyTracker>* out) {
  if (engine == "wp-async") {
    *out = std::make_unique<WpAsyncTracker>(scanVecLen);
    return Status::Ok();
  }
  if (engine == "clear-refs") {
    *out = std::make_unique<ClearRefsTracker>();
    return Status::Ok();
  }
  return Status::Fail("EINVAL", "softdirty: unknown engine '" + engine + "' (wp-async, clear-refs, auto)");
}

}  // namespace cowbench
