// The kvm writer: a real vCPU (/dev/kvm) whose guest-physical memory from address 0 IS the region
// (KVM_SET_USER_MEMORY_REGION over it). A tiny flat 32-bit protected-mode guest (no paging)
// stamps the pages this writer owns in the workload's pattern without an exit per write: its
// per-page versions and a log of committed writes (page, version, TSC cycles) live in a second
// memslot outside the region, which the host reads whenever the vCPU is out of KVM_RUN. The guest
// exits about once per millisecond (progress), when its log is full, or, when rate-limited, once
// it has done the writes the host granted (HLT; the host grants about 1 ms of writes at a time).
// Pausing is a real vCPU pause: the thread is kicked out of KVM_RUN.
#pragma once

#include <memory>

#include "../common/region.h"
#include "../common/status.h"
#include "../common/workload.h"

namespace cowbench {

// Fails with EUNSUPPORTED where /dev/kvm is absent or unusable, or the region does not fit the
// guest's 32-bit physical address space.
Status CreateKvmWriter(const WriterConfig& config, size_t index, Region& region, std::unique_ptr<WriterThread>* out);

}  // namespace cowbench
