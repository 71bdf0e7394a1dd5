#include "clear_refs_tracker.h"
#include "../common/page.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "../common/clock.h"
#include "../common/compat.h"
#include "../common/probe.h"

namespace cowbench {
namespace {
constexpr size_t kEntriesPerRead = 65536;  // 512 KiB of pagemap per pread
}  // namespace

void DecodeSoftDirty(const uint64_t* entries, size_t count, uint64_t firstPage, std::vector<PageRun>* runs) {
  for (size_t i = 0; i < count; ++i) {
    if (entries[i] & COWBENCH_PM_SOFT_DIRTY) AppendRun(runs, firstPage + i, 1);
  }
}

Status ClearRefsTracker::open(char* base, size_t bytes) {
  base_ = base;
  bytes_ = bytes;
  // clear_refs accepts "4" even without CONFIG_MEM_SOFT_DIRTY: only behaviour tells.
  ProbeResult probe = checkBehaviour_ ? ProbeSoftDirty() : ProbeResult{"soft_dirty", true, "not checked"};
  if (!probe.ok)
    return Status::Fail("EUNSUPPORTED",
                        "softdirty --engine clear-refs: soft-dirty tracking does not work on this kernel (" +
                            probe.detail +
                            "); it needs a kernel built with CONFIG_MEM_SOFT_DIRTY. Use --engine wp-async "
                            "(userfaultfd async write-protect + PAGEMAP_SCAN, Linux 6.7+) instead");
  int cr = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (cr < 0) return Status::Sys("softdirty clear-refs: open /proc/self/clear_refs", "open", errno);
  clearRefs_.reset(cr);
  int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) return Status::Sys("softdirty clear-refs: open /proc/self/pagemap", "open", errno);
  pagemap_.reset(pm);
  entries_.resize(kEntriesPerRead);
  return Status::Ok();
}

Status ClearRefsTracker::clearRefs() {
  if (::write(clearRefs_.get(), "4", 1) != 1)
    return Status::Sys("softdirty clear-refs: write 4 to /proc/self/clear_refs", "write", errno);
  return Status::Ok();
}

Status ClearRefsTracker::start() { return clearRefs(); }

Status ClearRefsTracker::collect(std::vector<PageRun>* runs, ScanStats* stats) {
  const uint64_t t0 = NowNs();
  const uint64_t firstVirtPage = reinterpret_cast<uint64_t>(base_) / kPageSize;
  const uint64_t pages = bytes_ / kPageSize;
  for (uint64_t page = 0; page < pages;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kEntriesPerRead, pages - page));
    ssize_t got = ::pread(pagemap_.get(), entries_.data(), want * 8, static_cast<off_t>((firstVirtPage + page) * 8));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::Sys("softdirty clear-refs: read /proc/self/pagemap", "pread", errno);
    if (got < 8) return Status::Fail("ESYS", "softdirty clear-refs: /proc/self/pagemap ended inside the region");
    ++stats->calls;
    const size_t n = static_cast<size_t>(got) / 8;
    DecodeSoftDirty(entries_.data(), n, page, runs);
    page += n;
  }
  // The read above and this clear are two steps: the caller holds the writers across both.
  Status st = clearRefs();
  stats->ns += NowNs() - t0;
  return st;
}

Status ClearRefsTracker::close() {
  clearRefs_.reset();
  pagemap_.reset();
  return Status::Ok();
}

}  // namespace cowbench
