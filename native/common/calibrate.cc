#include "calibrate.h"
#include "page.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clock.h"
#include "fd.h"
#include "region.h"
#include "sink.h"

namespace cowbench {
namespace {

Status MapAnon(size_t bytes, Mapping* out) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status::Sys("calibrate: mmap", "mmap", errno);
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  *out = Mapping(p, bytes);
  return Status::Ok();
}

}  // namespace

Status Calibrate(size_t bytes, const std::string& dir, Calibration* out) {
  // Page-fault cost: first touch of every page of a fresh mapping.
  const size_t faultBytes = 64u << 20;
  Mapping fresh;
  Status st = MapAnon(faultBytes, &fresh);
  if (!st.ok()) return st;
  uint64_t t0 = NowNs();
  for (size_t off = 0; off < faultBytes; off += kPageSize) fresh.data()[off] = 1;
  out->pageFaultNs = static_cast<double>(NowNs() - t0) / (faultBytes / kPageSize);

  // memcpy bandwidth: a populated source and destination, copied twice, the faster kept.
  const size_t copyBytes = 256u << 20;
  Mapping src, dst;
  if (!(st = MapAnon(copyBytes, &src)).ok() || !(st = MapAnon(copyBytes, &dst)).ok()) return st;
  std::memset(src.data(), 0x5a, copyBytes);
  std::memset(dst.data(), 0, copyBytes);
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 2; ++i) {
    t0 = NowNs();
    std::memcpy(dst.data(), src.data(), copyBytes);
    best = std::min(best, NowNs() - t0);
  }
  out->memcpyBytesPerSec = copyBytes / (best / 1e9);

  if (dir.empty()) return Status::Ok();
  // Sink bandwidth: the same writer the snapshots use, on a filled region of the same size.
  Region region;
  if (!(st = region.create(bytes, false, FillMode::kAll)).ok()) return st;
  Sink sink;
  if (!(st = sink.open(dir + "/calibrate.img")).ok()) return st;
  t0 = NowNs();
  st = PlainCopy(region.base(), region.bytes(), sink);
  const uint64_t ns = NowNs() - t0;
  sink.discard();
  if (!st.ok()) return st;
  out->sinkBytes = bytes;
  out->sinkBytesPerSec = bytes / (ns / 1e9);
  return Status::Ok();
}

}  // namespace cowbench
