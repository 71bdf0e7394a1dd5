// The memory under snapshot: one anonymous private mapping, optionally MADV_HUGEPAGE, filled
// with version-1 stamps (or left sparse: untouched pages read as zero, version 0).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fd.h"
#include "status.h"

#include "page.h"

namespace cowbench {

enum class FillMode { kAll, kNone, kHalf };

class Region {
 public:
  static constexpr size_t kHugePageSize = cowbench::kHugePageSize;
  // Address space left free after the region under RLIMIT_AS, for node's heap, ICU and stacks
  // (measured: with under 8 MiB left, node aborts in V8 or ICU).
  static constexpr size_t kNodeHeadroom = size_t{64} << 20;

  // Maps `bytes` (a multiple of 4 KiB; of 2 MiB when hugepage) and fills it. EABORTED (and
  // nothing mapped) once cancelCreate() was called: the fill checks it every 2 MiB.
  Status create(size_t bytes, bool hugepage, FillMode fill);
  // From another thread: stop a create() in progress (an AbortSignal during a long fill).
  void cancelCreate() { cancelCreate_.store(true, std::memory_order_relaxed); }

  char* base() const { return map_.data(); }
  size_t bytes() const { return map_.size(); }
  size_t pages() const;
  // Unmaps the region now (writers and backends must be done with it).
  void release() { map_.reset(); }
  bool hugepage() const { return hugepage_; }
  // Version each page holds right after fill (1 filled, 0 untouched).
  uint32_t initialVersion(size_t page) const;
  // Whether every page is writable again: no VMA of the region without PROT_WRITE
  // (/proc/self/maps) and no page still userfaultfd write-protected (pagemap bit 57).
  // `detail` says what was found.
  bool writable(std::string* detail) const;

 private:
  Mapping map_;
  bool hugepage_ = false;
  FillMode fill_ = FillMode::kAll;
  std::atomic<bool> cancelCreate_{false};
};

}  // namespace cowbench
