// Where the image goes: a temporary file created 0600 beside the final path (O_EXCL|O_NOFOLLOW)
// and renamed into place only when the snapshot is complete and verified; or /dev/null for
// overhead runs. Positioned writes from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "fd.h"
#include "status.h"

namespace cowbench {

class Sink {
 public:
  ~Sink() { discard(); }
  // `finalPath` "/dev/null" selects the null sink.
  // `testFirstTempName` (tests only): the temporary's name, beside finalPath, on the first attempt.
  Status open(const std::string& finalPath, const std::string& testFirstTempName = "");
  // Writes all `len` bytes at `offset` (retrying short writes and EINTR).
  Status writeAt(const void* data, size_t len, uint64_t offset);
  // Renames the temporary onto the final path (never replacing a file unless `force`).
  Status commit(bool force);
  // Closes and unlinks the temporary; safe to call twice.
  void discard();

  bool isNull() const { return null_; }
  int fd() const { return fd_.get(); }
  const std::string& tempPath() const { return tempPath_; }
  const std::string& finalPath() const { return finalPath_; }
  uint64_t bytesWritten() const { return bytesWritten_.load(std::memory_order_relaxed); }
  // Counts bytes another process (forkcow's child) wrote through this sink's descriptor.
  void addBytesWritten(uint64_t n) { bytesWritten_.fetch_add(n, std::memory_order_relaxed); }

 private:
  UniqueFd fd_;
  std::string finalPath_, tempPath_;
  bool null_ = false;
  bool committed_ = false;
  std::atomic<uint64_t> bytesWritten_{0};
  std::atomic<uint64_t> nullReadSum_{0};  // keeps the null sink's reads from being optimised away
};

// Writes `bytes` from `src` to the sink in order with large pwrites: the bandwidth baseline.
Status PlainCopy(const char* src, size_t bytes, Sink& sink);

}  // namespace cowbench
