#include "copy_buffer.h"

#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "clock.h"
#include "thread.h"

namespace cowbench {

void SlotQueue::init(size_t capacityPow2) {
  cells_.reset(new Cell[capacityPow2]);
  for (size_t i = 0; i < capacityPow2; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  mask_ = capacityPow2 - 1;
  enqueue_ = 0;
  dequeue_ = 0;
}

bool SlotQueue::push(uint32_t value) {
  size_t pos = enqueue_.load(std::memory_order_relaxed);
  Cell* cell;
  for (;;) {
    cell = &cells_[pos & mask_];
    const size_t seq = cell->seq.load(std::memory_order_acquire);
    const intptr_t dif = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
    if (dif == 0) {
      if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (dif < 0) {
      return false;  // full
    } else {
      pos = enqueue_.load(std::memory_order_relaxed);
    }
  }
  cell->value = value;
  cell->seq.store(pos + 1, std::memory_order_release);
  return true;
}

bool SlotQueue::pop(uint32_t* value) {
  size_t pos = dequeue_.load(std::memory_order_relaxed);
  Cell* cell;
  for (;;) {
    cell = &cells_[pos & mask_];
    const size_t seq = cell->seq.load(std::memory_order_acquire);
    const intptr_t dif = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
    if (dif == 0) {
      if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (dif < 0) {
      return false;  // empty (or a producer is still filling the cell)
    } else {
      pos = dequeue_.load(std::memory_order_relaxed);
    }
  }
  *value = cell->value;
  cell->seq.store(pos + mask_ + 1, std::memory_order_release);
  return true;
}

void SlotStack::init(size_t slots) {
  next_.reset(new std::atomic<uint32_t>[slots]);
  for (size_t i = 0; i < slots; ++i) next_[i].store(kNil, std::memory_order_relaxed);
  head_ = kNil;
}

void SlotStack::push(uint32_t slot) {
  uint64_t old = head_.load(std::memory_order_relaxed);
  for (;;) {
    next_[slot].store(static_cast<uint32_t>(old), std::memory_order_relaxed);
    const uint64_t tagged = ((old >> 32) + 1) << 32 | slot;
    if (head_.compare_exchange_weak(old, tagged, std::memory_order_release, std::memory_order_relaxed)) return;
  }
}

bool SlotStack::pop(uint32_t* slot) {
  uint64_t old = head_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t top = static_cast<uint32_t>(old);
    if (top == kNil) return false;
    // A stale `next` (the slot was popped and pushed again meanwhile) fails the tagged CAS.
    const uint64_t tagged = ((old >> 32) + 1) << 32 | next_[top].load(std::memory_order_relaxed);
    if (head_.compare_exchange_weak(old, tagged, std::memory_order_acquire, std::memory_order_acquire)) {
      *slot = top;
      return true;
    }
  }
}

Status CopyBuffer::start(size_t capacityBytes, size_t slotBytes, BufferPolicy policy, Sink* sink,
                         unsigned sinkDelayUs) {
  // --buffer against the granularity is the preflight's rule (src/preflight.ts).
  if (slotBytes == 0 || capacityBytes < slotBytes)
    return Status::Internal("a copy buffer of " + std::to_string(capacityBytes) + " bytes holds no " +
                            std::to_string(slotBytes) + "-byte slot");
  slots_ = capacityBytes / slotBytes;
  if (slots_ > (1u << 30)) return Status::Fail("EINVAL", "copy buffer: too many slots");
  slotBytes_ = slotBytes;
  policy_ = policy;
  sink_ = sink;
  sinkDelayUs_ = sinkDelayUs;
  // Reserved, not touched: memory is only spent on slots actually used.
  void* addr =
      ::mmap(nullptr, slots_ * slotBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED) return Status::Sys("copy buffer: mmap", "mmap", errno);
  memory_ = Mapping(addr, slots_ * slotBytes_);
  int efd = ::eventfd(0, EFD_CLOEXEC);
  if (efd < 0) return Status::Sys("copy buffer: eventfd", "eventfd", errno);
  wakeFd_.reset(efd);
  size_t pow2 = 1;
  while (pow2 < slots_) pow2 <<= 1;
  try {
    free_.init(slots_);
    ready_.init(pow2);
    lengths_.reset(new size_t[slots_]());
    offsets_.reset(new uint64_t[slots_]());
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the copy buffer's slot lists (" + std::to_string(slots_) + " slots)");
  }
  for (size_t i = slots_; i > 0; --i) free_.push(static_cast<uint32_t>(i - 1));
  reserved_ = written_ = used_ = 0;
  drainWaiters_ = 0;
  failed_ = false;
  stopping_ = false;
  error_ = Status::Ok();
  return StartThread(
      "copy buffer drain", [this] { drainLoop(); }, [this](const Status& st) { cancel(st); }, &drain_);
}

void CopyBuffer::wake() {
  uint64_t one = 1;
  // An eventfd write only fails on counter overflow, which a drain that keeps reading prevents.
  (void)!::write(wakeFd_.get(), &one, sizeof one);
}

// Async-signal-safe: wakes producers sleeping for a free slot (or for a cancellation).
void CopyBuffer::wakeFreeWaiters() {
  freeGeneration_.fetch_add(1, std::memory_order_seq_cst);
  if (drainWaiters_.load(std::memory_order_seq_cst) > 0)
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&freeGeneration_), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr,
              0);
}

void CopyBuffer::kick(size_t minUnwoken) {
  if (unwoken_.load(std::memory_order_relaxed) < minUnwoken) return;
  unwoken_.store(0, std::memory_order_relaxed);
  wake();
}

int CopyBuffer::push(const char* src, size_t len, uint64_t offset, bool wakeDrain) {
  if (failed_.load(std::memory_order_acquire) || stopping_.load(std::memory_order_acquire)) return kPushFailed;
  uint32_t slot;
  uint64_t waitStartNs = 0;
  bool waiting = false;  // counted in drainWaiters_
  int result = kPushOk;
  for (;;) {
    const uint32_t generation = freeGeneration_.load(std::memory_order_seq_cst);
    if (free_.pop(&slot)) break;
    if (policy_ == BufferPolicy::kFail) {
      result = kPushFull;
      break;
    }
    if (failed_.load() || stopping_.load()) {
      result = kPushFailed;
      break;
    }
    if (!waiting) {
      // Count in, then look once more: a slot freed before this point was seen by that look,
      // one freed after it comes with a FUTEX_WAKE.
      waiting = true;
      drainWaiters_.fetch_add(1, std::memory_order_seq_cst);
      waitStartNs = NowNs();  // clock_gettime: async-signal-safe
      continue;
    }
    wake();  // slots queued without a wake-up must drain for one to free
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&freeGeneration_), FUTEX_WAIT_PRIVATE, generation, nullptr,
              nullptr, 0);
  }
  if (waiting) {
    drainWaiters_.fetch_sub(1, std::memory_order_seq_cst);
    throttledNs_.fetch_add(NowNs() - waitStartNs);
  }
  if (result != kPushOk) return result;
  reserved_.fetch_add(1);
  const uint64_t used = used_.fetch_add(1) + 1;
  uint64_t peak = peakSlots_.load(std::memory_order_relaxed);
  while (used > peak && !peakSlots_.compare_exchange_weak(peak, used)) {
  }
  std::memcpy(memory_.data() + slot * slotBytes_, src, len);
  lengths_[slot] = len;
  offsets_[slot] = offset;
  ready_.push(slot);                                    // cannot be full: it holds at most every slot once
  std::atomic_thread_fence(std::memory_order_seq_cst);  // publish, then look for waiters
  if (wakeDrain || drainWaiters_.load(std::memory_order_seq_cst) > 0 || stopping_.load() || failed_.load()) {
    unwoken_.store(0, std::memory_order_relaxed);
    wake();
  } else {
    unwoken_.fetch_add(1, std::memory_order_relaxed);
  }
  return kPushOk;
}

void CopyBuffer::drainLoop() {
  for (;;) {
    uint32_t slot;
    while (ready_.pop(&slot)) {
      if (sinkDelayUs_) sinkDelay();
      if (!failed_.load()) {
        Status st = sink_->writeAt(memory_.data() + slot * slotBytes_, lengths_[slot], offsets_[slot]);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (error_.ok()) error_ = st;
          failed_.store(true, std::memory_order_seq_cst);
        }
      }
      used_.fetch_sub(1);
      free_.push(slot);
      wakeFreeWaiters();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        written_.fetch_add(1);
      }
      writtenCv_.notify_all();
    }
    if (stopping_.load() && written_.load() == reserved_.load()) return;
    // Whoever needs this drain to run writes the eventfd after its slot is published (see the
    // protocol in the header): sleeping without a timeout cannot miss it.
    pollfd pfd{wakeFd_.get(), POLLIN, 0};
    const int rc = ::poll(&pfd, 1, -1);
    if (rc > 0) {
      uint64_t counter;
      (void)!::read(wakeFd_.get(), &counter, sizeof counter);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// Test-only slow sink: sleeps sinkDelayUs_ before a write, in 1 ms steps so that a cancel or stop
// cuts it short (as it would a stuck write).
void CopyBuffer::sinkDelay() {
  const uint64_t endNs = NowNs() + sinkDelayUs_ * 1000ull;
  for (uint64_t now = NowNs(); now < endNs && !failed_.load() && !stopping_.load(); now = NowNs())
    ::usleep(static_cast<useconds_t>(std::min<uint64_t>(1000, (endNs - now + 999) / 1000)));
}

Status CopyBuffer::flush() {
  if (!drain_.joinable()) return error_;  // never started: nothing was pushed
  drainWaiters_.fetch_add(1, std::memory_order_seq_cst);
  wake();
  std::unique_lock<std::mutex> lock(mutex_);
  writtenCv_.wait(lock, [&] { return written_.load() == reserved_.load() || failed_.load(); });
  drainWaiters_.fetch_sub(1, std::memory_order_seq_cst);
  return error_;
}

void CopyBuffer::cancel(const Status& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.ok()) error_ = why;
    failed_.store(true, std::memory_order_seq_cst);
  }
  writtenCv_.notify_all();
  freeGeneration_.fetch_add(1, std::memory_order_seq_cst);
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&freeGeneration_), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr,
            0);
  if (wakeFd_.valid()) wake();  // the drain drops what is queued
}

void CopyBuffer::stop() {
  if (!drain_.joinable()) return;
  stopping_.store(true, std::memory_order_seq_cst);
  wake();
  drain_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  writtenCv_.notify_all();
  memory_.reset();  // the slots' memory goes back now, not when JavaScript collects the snapshot
}

Status CopyBuffer::failureOf(int pushError, const char* who) {
  if (pushError == kPushFull)
    return Status::Fail("EBUFFER_FULL", "copy buffer full (" + std::to_string(capacityBytes()) +
                                            " bytes) under --buffer-policy fail; use a larger --buffer or "
                                            "--buffer-policy block");
  std::lock_guard<std::mutex> lock(mutex_);
  return error_.ok() ? Status::Fail("EABORTED", std::string(who) + ": copy buffer stopped") : error_;
}

}  // namespace cowbench
