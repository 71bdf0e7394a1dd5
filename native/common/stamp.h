// The page stamp every writer leaves: (page index, version) at several offsets of a 4 KiB page,
// so a torn or late copy of a page is detected by verification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "page.h"

namespace cowbench {

constexpr uint32_t kStampMagic = 0xC0BE1C4Bu;
constexpr size_t kStampBytes = 16;
// Offsets written in this order on every write; version 0 means "never written" (all zero).
constexpr size_t kStampOffsets[] = {0, kPageSize / 2, kPageSize - kStampBytes};
constexpr size_t kStampCount = sizeof(kStampOffsets) / sizeof(kStampOffsets[0]);

struct Stamp {
  uint32_t magic;
  uint32_t page;
  uint32_t version;
  uint32_t check;
};
static_assert(sizeof(Stamp) == kStampBytes, "stamp layout");

inline Stamp MakeStamp(uint32_t page, uint32_t version) {
  return Stamp{kStampMagic, page, version, kStampMagic ^ (page * 2654435761u) ^ version};
}

// Stores the stamp at every offset of the page at `base` (volatile: each store really happens).
inline void WriteStamp(char* base, uint32_t page, uint32_t version) {
  Stamp s = MakeStamp(page, version);
  for (size_t off : kStampOffsets) {
    volatile uint64_t* dst = reinterpret_cast<volatile uint64_t*>(base + off);
    uint64_t words[2];
    std::memcpy(words, &s, sizeof words);
    dst[0] = words[0];
    dst[1] = words[1];
  }
}

// The version a page image carries: 0 for all-zero stamps (never written), -1 for torn or
// foreign stamps. Callers compare it against the expected version.
inline int64_t ReadStampVersion(const char* page, uint32_t pageIndex) {
  Stamp first;
  std::memcpy(&first, page + kStampOffsets[0], sizeof first);
  for (size_t i = 1; i < kStampCount; ++i) {
    if (std::memcmp(page + kStampOffsets[i], &first, sizeof first) != 0) return -1;
  }
  if (first.magic == 0 && first.page == 0 && first.version == 0 && first.check == 0) return 0;
  Stamp want = MakeStamp(pageIndex, first.version);
  if (std::memcmp(&want, &first, sizeof first) != 0) return -1;
  return first.version;
}

}  // namespace cowbench
