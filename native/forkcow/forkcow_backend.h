// forkcow backend: fork() inside the arm pause; the child writes its copy-on-write frozen view of
// the region to the sink with plain syscalls and _exit()s; the parent keeps running and watches
// the child from the copy step (pidfd, else waitpid). The kernel copies every page the parent
// writes while the child lives: that extra memory is sampled from /proc/<pid>/smaps_rollup.
//
// Why not a cgroup's memory.peak: a copy-on-write page is charged to the memcg of the process
// that faults it — the parent — so a group would have to hold the user's own Node process, and
// cgroup v2's no-internal-process rule means moving that process into a fresh leaf first. We do
// not move the caller between cgroups as a side effect of a measurement (and on hybrid v1 hosts
// such as the one these figures come from there is no v2 memory controller at all). Summed PSS
// of parent and child over the parent's pre-fork PSS counts every distinct page once; a last
// sample is taken while the finished child waits for it (ChildReport::done/ack).
#pragma once

#include <signal.h>
#include <sys/types.h>
#include "forkcow_options.h"

#include <cstdint>

#include "../common/backend.h"
#include "../common/fd.h"

namespace cowbench {

class ForkcowBackend final : public Backend {
 public:
  using Options = ForkcowOptions;
  explicit ForkcowBackend(const ForkcowOptions&) {}
  ~ForkcowBackend() override;
  Status prepare(SnapshotContext& ctx) override;
  Status beforeArm(SnapshotContext& ctx) override;
  Status arm(SnapshotContext& ctx) override;
  Status copy(SnapshotContext& ctx) override;
  void release(SnapshotContext& ctx) override;

  // Written by the child into a MAP_SHARED page: how far it got, and why it stopped.
  struct ChildReport {
    volatile uint64_t bytesWritten;
    volatile int err;
    volatile uint64_t errOffset;
    // The child sets `done` when its image is written and waits (bounded) for the parent to take
    // a last memory sample and set `ack`: the copy-on-write cost peaks at the child's last moment.
    alignas(4) volatile uint32_t done;
    alignas(4) volatile uint32_t ack;
  };

 private:
  void sampleExtraMemory();
  Status childOutcome(const siginfo_t& info);
  void killAndReap();

  Mapping report_;  // one shared page holding a ChildReport
  pid_t child_ = -1;
  UniqueFd pidfd_;
  uint64_t bytes_ = 0;
  int64_t pssBeforeBytes_ = -1;
  int64_t extraPeakBytes_ = -1;
  uint64_t samples_ = 0, sampleNs_ = 0, reported_ = 0;
};

}  // namespace cowbench
