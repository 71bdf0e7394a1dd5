#include "sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "compat.h"

namespace cowbench {

Status Sink::open(const std::string& finalPath, const std::string& testFirstTempName) {
  finalPath_ = finalPath;
  if (finalPath == "/dev/null") {
    int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Status::Sys("sink: open /dev/null", "open", errno);
    fd_.reset(fd);
    null_ = true;
    return Status::Ok();
  }
  size_t slash = finalPath.rfind('/');
  std::string dir = slash == std::string::npos ? "." : finalPath.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? finalPath : finalPath.substr(slash + 1);
  if (base.empty()) return Status::Fail("EINVAL", "sink: output path '" + finalPath + "' names a directory");
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string tmp = (slash == std::string::npos ? "" : dir) + "." + base + ".cowbench-" + std::to_string(::getpid()) +
                      "-" + std::to_string(rd() % 1000000) + ".tmp";
    if (attempt == 0 && !testFirstTempName.empty()) tmp = (slash == std::string::npos ? "" : dir) + testFirstTempName;
    // O_EXCL|O_NOFOLLOW: never write through a planted symlink; memory contents stay 0600.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return Status::Sys("sink: create " + tmp, "open", errno);
    fd_.reset(fd);
    tempPath_ = tmp;
    if (::fchmod(fd, 0600) != 0) {
      int err = errno;
      discard();
      return Status::Sys("sink: fchmod 0600 " + tmp, "fchmod", err);
    }
    return Status::Ok();
  }
  return Status::Fail("EEXIST", "sink: could not create a unique temporary beside " + finalPath);
}

Status Sink::writeAt(const void* data, size_t len, uint64_t offset) {
  const char* p = static_cast<const char*>(data);
  if (null_) {
    // The kernel's /dev/null never reads the buffer; read one word per cache line here so an
    // overhead run still pays for reading the region (a copy's reads, not its writes).
    uint64_t sum = 0;
    for (size_t i = 0; i + sizeof(uint64_t) <= len; i += 64) sum += *reinterpret_cast<const volatile uint64_t*>(p + i);
    nullReadSum_.fetch_add(sum, std::memory_order_relaxed);
    bytesWritten_.fetch_add(len, std::memory_order_relaxed);
    return Status::Ok();
  }
  while (len > 0) {
    ssize_t n = ::pwrite(fd_.get(), p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      return Status::Sys("sink: write " + tempPath_ + " at offset " + std::to_string(offset), "pwrite", err,
                         err == ENOSPC ? "the file system is full" : "");
    }
    if (n == 0) return Status::Fail("EIO", "sink: pwrite wrote nothing at offset " + std::to_string(offset));
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
    bytesWritten_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  }
  return Status::Ok();
}

Status Sink::commit(bool force) {
  if (null_) return Status::Ok();
  if (!fd_.valid()) return Status::Fail("EINVAL", "sink: nothing to commit");
  // On disk before it is renamed into place: a manifest never describes an image still in flight.
  if (::fdatasync(fd_.get()) != 0) {
    int err = errno;
    discard();
    return Status::Sys("sink: fdatasync " + tempPath_, "fdatasync", err,
                       err == ENOSPC ? "the file system is full" : "");
  }
  if (::close(fd_.release()) != 0) {
    int err = errno;
    discard();
    return Status::Sys("sink: close " + tempPath_, "close", err);
  }
  int rc = force ? ::rename(tempPath_.c_str(), finalPath_.c_str())
                 : static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, tempPath_.c_str(), AT_FDCWD, finalPath_.c_str(),
                                              RENAME_NOREPLACE));
  if (rc != 0) {
    int err = errno;
    discard();
    return Status::Sys("sink: rename into " + finalPath_, force ? "rename" : "renameat2", err,
                       err == EEXIST ? "the output exists; pass --force to replace it" : "");
  }
  committed_ = true;
  return Status::Ok();
}

void Sink::discard() {
  fd_.reset();
  if (!committed_ && !tempPath_.empty()) ::unlink(tempPath_.c_str());
  tempPath_.clear();
}

Status PlainCopy(const char* src, size_t bytes, Sink& sink) {
  constexpr size_t kChunk = 2u << 20;  // the uffd copier's unit, for a like-for-like baseline
  for (size_t off = 0; off < bytes; off += kChunk) {
    Status st = sink.writeAt(src + off, std::min(kChunk, bytes - off), off);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace cowbench
