#include "copy_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>

#include "thread.h"
#include "writers.h"

namespace cowbench {

Status CopyBuffer::start(size_t capacityBytes, size_t slotBytes, BufferPolicy policy, Sink* sink, unsigned sinkDelayUs) {
  sinkDelayUs_ = sinkDelayUs;
  if (slotBytes == 0 || capacityBytes < slotBytes)
    return Status::Fail("EINVAL", "copy buffer (" + std::to_string(capacityBytes) +
                                      " bytes) must hold at least one " + std::to_string(slotBytes) +
                                      "-byte page");
  slots_ = capacityBytes / slotBytes;
  slotBytes_ = slotBytes;
  policy_ = policy;
  sink_ = sink;
  // Reserved, not touched: memory is only spent on slots actually used.
  void* addr = ::mmap(nullptr, slots_ * slotBytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED) return Status::Sys("copy buffer: mmap", "mmap", errno);
  memory_ = Mapping(addr, slots_ * slotBytes_);
  try {
    free_.assign(slots_, 0);
    ring_.assign(slots_, Item{});
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the copy buffer's slot lists (" + std::to_string(slots_) + " slots)");
  }
  for (size_t i = 0; i < slots_; ++i) free_[i] = slots_ - 1 - i;
  head_ = queued_ = inFlight_ = drainWaiters_ = 0;
  used_.store(0, std::memory_order_relaxed);
  stopping_ = false;
  error_ = Status::Ok();
  return StartThread(
      "copy buffer drain", [this] { drainLoop(); }, [this](const Status& st) { cancel(st); }, &drain_);
}

Status CopyBuffer::push(const char* src, size_t len, uint64_t offset, bool wakeDrain) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!error_.ok()) return error_;
  if (stopping_) return Status::Fail("EABORTED", "copy buffer stopped");
  if (free_.empty()) {
    if (policy_ == BufferPolicy::kFail) {
      return Status::Fail("EBUFFER_FULL", "copy buffer full (" + std::to_string(capacityBytes()) +
                                              " bytes) under --buffer-policy fail; use a larger --buffer "
                                              "or --buffer-policy block");
    }
    const uint64_t t0 = NowNs();
    ++drainWaiters_;  // from here every push wakes the drain: the slots it frees are what we wait for
    if (queued_ > 0) queueCv_.notify_one();
    freeCv_.wait(lock, [&] { return !free_.empty() || !error_.ok() || stopping_; });
    --drainWaiters_;
    throttledNs_.fetch_add(NowNs() - t0);
    if (!error_.ok()) return error_;
    if (free_.empty()) return Status::Fail("EABORTED", "copy buffer stopped");
  }
  const size_t slot = free_.back();
  free_.pop_back();
  ++inFlight_;
  const uint64_t used = slots_ - free_.size();
  used_.store(used, std::memory_order_relaxed);
  if (used > peakSlots_.load()) peakSlots_.store(used);
  lock.unlock();
  std::memcpy(memory_.data() + slot * slotBytes_, src, len);
  lock.lock();
  ring_[(head_ + queued_) % slots_] = {slot, len, offset};
  ++queued_;
  if (wakeDrain || drainWaiters_ > 0 || stopping_ || !error_.ok()) {
    unwoken_.store(0, std::memory_order_relaxed);
    queueCv_.notify_one();
  } else {
    unwoken_.fetch_add(1, std::memory_order_relaxed);
  }
  return Status::Ok();
}

void CopyBuffer::kick(size_t minUnwoken) {
  if (unwoken_.load(std::memory_order_relaxed) < minUnwoken) return;
  unwoken_.store(0, std::memory_order_relaxed);
  // The slots were queued under the mutex before this call: the drain either sees them when it
  // next checks, or is already waiting and is woken here. (A kick is only a hint: whoever must
  // wait for the drain wakes it under the protocol above.)
  queueCv_.notify_one();
}

void CopyBuffer::drainLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    queueCv_.wait(lock, [&] { return queued_ > 0 || stopping_; });
    if (queued_ == 0) return;  // stopping, nothing left
    const Item item = ring_[head_];
    head_ = (head_ + 1) % slots_;
    --queued_;
    // Test-only slow sink: a wait that a cancel or stop cuts short, as it does a stuck write.
    if (sinkDelayUs_)
      queueCv_.wait_for(lock, std::chrono::microseconds(sinkDelayUs_), [&] { return !error_.ok() || stopping_; });
    const bool failed = !error_.ok();  // after a failure or a cancel, slots are released unwritten
    lock.unlock();
    Status st;
    if (!failed) st = sink_->writeAt(memory_.data() + item.slot * slotBytes_, item.len, item.offset);
    lock.lock();
    if (!st.ok() && error_.ok()) error_ = st;
    free_.push_back(item.slot);  // capacity slots_: cannot allocate
    used_.store(slots_ - free_.size(), std::memory_order_relaxed);
    --inFlight_;
    freeCv_.notify_all();
    if (inFlight_ == 0 || !error_.ok()) idleCv_.notify_all();
  }
}

Status CopyBuffer::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!drain_.joinable()) return error_;  // never started: nothing was pushed
  ++drainWaiters_;
  if (queued_ > 0) queueCv_.notify_one();
  idleCv_.wait(lock, [&] { return inFlight_ == 0 || !error_.ok() || stopping_; });
  --drainWaiters_;
  if (error_.ok() && inFlight_ != 0) return Status::Fail("EABORTED", "copy buffer stopped before its flush");
  return error_;
}

void CopyBuffer::cancel(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.ok()) error_ = why;
  freeCv_.notify_all();
  idleCv_.notify_all();
  queueCv_.notify_all();  // the drain drops what is queued
}

void CopyBuffer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queueCv_.notify_all();
    freeCv_.notify_all();
    idleCv_.notify_all();
  }
  if (drain_.joinable()) drain_.join();
  memory_.reset();  // the slots' memory goes back now, not when JavaScript collects the snapshot
}

}  // namespace cowbench
