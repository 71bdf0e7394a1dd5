// The bounded copy buffer: fault handlers copy a page into a slot and return at once; a drain
// thread (the sink's writer) writes slots to the sink. When every slot is in use the `block`
// policy makes the copier wait (the faulting writer stays blocked: throttling), `fail` fails.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "fd.h"
#include "sink.h"
#include "status.h"

namespace cowbench {

enum class BufferPolicy { kBlock, kFail };

class CopyBuffer {
 public:
  ~CopyBuffer() { stop(); }
  Status start(size_t capacityBytes, size_t slotBytes, BufferPolicy policy, Sink* sink, unsigned sinkDelayUs = 0);
  // Copies `len` (<= slotBytes) bytes from `src` into a slot queued for the sink at `offset`.
  Status push(const char* src, size_t len, uint64_t offset);
  // Waits until every queued slot is written; returns the first sink error, if any.
  Status flush();
  // Fails pending and future pushes with `why` (wakes blocked pushers).
  void cancel(const Status& why);
  void stop();

  uint64_t peakBytes() const { return peakSlots_.load() * slotBytes_; }
  uint64_t throttledNs() const { return throttledNs_.load(); }
  size_t capacityBytes() const { return slots_ * slotBytes_; }

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
  std::deque<Item> queue_;
  size_t inFlight_ = 0;
  bool stopping_ = false;
  Status error_;
  std::atomic<uint64_t> peakSlots_{0}, throttledNs_{0};
  std::thread drain_;
};

}  // namespace cowbench
