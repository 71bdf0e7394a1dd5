#include "region.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "compat.h"

#include "stamp.h"

namespace cowbench {

Status Region::create(size_t bytes, bool hugepage, FillMode fill) {
  if (bytes == 0 || bytes % kPageSize != 0)
    return Status::Fail("EINVAL", "region size must be a non-zero multiple of 4 KiB");
  if (hugepage && bytes % kHugePageSize != 0)
    return Status::Fail("EINVAL", "a hugepage region must be a multiple of 2 MiB");
  // Under an address-space limit (RLIMIT_AS) the region must leave room for node itself: with
  // a few MiB left, V8 or ICU fails an allocation later and node aborts where nothing can catch
  // it. Holding a PROT_NONE reserve while the region is mapped keeps kNodeHeadroom free after.
  struct rlimit as {};
  const bool limited = ::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
  const std::string advice = limited ? "the address-space limit (ulimit -v) is " + std::to_string(as.rlim_cur >> 20) +
                                           " MiB and " + std::to_string(kNodeHeadroom >> 20) +
                                           " MiB of it is kept for node itself; raise the limit or use a smaller --size"
                                     : "";
  Mapping reserve;
  if (limited) {
    void* r = ::mmap(nullptr, kNodeHeadroom, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
      return Status::Sys("region: mmap of node's " + std::to_string(kNodeHeadroom >> 20) + " MiB headroom", "mmap",
                         errno, advice);
    reserve = Mapping(r, kNodeHeadroom);
  }
  // Over-allocate to align the region to 2 MiB so THP can back it.
  size_t mapBytes = bytes + (hugepage ? kHugePageSize : 0);
  void* addr = ::mmap(nullptr, mapBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED)
    return Status::Sys("region: mmap of " + std::to_string(bytes) + " bytes", "mmap", errno, advice);
  reserve.reset();
  char* base = static_cast<char*>(addr);
  if (hugepage) {
    uintptr_t aligned = (reinterpret_cast<uintptr_t>(base) + kHugePageSize - 1) & ~(kHugePageSize - 1);
    size_t head = aligned - reinterpret_cast<uintptr_t>(base);
    if (head) ::munmap(base, head);
    size_t tail = mapBytes - head - bytes;
    if (tail) ::munmap(reinterpret_cast<char*>(aligned) + bytes, tail);
    base = reinterpret_cast<char*>(aligned);
    if (::madvise(base, bytes, MADV_HUGEPAGE) != 0) {
      int err = errno;
      ::munmap(base, bytes);
      return Status::Sys("region: madvise(MADV_HUGEPAGE)", "madvise", err,
                         "transparent hugepages are unavailable; run without --hugepage");
    }
  } else {
    // Keep 4 KiB regions 4 KiB: the measurement must not change with the THP sysfs mode.
    ::madvise(base, bytes, MADV_NOHUGEPAGE);
  }
  map_ = Mapping(base, bytes);
  hugepage_ = hugepage;
  fill_ = fill;
  size_t n = pages();
  constexpr size_t kPagesPerCheck = kHugePageSize / kPageSize;
  for (size_t p = 0; p < n; ++p) {
    if (p % kPagesPerCheck == 0 && cancelCreate_.load(std::memory_order_relaxed)) {
      map_.reset();
      return Status::Fail("EABORTED",
                          "region: the fill was aborted at page " + std::to_string(p) + " of " + std::to_string(n));
    }
    if (initialVersion(p) != 0) WriteStamp(base + p * kPageSize, static_cast<uint32_t>(p), 1);
  }
  return Status::Ok();
}

size_t Region::pages() const { return map_.size() / kPageSize; }

uint32_t Region::initialVersion(size_t page) const {
  switch (fill_) {
    case FillMode::kAll:
      return 1;
    case FillMode::kNone:
      return 0;
    case FillMode::kHalf:
      return (page & 1) == 0 ? 1 : 0;
  }
  return 1;
}

bool Region::writable(std::string* detail) const {
  const uintptr_t start = reinterpret_cast<uintptr_t>(base()), end = start + bytes();
  size_t readOnlyVmas = 0, vmas = 0;
  if (FILE* maps = std::fopen("/proc/self/maps", "re")) {
    char line[512];
    while (std::fgets(line, sizeof line, maps)) {
      uintptr_t lo = 0, hi = 0;
      char perms[8] = {};
      if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi, perms) != 3) continue;
      if (hi <= start || lo >= end) continue;
      ++vmas;
      if (perms[1] != 'w') ++readOnlyVmas;
    }
    std::fclose(maps);
  }
  size_t wpPages = 0;
  int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm >= 0) {
    UniqueFd pagemap(pm);
    std::vector<uint64_t> entries(4096);
    for (size_t p = 0; p < pages(); p += entries.size()) {
      const size_t n = std::min(entries.size(), pages() - p);
      const off_t off = static_cast<off_t>((start / kPageSize + p) * 8);
      if (::pread(pm, entries.data(), n * 8, off) != static_cast<ssize_t>(n * 8)) break;
      for (size_t i = 0; i < n; ++i)
        if (entries[i] & COWBENCH_PM_UFFD_WP) ++wpPages;
    }
  }
  if (detail) {
    *detail = std::to_string(vmas) + " VMA(s), " + std::to_string(readOnlyVmas) + " without write permission; " +
              std::to_string(wpPages) + " page(s) still uffd write-protected";
  }
  return vmas > 0 && readOnlyVmas == 0 && wpPages == 0;
}

}  // namespace cowbench
