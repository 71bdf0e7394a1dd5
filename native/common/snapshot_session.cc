#include "snapshot_session.h"

namespace cowbench {

Status SnapshotSession::Create(std::unique_ptr<Backend> backend, Region& region, Workload& workload, Sink& sink,
                               const SessionOptions& options, std::unique_ptr<SnapshotSession>* out) {
  if (!backend) return Status::Internal("a snapshot session without a backend");
  out->reset(new SnapshotSession(std::move(backend), region, workload, sink, options));
  return Status::Ok();
}

SnapshotSession::~SnapshotSession() {
  if (released_) return;
  ctx_.fail(Status::Fail("EABORTED", "snapshot dropped without release()"));
  release();
}

Status SnapshotSession::arm() {
  return ctx_.stopTheWorld([this] { return backend_->arm(ctx_); }, [this] { return backend_->beforeArm(ctx_); });
}

void SnapshotSession::release() {
  if (released_) return;
  backend_->release(ctx_);
  released_ = true;
}

}  // namespace cowbench
