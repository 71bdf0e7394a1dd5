// Kernel writers (vhost-like): the kernel itself stores the stamps into the region on the
// process's behalf, so no SIGSEGV handler ever sees these writes.
//   read      read(2) from a pipe straight into the page (one readv over the three stamp slots)
//   io_uring  IORING_OP_READV from a pipe with IOSQE_ASYNC: an io-wq kernel worker does the copy
//   pvm       process_vm_writev from a helper process forked at creation
// Each write is one kernel call covering all three stamps of the page. A short transfer (some
// stamps landed, then EFAULT) is reported as a failed write with EFAULT and the version is not
// advanced: the page may then be torn, which verification reports as a bad page if it reaches the
// image. Under page-granular protection it cannot happen, since all stamps lie in one page.
#pragma once

#include <memory>

#include "../common/region.h"
#include "../common/status.h"
#include "../common/workload.h"

namespace cowbench {

Status CreatePipeReadWriter(std::unique_ptr<PageWriter>* out);
Status CreateIoUringWriter(std::unique_ptr<PageWriter>* out);
Status CreateProcessVmWriter(Region& region, std::unique_ptr<PageWriter>* out);

}  // namespace cowbench
