#include "scan_micro.h"

#include "../common/stamp.h"

namespace cowbench {

Status ScanMicro::open(size_t pages) {
  if (pages == 0 || pages > 65536) return Status::Fail("EINVAL", "scan micro: pages must be within 1..65536");
  if (open_) return Status::Fail("EINVAL", "scan micro: already open");
  Status st = wpRegion_.create(pages * kPageSize, false, FillMode::kAll);
  if (st.ok()) st = crRegion_.create(pages * kPageSize, false, FillMode::kAll);
  if (st.ok()) st = wp_.open(wpRegion_.base(), wpRegion_.bytes());
  if (st.ok()) st = wp_.start();
  if (st.ok()) st = cr_.open(crRegion_.base(), crRegion_.bytes());
  if (st.ok()) st = cr_.start();
  open_ = true;  // close() undoes whatever part succeeded
  if (!st.ok()) (void)close();
  return st;
}

Status ScanMicro::writeProtectPair(size_t page) {
  if (!open_) return Status::Fail("EINVAL", "scan micro: not open");
  Status st = wp_.writeProtectPages(page, 1, true);
  return st.ok() ? wp_.writeProtectPages(page, 1, false) : st;
}

Status ScanMicro::touch(size_t count) {
  if (!open_) return Status::Fail("EINVAL", "scan micro: not open");
  if (count > wpRegion_.pages()) return Status::Fail("EINVAL", "scan micro: touch beyond the region");
  ++version_;
  for (size_t p = 0; p < count; ++p) WriteStamp(wpRegion_.base() + p * kPageSize, static_cast<uint32_t>(p), version_);
  return Status::Ok();
}

Status ScanMicro::pagemapScan(uint64_t* pages) {
  if (!open_) return Status::Fail("EINVAL", "scan micro: not open");
  runs_.clear();
  ScanStats stats;
  Status st = wp_.collect(&runs_, &stats);
  *pages = CountPages(runs_);
  return st;
}

Status ScanMicro::clearRefsPass(uint64_t* pages) {
  if (!open_) return Status::Fail("EINVAL", "scan micro: not open");
  runs_.clear();
  ScanStats stats;
  Status st = cr_.collect(&runs_, &stats);
  *pages = CountPages(runs_);
  return st;
}

Status ScanMicro::close() {
  if (!open_) return Status::Ok();
  open_ = false;
  Status wp = wp_.close();
  Status cr = cr_.close();
  wpRegion_.release();
  crRegion_.release();
  return wp.ok() ? cr : wp;
}

}  // namespace cowbench
