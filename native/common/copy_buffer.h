// The bounded copy buffer every copy-before-write fault path fills (uffd's handler threads, and
// the writer's own signal handler under mprotect's SIGSEGV and uffd's SIGBUS): a fault copies a
// page into a slot and returns at once; a drain thread (the sink's writer) writes slots to the
// sink. When every slot is in use the `block` policy makes the producer wait (the faulting writer
// stays blocked: throttling), `fail` fails. The producer side is async-signal-safe, since a signal
// handler may take no lock (the interrupted thread could hold it): slots travel between two
// lock-free bounded queues of slot indices (free and ready; Vyukov's MPMC ring), the drain is
// woken by write(2) on an eventfd, and a producer waiting for a free slot sleeps in futex(2). No
// allocation after start(). (A mutex-and-condition-variable buffer served the handler threads
// until the latency suite showed this one does its job at no measured cost: results/2026-12-06-vm-one-buffer.)
//
// Wake-up protocol (no timeouts hide a lost wake-up): the drain sleeps in poll(2) on the eventfd
// once the ready queue looks empty. A producer wakes it after publishing a slot when asked to
// (wakeDrain), and always while someone waits on the drain (drainWaiters_: a producer waiting for
// a free slot, a flush) or the buffer is stopping; a waiter counts itself in before its last
// look, then wakes the drain itself. The drain bumps freeGeneration_ (the futex word) after each
// slot it frees and FUTEX_WAKEs when a producer waits; cancel() sets failed_, bumps it too and
// wakes everyone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "fd.h"
#include "sink.h"
#include "status.h"

namespace cowbench {

enum class BufferPolicy { kBlock, kFail };

// A bounded multi-producer multi-consumer queue of slot indices; lock-free, no allocation after
// init(), usable from a signal handler.
class SlotQueue {
 public:
  void init(size_t capacityPow2);
  bool push(uint32_t value);
  bool pop(uint32_t* value);

 private:
  struct Cell {
    std::atomic<size_t> seq;
    uint32_t value;
  };
  std::unique_ptr<Cell[]> cells_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_{0};
  alignas(64) std::atomic<size_t> dequeue_{0};
};

// The free slots: a lock-free LIFO stack (Treiber, with a tag against ABA) so recently freed,
// already-touched slots are reused first and memory is spent only on slots in use at once.
class SlotStack {
 public:
  void init(size_t slots);
  void push(uint32_t slot);
  bool pop(uint32_t* slot);

 private:
  static constexpr uint32_t kNil = 0xFFFFFFFFu;
  std::unique_ptr<std::atomic<uint32_t>[]> next_;
  std::atomic<uint64_t> head_{kNil};  // (tag << 32) | index
};

class CopyBuffer {
 public:
  // What push() reports; 0 is success. Kept as plain ints so a signal handler can store them.
  enum PushError : int { kPushOk = 0, kPushFull = 1, kPushFailed = 2 };

  ~CopyBuffer() { stop(); }
  Status start(size_t capacityBytes, size_t slotBytes, BufferPolicy policy, Sink* sink, unsigned sinkDelayUs = 0);
  // Async-signal-safe: copies `len` (<= slotBytes) bytes into a slot queued for the sink at
  // `offset`. Under the block policy waits for a free slot (throttling the faulting writer).
  // wakeDrain=false: the caller kick()s later (see DrainWake).
  int push(const char* src, size_t len, uint64_t offset, bool wakeDrain = true);
  // Async-signal-safe: wakes the drain if at least `minUnwoken` slots were queued without a wake.
  void kick(size_t minUnwoken = 1);
  // Waits until every pushed slot is written; returns the first sink error or the cancellation.
  Status flush();
  // Not signal-safe (takes the drain's mutex): fails pending and future pushes and flushes with
  // `why`; slots still queued are dropped unwritten.
  void cancel(const Status& why);
  void stop();
  // Not signal-safe: the Status of a push() error (kPushFull, kPushFailed), naming `who`.
  Status failureOf(int pushError, const char* who);

  uint64_t peakBytes() const { return peakSlots_.load() * slotBytes_; }
  uint64_t throttledNs() const { return throttledNs_.load(); }
  size_t capacityBytes() const { return slots_ * slotBytes_; }
  // Bytes of free slots now (a relaxed snapshot, for fault-around's pressure check). Signal-safe.
  size_t freeBytes() const { return (slots_ - used_.load(std::memory_order_relaxed)) * slotBytes_; }

 private:
  void drainLoop();
  void wake();
  void wakeFreeWaiters();
  void sinkDelay();

  Mapping memory_;
  Sink* sink_ = nullptr;
  size_t slotBytes_ = 0, slots_ = 0;
  unsigned sinkDelayUs_ = 0;
  BufferPolicy policy_ = BufferPolicy::kBlock;
  std::unique_ptr<size_t[]> lengths_;
  std::unique_ptr<uint64_t[]> offsets_;
  SlotStack free_;
  SlotQueue ready_;
  UniqueFd wakeFd_;                          // eventfd: a slot is ready, or stop
  std::atomic<uint32_t> freeGeneration_{0};  // futex word: bumped whenever a slot is freed
  std::atomic<uint64_t> reserved_{0}, written_{0}, used_{0};
  std::atomic<uint64_t> peakSlots_{0}, throttledNs_{0};
  std::atomic<bool> failed_{false}, stopping_{false};
  std::atomic<size_t> unwoken_{0};
  std::atomic<int> drainWaiters_{0};  // producers waiting for a free slot, plus flushes
  std::mutex mutex_;                  // never taken in signal context: error_ and the flush wait
  std::condition_variable writtenCv_;
  Status error_;
  std::thread drain_;
};

}  // namespace cowbench
