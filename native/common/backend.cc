#include "backend.h"

namespace cowbench {

Status SnapshotContext::stopTheWorld(const std::function<Status()>& fn) {
  const uint64_t t0 = NowNs();
  const uint64_t quiesceNs = workload.quiesce();
  Status st = fn();
  if (st.ok()) expected = workload.versions();
  workload.resume();
  metrics.pausesNs.push_back(NowNs() - t0);
  metrics.quiescesNs.push_back(quiesceNs);
  return st;
}

void SnapshotContext::fail(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.ok()) error_ = why;
  cancelled_.store(true);
}

Status SnapshotContext::firstError() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace cowbench
