#include "softdirty_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../common/fd.h"
#include "../common/stamp.h"

namespace cowbench {
namespace {

constexpr size_t kCopyChunkBytes = 2u << 20;  // one pwrite of pass 0

// The union of two page-ordered run lists, in page order.
std::vector<PageRun> MergeRuns(const std::vector<PageRun>& a, const std::vector<PageRun>& b) {
  std::vector<PageRun> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end(), [](const PageRun& x, const PageRun& y) { return x.first < y.first; });
  std::vector<PageRun> out;
  for (const auto& r : all) {
    if (!out.empty() && r.first <= out.back().first + out.back().count) {
      const uint64_t end = std::max(out.back().first + out.back().count, r.first + r.count);
      out.back().count = end - out.back().first;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace

SoftdirtyBackend::~SoftdirtyBackend() = default;

Status SoftdirtyBackend::openEngine(const std::string& engine) {
  Status st = CreateDirtyTracker(engine, 0, &tracker_);
  if (st.ok()) st = tracker_->open(base_, bytes_);
  if (!st.ok() && tracker_) {
    (void)tracker_->close();
    tracker_.reset();
  }
  return st;
}

Status SoftdirtyBackend::prepare(SnapshotContext& ctx) {
  base_ = ctx.region.base();
  bytes_ = ctx.region.bytes();
  if (ctx.options.granularityBytes != kPageSize)
    return Status::Fail("EINVAL", "softdirty: tracks and copies 4 KiB pages only (--granularity 4k)");
  Status st;
  if (options_.engine == Engine::kAuto) {
    // The first engine that works, best first.
    Status wpAsync = openEngine("wp-async");
    st = wpAsync.ok() ? wpAsync : openEngine("clear-refs");
    if (!st.ok()) {
      st.code = wpAsync.code;
      st.message = "softdirty: no dirty-tracking engine works here: " + wpAsync.message + "; " + st.message;
    }
  } else {
    st = openEngine(options_.engine == Engine::kWpAsync ? "wp-async" : "clear-refs");
  }
  if (!st.ok()) return st;
  ctx.metrics
      .extra[std::string("engine_") + (tracker_->name() == std::string("wp-async") ? "wp_async" : "clear_refs")] = 1;
  return Status::Ok();
}

// Tracking starts before the pause: the image is of the end, so a write between the start of
// tracking and the arm pause is simply tracked; nothing needs the writers held.
Status SoftdirtyBackend::beforeArm(SnapshotContext& ctx) { return tracker_->start(); }

Status SoftdirtyBackend::arm(SnapshotContext& ctx) { return Status::Ok(); }

Status SoftdirtyBackend::collect(SnapshotContext& ctx, std::vector<PageRun>* runs, bool writersHeld) {
  lastScan_ = ScanStats{};
  Status st;
  if (!writersHeld && tracker_->collectNeedsPause()) {
    // Not ctx.stopTheWorld: this pause is no consistency point, but it is writer time lost.
    const uint64_t t0 = NowNs();
    const uint64_t quiesceNs = ctx.workload.quiesce();
    st = tracker_->collect(runs, &lastScan_);
    ctx.workload.resume();
    ctx.metrics.pausesNs.push_back(NowNs() - t0);
    ctx.metrics.quiescesNs.push_back(quiesceNs);
  } else {
    st = tracker_->collect(runs, &lastScan_);
  }
  totalScan_.ns += lastScan_.ns;
  totalScan_.calls += lastScan_.calls;
  totalScan_.regions += lastScan_.regions;
  totalScan_.walkEndShort += lastScan_.walkEndShort;
  return st;
}

Status SoftdirtyBackend::copyRuns(SnapshotContext& ctx, const std::vector<PageRun>& runs) {
  for (const auto& r : runs) {
    uint64_t off = r.first * kPageSize;
    const uint64_t end = (r.first + r.count) * kPageSize;
    while (off < end) {
      if (ctx.cancelled()) return ctx.firstError();
      const size_t len = static_cast<size_t>(std::min<uint64_t>(kCopyChunkBytes, end - off));
      Status st = ctx.sink.writeAt(base_ + off, len, off);
      if (!st.ok()) return st;
      off += len;
    }
  }
  return Status::Ok();
}

void SoftdirtyBackend::recordPass(uint64_t pages, uint64_t scanNs, uint64_t copyNs) {
  pagesPerPass_.push_back(static_cast<double>(pages));
  scanUsPerPass_.push_back(static_cast<double>(scanNs) / 1e3);
  copyMsPerPass_.push_back(static_cast<double>(copyNs) / 1e6);
}

Status SoftdirtyBackend::copy(SnapshotContext& ctx) {
  // Pass 0: every page, writers running. Progress counts this pass; re-copies show in bytes_written.
  uint64_t t0 = NowNs();
  for (size_t off = 0; off < bytes_; off += kCopyChunkBytes) {
    if (ctx.cancelled()) return ctx.firstError();
    const size_t len = std::min(kCopyChunkBytes, bytes_ - off);
    Status st = ctx.sink.writeAt(base_ + off, len, off);
    if (!st.ok()) return st;
    ctx.addCopied(len);
  }
  recordPass(bytes_ / kPageSize, 0, NowNs() - t0);

  // Passes 1..: re-copy what the previous pass let writers dirty, until it is small enough.
  unsigned passes = 1;
  bool converged = false;
  std::vector<PageRun> pending;
  while (passes < std::max(1u, options_.maxPasses)) {
    std::vector<PageRun> dirty;
    Status st = collect(ctx, &dirty, false);
    if (!st.ok()) return st;
    const uint64_t dirtyPages = CountPages(dirty);
    if (dirtyPages < options_.finalDirtyPages) {
      pending = std::move(dirty);  // already clean in the tracker: copied in the final pause
      converged = true;
      break;
    }
    t0 = NowNs();
    st = copyRuns(ctx, dirty);
    if (!st.ok()) return st;
    recordPass(dirtyPages, lastScan_.ns, NowNs() - t0);
    ++passes;
  }

  // The final stop: writers held, the last dirty pages captured, the expected image recorded.
  // A set that fits in --buffer is captured by memcpy into a staging mapping and written to the
  // sink once the writers run again, so the pause costs a memory copy, not file I/O (after a
  // 1 GiB pass 0 the page cache throttles each pwrite). A larger set is written in the pause.
  uint64_t finalPages = 0;
  std::vector<PageRun> last;
  Mapping staging;
  Status st = ctx.stopTheWorld([&]() -> Status {
    std::vector<PageRun> dirty;
    Status s = collect(ctx, &dirty, true);
    if (!s.ok()) return s;
    last = MergeRuns(pending, dirty);
    finalPages = CountPages(last);
    const uint64_t c0 = NowNs();
    const size_t finalBytes = static_cast<size_t>(finalPages) * kPageSize;
    if (finalBytes > 0 && finalBytes <= ctx.options.bufferBytes) {
      void* p = ::mmap(nullptr, finalBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (p == MAP_FAILED) return Status::Sys("softdirty: mmap of the final staging buffer", "mmap", errno);
      staging = Mapping(p, finalBytes);
      char* dst = staging.data();
      for (const auto& r : last) {
        std::memcpy(dst, base_ + r.first * kPageSize, r.count * kPageSize);
        dst += r.count * kPageSize;
      }
    } else {
      s = copyRuns(ctx, last);
    }
    recordPass(finalPages, lastScan_.ns, NowNs() - c0);
    return s;
  });
  if (!st.ok()) return st;
  auto& extra = ctx.metrics.extra;
  extra["final_staged"] = staging.valid() ? 1 : 0;
  if (staging.valid()) {
    const uint64_t w0 = NowNs();
    const char* src = staging.data();
    for (const auto& r : last) {
      st = ctx.sink.writeAt(src, r.count * kPageSize, r.first * kPageSize);
      if (!st.ok()) return st;
      src += r.count * kPageSize;
    }
    ctx.metrics.bufferPeakBytes = staging.size();
    extra["final_write_after_pause_ms"] = static_cast<double>(NowNs() - w0) / 1e6;
  }

  extra["passes"] = passes;  // pre-copy passes with writers running; the series add the final pause
  extra["converged"] = converged ? 1 : 0;
  extra["final_dirty_pages"] = static_cast<double>(finalPages);
  extra["final_pause_us"] = static_cast<double>(ctx.metrics.pausesNs.back()) / 1e3;
  return ctx.firstError();
}

void SoftdirtyBackend::release(SnapshotContext& ctx) {
  if (tracker_) {
    Status st = tracker_->close();
    if (!st.ok()) ctx.fail(st);
  }
  auto& extra = ctx.metrics.extra;
  extra["scan_calls"] = static_cast<double>(totalScan_.calls);
  extra["scan_regions"] = static_cast<double>(totalScan_.regions);
  extra["scan_ms_total"] = static_cast<double>(totalScan_.ns) / 1e6;
  extra["walk_end_short"] = static_cast<double>(totalScan_.walkEndShort);
  ctx.metrics.series["pages_per_pass"] = pagesPerPass_;
  ctx.metrics.series["scan_us_per_pass"] = scanUsPerPass_;
  ctx.metrics.series["copy_ms_per_pass"] = copyMsPerPass_;
}

}  // namespace cowbench
