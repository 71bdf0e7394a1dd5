// The bounded copy buffer: fault handlers copy a page into a slot and return at once; a drain
// thread (the sink's writer) writes slots to the sink. When every slot is in use the `block`
// policy makes the copier wait (the faulting writer stays blocked: throttling), `fail` fails.
#pragma once

#include <string>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "fd.h"
#include "sink.h"
#include "status.h"

namespace cowbench {

enum class BufferPolicy { kBlock, kFail };

// When a fault handler wakes the buffer's drain thread (--drain-wake): before the faulting writer
// is released (early), after it (late), or once per kDrainWakeBatch queued pages (batch; a full
// buffer and the final flush wake it too). Off the writer's path, the wake-up of a sleeping drain
// on another CPU (a cross-CPU IPI, costly under nested virtualisation) stops adding to each fault.
enum class DrainWake { kEarly, kLate, kBatch };
constexpr size_t kDrainWakeBatch = 32;
inline DrainWake DrainWakeFrom(const std::string& s) {
  return s == "late" ? DrainWake::kLate : s == "batch" ? DrainWake::kBatch : DrainWake::kEarly;
}
// The kick() threshold for a mode that does not wake at push time.
inline size_t DrainKickMin(DrainWake w) { return w == DrainWake::kBatch ? kDrainWakeBatch : 1; }

// Wake-up protocol (all state under mutex_): the drain sleeps while the queue is empty. A push
// wakes it when asked to (wakeDrain), and always while anyone waits on the drain's progress (a
// pusher waiting for a free slot, a flush): that waiter may have found the queue empty only
// because the slots it waits for were still being copied. cancel() and stop() wake every wait.
class CopyBuffer {
 public:
  ~CopyBuffer() { stop(); }
  Status start(size_t capacityBytes, size_t slotBytes, BufferPolicy policy, Sink* sink, unsigned sinkDelayUs = 0);
  // Copies `len` (<= slotBytes) bytes from `src` into a slot queued for the sink at `offset`.
  // wakeDrain=false leaves the drain asleep so a fault handler can wake its writer first; the
  // caller then kick()s (the drain is woken anyway while a pusher or flush waits on it).
  Status push(const char* src, size_t len, uint64_t offset, bool wakeDrain = true);
  // Wakes the drain if at least `minUnwoken` slots were queued without waking it.
  void kick(size_t minUnwoken = 1);
  // Waits until every pushed slot is written; returns the first sink error or the cancellation.
  Status flush();
  // Fails pending and future pushes and flushes with `why`; queued slots are dropped unwritten.
  void cancel(const Status& why);
  void stop();

  uint64_t peakBytes() const { return peakSlots_.load() * slotBytes_; }
  uint64_t throttledNs() const { return throttledNs_.load(); }
  size_t capacityBytes() const { return slots_ * slotBytes_; }
  // Bytes of free slots now (a relaxed snapshot, for fault-around's pressure check).
  size_t freeBytes() const { return (slots_ - used_.load(std::memory_order_relaxed)) * slotBytes_; }

 private:
  struct Item {
    size_t slot;
    size_t len;
    uint64_t offset;
  };
  void drainLoop();

  Mapping memory_;
  Sink* sink_ = nullptr;
  size_t slotBytes_ = 0, slots_ = 0;
  unsigned sinkDelayUs_ = 0;
  BufferPolicy policy_ = BufferPolicy::kBlock;
  std::mutex mutex_;
  std::condition_variable freeCv_, queueCv_, idleCv_;
  std::vector<size_t> free_;
  // The queue: a ring of slots_ entries allocated by start(), so push() never allocates.
  std::vector<Item> ring_;
  size_t head_ = 0, queued_ = 0;
  size_t inFlight_ = 0;       // slots taken and not yet written (being copied, queued, or draining)
  size_t drainWaiters_ = 0;   // pushers waiting for a free slot, plus flushes waiting for idle
  std::atomic<size_t> unwoken_{0};  // slots queued with wakeDrain=false since the last wake
  bool stopping_ = false;
  Status error_;
  std::atomic<uint64_t> peakSlots_{0}, throttledNs_{0};
  std::atomic<size_t> used_{0};  // slots_ - free_.size(), readable without the mutex
  std::thread drain_;
};

}  // namespace cowbench
