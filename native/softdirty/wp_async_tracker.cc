#include "wp_async_tracker.h"
#include "../common/page.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "../common/clock.h"
#include "../common/probe.h"
#include "../common/userfaultfd.h"

namespace cowbench {

Status WpAsyncTracker::open(char* base, size_t bytes) {
  base_ = base;
  bytes_ = bytes;
  ProbeResult scan = ProbePagemapScan();
  if (!scan.ok)
    return Status::Fail("EUNSUPPORTED", "softdirty wp-async: the PAGEMAP_SCAN ioctl does not work here (" +
                                            scan.detail + "); it needs Linux 6.7+");
  // WP_ASYNC: a write to a protected page is resolved by the kernel itself (no message, no
  // handler thread); WP_UNPOPULATED: untouched pages can be protected too (no pre-fault).
  const uint64_t wanted = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
  Status st = OpenUserfaultfd(wanted, nullptr, &uffd_);
  if (!st.ok()) {
    if (st.code == "EUNSUPPORTED")
      st.message =
          "softdirty wp-async: the kernel lacks UFFD_FEATURE_WP_ASYNC / UFFD_FEATURE_WP_UNPOPULATED "
          "(Linux 6.7+): " +
          st.message;
    return st;
  }
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Sys("softdirty wp-async: open /proc/self/pagemap", "open", errno);
  pagemap_.reset(fd);

  return RegisterWriteProtect(uffd_.get(), base_, bytes_, "softdirty wp-async", &registered_);
}

Status WpAsyncTracker::writeProtectPages(uint64_t first, uint64_t count, bool protect) {
  if (first > bytes_ / kPageSize || count > bytes_ / kPageSize - first)
    return Status::Fail("EINVAL", "softdirty wp-async: write-protect range outside the region");
  const int err = UffdWriteProtect(uffd_.get(), base_ + first * kPageSize, count * kPageSize, protect);
  if (err == 0) return Status::Ok();
  return Status::Sys(
      std::string("softdirty wp-async: UFFDIO_WRITEPROTECT(") + (protect ? "protect" : "unprotect") + ")", "ioctl",
      err);
}

Status WpAsyncTracker::start() { return writeProtectPages(0, bytes_ / kPageSize, true); }

Status WpAsyncTracker::collect(std::vector<PageRun>* runs, ScanStats* stats) {
  const uint64_t base = reinterpret_cast<uint64_t>(base_);
  const uint64_t end = base + bytes_;
  const uint64_t t0 = NowNs();
  uint64_t from = base;
  while (from < end) {
    // Written pages only; WP_MATCHING write-protects each reported page again under the page
    // table lock, so a write either lands before (reported now) or after (reported next time).
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
    arg.start = from;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(vec_.data());
    arg.vec_len = vec_.size();
    arg.category_mask = PAGE_IS_WRITTEN;
    arg.return_mask = PAGE_IS_WRITTEN;
    long n = ::ioctl(pagemap_.get(), PAGEMAP_SCAN, &arg);
    if (n < 0) return Status::Sys("softdirty wp-async: ioctl(PAGEMAP_SCAN)", "ioctl", errno);
    ++stats->calls;
    stats->regions += static_cast<uint64_t>(n);
    uint64_t lastEnd = from;
    for (long i = 0; i < n; ++i) {
      const page_region& r = vec_[static_cast<size_t>(i)];
      if (r.start < from || r.end > end || r.start >= r.end || (r.start | r.end) % kPageSize != 0)
        return Status::Fail("ESYS", "softdirty wp-async: PAGEMAP_SCAN returned a region outside the scanned range");
      AppendRun(runs, (r.start - base) / kPageSize, (r.end - r.start) / kPageSize);
      lastEnd = r.end;
    }
    // The kernel walks in PMD-sized steps through an internal buffer of 512 regions. When the
    // caller's vector did not fill, the walk reached `end` and the scan is complete, even
    // though a walk that returned more than 512 regions can report walk_end short of `end`
    // (seen on 6.18): resuming from it would scan again and, with writers running, report
    // pages twice in one pass. Only a full vector means "continue", from past both what was
    // walked and what was returned.
    if (static_cast<size_t>(n) < vec_.size()) {
      if (arg.walk_end < end) ++stats->walkEndShort;
      break;
    }
    const uint64_t next = std::max<uint64_t>(arg.walk_end, lastEnd);
    if (next <= from)
      return Status::Fail("ESYS", "softdirty wp-async: PAGEMAP_SCAN made no progress (walk_end did not advance)");
    from = next;
  }
  stats->ns += NowNs() - t0;
  return Status::Ok();
}

Status WpAsyncTracker::close() {
  Status result;
  if (registered_) {
    // Leave no page protected, then stop tracking; with WP_ASYNC no writer can be blocked.
    Status st = writeProtectPages(0, bytes_ / kPageSize, false);
    if (!st.ok()) result = st;
    uffdio_range range{reinterpret_cast<uint64_t>(base_), bytes_};
    if (::ioctl(uffd_.get(), UFFDIO_UNREGISTER, &range) != 0 && result.ok())
      result = Status::Sys("softdirty wp-async: UFFDIO_UNREGISTER", "ioctl", errno);
    registered_ = false;
  }
  uffd_.reset();
  pagemap_.reset();
  return result;
}

}  // namespace cowbench
