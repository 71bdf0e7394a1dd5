#include "copy_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  free_.clear();
  for (size_t i = slots_; i > 0; --i) free_.push_back(i - 1);
  stopping_ = false;
  error_ = Status::Ok();
  drain_ = std::thread([this] { drainLoop(); });
  return Status::Ok();
}

Status CopyBuffer::push(const char* src, size_t len, uint64_t offset, bool wakeDrain) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!error_.ok()) return error_;
  if (free_.empty()) {
    if (policy_ == BufferPolicy::kFail) {
      return Status::Fail("EBUFFER_FULL", "copy buffer full (" + std::to_string(capacityBytes()) +
                                              " bytes) under --buffer-policy fail; use a larger --buffer "
                                              "or --buffer-policy block");
    }
    uint64_t t0 = NowNs();
    queueCv_.notify_one();  // slots queued without a wake-up must drain for one to free
    freeCv_.wait(lock, [&] { return !free_.empty() || !error_.ok() || stopping_; });
    throttledNs_.fetch_add(NowNs() - t0);
    if (!error_.ok()) return error_;
    if (free_.empty()) return Status::Fail("EABORTED", "copy buffer stopped");
  }
  size_t slot = free_.back();
  free_.pop_back();
  uint64_t used = slots_ - free_.size();
  if (used > peakSlots_.load()) peakSlots_.store(used);
  lock.unlock();
  std::memcpy(memory_.data() + slot * slotBytes_, src, len);
  lock.lock();
  queue_.push_back({slot, len, offset});
  ++inFlight_;
  if (wakeDrain) {
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
  // next checks, or is already waiting and is woken here.
  queueCv_.notify_one();
}

void CopyBuffer::drainLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    queueCv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;
    Item item = queue_.front();
    queue_.pop_front();
    const bool failed = !error_.ok();  // after a failure, slots are released unwritten
    lock.unlock();
    if (sinkDelayUs_) ::usleep(sinkDelayUs_);
    Status st = failed ? Status::Ok()
                       : sink_->writeAt(memory_.data() + item.slot * slotBytes_, item.len, item.offset);
    lock.lock();
    if (!st.ok() && error_.ok()) error_ = st;
    free_.push_back(item.slot);
    --inFlight_;
    freeCv_.notify_all();
    idleCv_.notify_all();
  }
}

Status CopyBuffer::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  queueCv_.notify_one();
  idleCv_.wait(lock, [&] { return inFlight_ == 0; });
  return error_;
}

void CopyBuffer::cancel(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.ok()) error_ = why;
  freeCv_.notify_all();
}

void CopyBuffer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queueCv_.notify_all();
  freeCv_.notify_all();
  if (drain_.joinable()) drain_.join();
  memory_.reset();  // the slots' memory goes back now, not when JavaScript collects the snapshot
}

}  // namespace cowbench
