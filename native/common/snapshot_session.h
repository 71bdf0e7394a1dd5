// One snapshot of one backend: the protocol steps (prepare, arm inside the pause, copy, release;
// README's "The snapshot protocol") in order over a SnapshotContext, with the backend released
// exactly once (also when the session is dropped without release()). The Node glue and the
// fault-latency probe both drive a backend through this type.
#pragma once

#include <memory>

#include "backend.h"

namespace cowbench {

class SnapshotSession {
 public:
  // A session of `backend` (created by the caller: native/backends.h) over the context.
  static Status Create(std::unique_ptr<Backend> backend, Region& region, Workload& workload, Sink& sink,
                       const SessionOptions& options, std::unique_ptr<SnapshotSession>* out);
  // Released here if release() never ran (a dropped session must not leave threads or protection).
  ~SnapshotSession();

  Status prepare() { return backend_->prepare(ctx_); }
  // beforeArm with writers running, then arm inside the pause (the consistency point).
  Status arm();
  Status copy() { return backend_->copy(ctx_); }
  // Disarms, joins, closes: the region is writable afterwards. Once; later calls do nothing.
  void release();
  // Records `why` as the failure and asks every loop of the backend to stop.
  void abort(const std::string& why) { ctx_.fail(Status::Fail("EABORTED", why)); }

  SnapshotContext& context() { return ctx_; }

 private:
  SnapshotSession(std::unique_ptr<Backend> backend, Region& region, Workload& workload, Sink& sink,
                  const SessionOptions& options)
      : backend_(std::move(backend)), ctx_(region, workload, sink, options) {}

  std::unique_ptr<Backend> backend_;
  SnapshotContext ctx_;
  bool released_ = false;
};

}  // namespace cowbench
