#include "mprotect_backend.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "../common/claimed_runs.h"
#include "../common/fault_signals.h"
#include "../common/fd.h"

namespace cowbench {
namespace {

constexpr int kReadWrite = PROT_READ | PROT_WRITE;

long ReadMaxMapCount() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

}  // namespace

long CountMappings() {
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  UniqueFd maps(fd);
  char buf[1 << 16];
  long lines = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    lines += std::count(buf, buf + n, '\n');
  }
  return lines;
}

MprotectBackend::~MprotectBackend() {
  signal_.stop();
  path_.stop();
}

Status MprotectBackend::prepare(SnapshotContext& ctx) {
  base_ = ctx.region.base();
  bytes_ = ctx.region.bytes();
  granule_ = ctx.options.granularityBytes;
  maxMapCount_ = ReadMaxMapCount();
  ctx.metrics.extra["max_map_count"] = static_cast<double>(maxMapCount_);

  Status st = path_.start(ctx, base_, bytes_, granule_, options_.copyPath);
  if (st.ok()) st = signal_.start(SIGSEGV, base_, bytes_, granule_, &path_, &MprotectBackend::Reenable, this);
  if (!st.ok()) return st;
  sampleVmaCount(ctx);
  return Status::Ok();
}

Status MprotectBackend::arm(SnapshotContext& ctx) {
  signal_.arm();
  if (::mprotect(base_, bytes_, PROT_READ) != 0) {
    const int err = errno;
    signal_.disarm();
    ::mprotect(base_, bytes_, kReadWrite);
    if (err == ENOMEM) return vmaLimitStatus("write-protecting the region", err, 0, bytes_);
    return Status::Sys("mprotect: mprotect(PROT_READ) of the region", "mprotect", err);
  }
  return Status::Ok();
}

// Re-enables writes on a page the fault path saved (signal context: a raw syscall).
int MprotectBackend::Reenable(void* /*self*/, char* addr, size_t len) {
  return ::mprotect(addr, len, kReadWrite) == 0 ? 0 : errno;
}

Status MprotectBackend::vmaLimitStatus(const std::string& what, int err, uint64_t offset, size_t len) {
  const long now = CountMappings();
  std::string msg =
      "mprotect: " + what + " (" + std::to_string(len) + " bytes at offset " + std::to_string(offset) + ")";
  return Status::Sys(msg, "mprotect", err,
                     "the process ran out of memory mappings: every page re-enabled ahead of the copier splits the "
                     "region's mapping, and the count reached vm.max_map_count=" +
                         std::to_string(maxMapCount_) + " (" + std::to_string(now) +
                         " mappings after recovery); the snapshot is abandoned, the whole region is writable again "
                         "and writers continue. Raise vm.max_map_count, use --granularity 2m, or use --backend uffd");
}

Status MprotectBackend::recordedFailure(SnapshotContext& ctx) {
  if (signal_.failure() != SignalCopyPath::kUnprotect) return signal_.bufferFailure("mprotect");
  const int err = signal_.failureErrno();
  if (err == ENOMEM)
    return vmaLimitStatus("re-enabling writes on a faulting page", err, signal_.failureOffset(), granule_);
  return Status::Sys(
      "mprotect: re-enabling writes on a faulting page at offset " + std::to_string(signal_.failureOffset()),
      "mprotect", err);
}

void MprotectBackend::sampleVmaCount(SnapshotContext& ctx) {
  const uint64_t t0 = NowNs();
  const long n = CountMappings();
  if (n > 0) vmaPeak_ = std::max<uint64_t>(vmaPeak_, static_cast<uint64_t>(n));
  ++vmaSamples_;
  vmaSampleNs_ += NowNs() - t0;
}

void MprotectBackend::unprotectAll() {
  signal_.disarm();
  // Unchecked on purpose: making the whole region writable only merges mappings (its ends are
  // already mapping boundaries), so it cannot hit ENOMEM; there is no better recovery to try.
  ::mprotect(base_, bytes_, kReadWrite);
}

Status MprotectBackend::copy(SnapshotContext& ctx) {
  // Test-only stall: a failure in the fault path meanwhile must release writers by itself.
  if (ctx.options.inject.copierDelayUs)
    std::this_thread::sleep_for(std::chrono::microseconds(ctx.options.inject.copierDelayUs));
  const size_t granules = path_.granules();
  const size_t perExtent = std::max<size_t>(1, kExtentBytes / granule_);
  // Reading /proc/self/maps walks every mapping: sample at most ~10% of the copier's time.
  uint64_t nextSampleNs = 0;
  size_t visited = 0;
  path_.copierStarted();
  ForEachExtent((granules + perExtent - 1) / perExtent, path_.hotExtents(), [&](size_t e) {
    path_.copierAt(e, visited++);
    if (ctx.cancelled()) return false;
    Status failed = recordedFailure(ctx);
    if (!failed.ok()) {
      ctx.fail(failed);
      return false;
    }
    const uint64_t now = NowNs();
    if (now >= nextSampleNs) {
      const uint64_t t0 = now;
      sampleVmaCount(ctx);
      nextSampleNs = NowNs() + std::max<uint64_t>(20000000, 10 * (NowNs() - t0));
    }
    const size_t g = e * perExtent, end = std::min(granules, g + perExtent);
    Status st = CopyClaimedRuns(
        ctx, base_, bytes_, granule_, g, end, [this](size_t i) { return path_.claim(i); },
        [this](size_t off, size_t len) {
          if (::mprotect(base_ + off, len, kReadWrite) == 0) return Status::Ok();
          const int err = errno;
          signal_.fail(SignalCopyPath::kUnprotect, err, off);  // records it; region writable
          return err == ENOMEM ? vmaLimitStatus("re-enabling writes on a saved run", err, off, len)
                               : Status::Sys("mprotect: re-enabling writes on a saved run", "mprotect", err);
        });
    if (!st.ok()) ctx.fail(st);
    return true;
  });
  sampleVmaCount(ctx);
  // After a failure, runs this copier claimed were never re-enabled: release the writers first.
  if (ctx.cancelled()) unprotectAll();
  // Every granule is claimed now; wait for handlers still copying the ones they claimed.
  path_.waitIdle();
  Status failed = recordedFailure(ctx);
  if (!failed.ok()) ctx.fail(failed);
  Status st = path_.flush();
  if (!st.ok()) ctx.fail(st);
  if (ctx.cancelled()) unprotectAll();
  return ctx.firstError();
}

void MprotectBackend::release(SnapshotContext& ctx) {
  if (base_) unprotectAll();
  signal_.stop();
  path_.stop();
  if (base_) sampleVmaCount(ctx);
  path_.reportTo(ctx.metrics);
  ctx.metrics.vmaCountPeak = vmaPeak_;
  if (signal_.failure() == SignalCopyPath::kUnprotect && signal_.failureErrno() == ENOMEM) {
    // mprotect's ENOMEM on a split means the count stood at the limit: samples may miss it.
    ctx.metrics.vmaCountPeak = std::max<uint64_t>(vmaPeak_, static_cast<uint64_t>(std::max(0L, maxMapCount_)));
    ctx.metrics.extra["vma_limit_hit"] = 1;
  }
  ctx.metrics.extra["vma_samples"] = static_cast<double>(vmaSamples_);
  ctx.metrics.extra["vma_sampling_ms"] = static_cast<double>(vmaSampleNs_) / 1e6;
}

}  // namespace cowbench
