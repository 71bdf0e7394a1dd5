// The copy-before-write fault path, written once for every delivery that serves a write fault:
// uffd's handler threads, and the writer's own signal handler under uffd's SIGBUS and mprotect's
// SIGSEGV (common/signal_copy_path). serve() is the whole sequence: claim the faulting granule,
// claim its unsaved neighbours (fault-around), copy the run into the copy buffer, count it, note
// its extent for the hot-first copier, un-protect the run, kick the buffer's drain. It owns what
// those steps share with the backend's copier: the per-granule claim bitmap and the copy buffer.
//
// serve() and everything it calls are async-signal-safe: atomics, memcpy and raw syscalls only.
// A failure is returned, never acted on here: a handler thread fails the snapshot, a signal
// handler records it for the copier's thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend.h"
#include "claimed_runs.h"
#include "copy_buffer.h"
#include "copy_path_options.h"
#include "fault_around_policy.h"

namespace cowbench {

class FaultPath {
 public:
  enum class Outcome {
    kOwnedElsewhere,   // the copier or another fault claimed the granule: it un-protects it
    kServed,           // `run` was copied and un-protected
    kCopyFailed,       // a push into the copy buffer failed: `error` is its CopyBuffer::PushError
    kUnprotectFailed,  // `error` is the errno of the un-protect of the run at `offset`
  };
  struct Served {
    Outcome outcome;
    GranuleRun run;
    int error;
    uint64_t offset;
  };

  ~FaultPath() { stop(); }
  // Over [base, base + bytes) in `granule`-byte granules (4k, or 2m over a hugepage region),
  // copying into a buffer of the snapshot's --buffer, --buffer-policy and sink. A failure or abort
  // of `ctx` ends the buffer's waits.
  Status start(SnapshotContext& ctx, char* base, size_t bytes, size_t granule, const CopyPathOptions& options);

  // Serves a write fault on granule `g`. `unprotect(addr, len)` re-enables writes on the run and
  // returns 0 or the errno. With `kickNow` false the caller kick()s later (after waking a batch).
  template <typename Unprotect>
  Served serve(size_t g, Unprotect&& unprotect, bool kickNow);
  // Wakes the buffer's drain as --drain-wake asks after a writer was released (none when early).
  void kick() {
    if (options_.drainWake != DrainWake::kEarly) buffer_.kick(DrainKickMin(options_.drainWake));
  }

  // The copier's claim: true if the caller is the one that must copy granule g.
  bool claim(size_t g) { return ClaimGranule(claimed_.get(), g); }
  size_t granules() const { return granules_; }
  // The copier's progress, which --fault-around auto weighs a fault's neighbours against: it
  // started, and is about to copy `extent`, the `done`-th of its pass.
  void copierStarted() { policy_.copierStarted(); }
  void copierAt(size_t extent, size_t done) { policy_.copierAt(extent, done); }
  // The extents faults were served in, newest first, with --copy-order hot; else null.
  HotExtents* hotExtents() { return options_.copyOrder == CopyOrder::kHot ? &hot_ : nullptr; }
  // Waits until no fault is between its claim and the end of its serve().
  void waitIdle() const;
  // Waits until every copied page is written to the sink; the first sink error or cancellation.
  Status flush() { return buffer_.flush(); }
  // The Status of a kCopyFailed `error`, naming `who` (not signal-safe).
  Status copyFailure(int error, const char* who) { return buffer_.failureOf(error, who); }
  // Stops the buffer (its memory is returned). After every fault path into serve() is closed.
  void stop() { buffer_.stop(); }
  // Assigns (so a second release() does not double) the fault path's figures to `m`.
  void reportTo(SnapshotMetrics& m) const;

 private:
  // Copies `run` (but `skip`, a test-only fault) into the buffer and un-protects it; false with
  // `out` set to the failure.
  template <typename Unprotect>
  bool saveRun(const GranuleRun& run, size_t skip, Unprotect& unprotect, Served& out);
  // How many granules a fault on `g` may claim, its own included: the one place a fault-around
  // policy decides (--fault-around K, or auto's choice per extent; cut to the buffer's free slots).
  size_t runLimit(size_t g) {
    if (!options_.faultAroundAuto) return around_.limit(faultAround_, buffer_.freeBytes(), granule_);
    const size_t extent = g / perExtent_;
    const size_t n =
        around_.limit(policy_.granules(extent, g % perExtent_, faultAround_), buffer_.freeBytes(), granule_);
    if (perExtent_ > 1 && n >= perExtent_) policy_.wholeGranted(extent);
    return n;
  }

  SnapshotContext* ctx_ = nullptr;
  CopyPathOptions options_;
  char* base_ = nullptr;
  size_t bytes_ = 0, granule_ = 4096, granules_ = 0, perExtent_ = 512;
  size_t faultAround_ = 1;                          // granules per fault-around run, the faulting one included
  bool skipCopy_ = false, skipAroundPage_ = false;  // test-only faults (Inject::fault)
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;
  CopyBuffer buffer_;
  HotExtents hot_;
  FaultAroundCounts around_;
  FaultAroundPolicy policy_;  // --fault-around auto
  std::atomic<int> busy_{0};  // faults between their claim and the end of their serve()
  std::atomic<uint64_t> faults_{0}, copiedBeforeWrite_{0};
};

template <typename Unprotect>
FaultPath::Served FaultPath::serve(size_t g, Unprotect&& unprotect, bool kickNow) {
  faults_.fetch_add(1, std::memory_order_relaxed);
  // Counted busy from before the claim until the run is queued and un-protected: the copier waits
  // for zero before its final flush, so no claimed page can miss the image.
  busy_.fetch_add(1, std::memory_order_acq_rel);
  struct Idle {
    std::atomic<int>& busy;
    ~Idle() { busy.fetch_sub(1, std::memory_order_acq_rel); }
  } idle{busy_};
  Served out{Outcome::kOwnedElsewhere, GranuleRun{g, g}, 0, 0};
  if (!ClaimGranule(claimed_.get(), g)) return out;
  // Fault-around: the unsaved neighbours in g's extent are copied and un-protected with it; with
  // the whole extent asked for, its other unsaved stretches too, each copied and un-protected as a
  // run of its own after the faulting one. A uffd handler that wakes at once releases the writer
  // after the first run; a batched wake-up, and the signal deliveries (the writer runs this
  // itself), release it after the sweep. A granule claimed elsewhere stays its claimer's.
  size_t skip = SIZE_MAX, claimedGranules = 0;
  const bool saved = ClaimFaultRuns(claimed_.get(), g, granules_, granule_, runLimit(g), [&](const GranuleRun& run) {
    if (claimedGranules == 0) {
      out.run = run;
      if (skipAroundPage_ && run.size() > 1) skip = run.end - 1 != g ? run.end - 1 : run.first;
    } else {
      if (skipAroundPage_ && skip == SIZE_MAX) skip = run.end - 1;
      // The span a batched wake-up must cover: every run un-protected here.
      out.run.first = std::min(out.run.first, run.first);
      out.run.end = std::max(out.run.end, run.end);
    }
    if (!saveRun(run, skip, unprotect, out)) return false;
    claimedGranules += run.size();
    return true;
  });
  if (!saved) return out;
  copiedBeforeWrite_.fetch_add(claimedGranules, std::memory_order_relaxed);
  around_.served(claimedGranules);
  if (options_.copyOrder == CopyOrder::kHot) hot_.note(g * granule_ / kExtentBytes);
  out.outcome = Outcome::kServed;
  if (kickNow) kick();
  return out;
}

template <typename Unprotect>
bool FaultPath::saveRun(const GranuleRun& run, size_t skip, Unprotect& unprotect, Served& out) {
  const bool wakeDrain = options_.drainWake == DrainWake::kEarly;
  for (size_t i = run.first; i < run.end && !skipCopy_; ++i) {
    if (i == skip) continue;  // test-only fault: un-protected below without a copy
    const size_t at = i * granule_, len = std::min(granule_, bytes_ - at);
    const int rc = buffer_.push(base_ + at, len, at, wakeDrain);
    if (rc != CopyBuffer::kPushOk) {
      out.outcome = Outcome::kCopyFailed;
      out.error = rc;
      out.offset = at;
      return false;
    }
    ctx_->addCopied(len);
  }
  out.offset = run.first * granule_;
  const int err = unprotect(base_ + out.offset, std::min(run.end * granule_, bytes_) - out.offset);
  if (err != 0) {
    out.outcome = Outcome::kUnprotectFailed;
    out.error = err;
    return false;
  }
  return true;
}

}  // namespace cowbench
