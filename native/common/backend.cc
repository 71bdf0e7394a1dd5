#include "backend.h"

#include <new>

#include "thread.h"

namespace cowbench {

Status SnapshotContext::stopTheWorld(const std::function<Status()>& fn, const std::function<Status()>& before) {
  // Writers running: the expected state copied whole, and a log of what they write from now on;
  // then `before`. Precapturing first keeps the window `before` leaves to the pause (pages
  // written after a pre-arm are re-protected in the pause, an ioctl per run) as short as it was.
  uint64_t t0 = NowNs();
  Status st = workload.precapture(&next_);
  if (!st.ok()) return st;
  const uint64_t precaptureNs = NowNs() - t0;
  if (before) {
    st = before();
    if (!st.ok()) return st;
  }
  t0 = NowNs();
  const uint64_t quiesceNs = workload.quiesce();
  const uint64_t held = NowNs();
  uint64_t armed = held, captured = held;
  size_t updated = 0;
  bool whole = false, ok = false;
  // The writers are held: whatever happens here (even running out of memory), they resume.
  try {
    // Only the pages written since the precapture are read again, before the backend's arm: the
    // versions cannot change while writers are held, and after a fork() (forkcow) each page of
    // the vector written would be a copy-on-write fault.
    updated = workload.capture(&next_, &whole, options.inject.fault == InjectFault::kSkipExpectedLog);
    captured = NowNs();
    st = fn();
    armed = NowNs();
    if (st.ok()) {
      if (!expected.empty() && startVersions_.empty()) startVersions_.swap(expected);
      expected.swap(next_);
      ok = true;
    }
  } catch (const std::bad_alloc&) {
    st = OutOfMemory("in the pause, writers held");
  }
  workload.resume();
  const uint64_t end = NowNs();
  if (metrics.pausesNs.empty()) {
    // The arm pause, step by step: holding the writers, the backend's arm, recording the expected
    // state, releasing the writers; and the part of the expected state recorded before it.
    metrics.extra["arm_pause_quiesce_us"] = quiesceNs / 1e3;
    metrics.extra["arm_pause_expected_us"] = (captured - held) / 1e3;
    metrics.extra["arm_pause_backend_us"] = (armed - captured) / 1e3;
    metrics.extra["arm_pause_resume_us"] = (end - armed) / 1e3;
    metrics.extra["arm_expected_precapture_us"] = precaptureNs / 1e3;
    metrics.extra["arm_expected_pages_in_pause"] = static_cast<double>(updated);
    metrics.extra["arm_expected_whole_in_pause"] = whole ? 1 : 0;
  }
  metrics.pausesNs.push_back(end - t0);
  metrics.quiescesNs.push_back(quiesceNs);
  // A later consistency point than the arm: how many pages the image holds newer than the arm's.
  if (ok && !startVersions_.empty()) {
    uint64_t differing = 0;
    for (size_t p = 0; p < expected.size(); ++p) differing += expected[p] != startVersions_[p];
    metrics.extra["pages_differing_from_start"] = static_cast<double>(differing);
  }
  return st;
}

void SnapshotContext::fail(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.ok()) error_ = why;
  if (cancelled_.exchange(true)) return;
  for (auto& cancel : cancelHooks_) cancel(error_);
}

void SnapshotContext::onCancel(std::function<void(const Status&)> cancel) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_.load()) {
    cancel(error_);
    return;
  }
  cancelHooks_.push_back(std::move(cancel));
}

Status SnapshotContext::firstError() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace cowbench
