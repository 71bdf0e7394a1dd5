#include "verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "fd.h"
#include "stamp.h"
#include "thread.h"

namespace cowbench {

Status VerifyImage(const std::string& path, const std::vector<uint32_t>& expected, VerifyResult* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::Sys("verify: open " + path, "open", errno);
  UniqueFd file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::Sys("verify: fstat " + path, "fstat", errno);
  const uint64_t regionBytes = static_cast<uint64_t>(expected.size()) * kPageSize;
  if (static_cast<uint64_t>(st.st_size) > regionBytes) {
    return Status::Fail("EVERIFY", "verify: image " + path + " holds " + std::to_string(st.st_size) +
                                       " bytes, more than the region's " + std::to_string(regionBytes));
  }
  // A short image: the pages past its end are missing (found -2) and fail verification.
  const uint64_t wantBytes = static_cast<uint64_t>(st.st_size) / kPageSize * kPageSize;
  for (uint64_t page = wantBytes / kPageSize; page < expected.size(); ++page) {
    if (out->firstBad.size() < VerifyResult::kMaxReported) out->firstBad.push_back({page, expected[page], -2});
    ++out->badPages;
  }
  out->checkedPages = expected.size() - wantBytes / kPageSize;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = 8u << 20;
  std::unique_ptr<char[]> buf(new (std::nothrow) char[kChunk]);
  if (!buf) return OutOfMemory("allocating verify's 8 MiB read buffer");
  uint64_t hash = 0xcbf29ce484222325ull;
  uint64_t offset = 0;
  while (offset < wantBytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, wantBytes - offset));
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, buf.get() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Sys("verify: read " + path, "pread", errno);
      if (n == 0) return Status::Fail("EVERIFY", "verify: image " + path + " ended early");
      got += static_cast<size_t>(n);
    }
    const uint64_t* words = reinterpret_cast<const uint64_t*>(buf.get());
    for (size_t i = 0; i < want / 8; ++i) hash = (hash ^ words[i]) * 0x100000001b3ull;
    for (size_t p = 0; p < want / kPageSize; ++p) {
      const uint64_t page = offset / kPageSize + p;
      const int64_t found = ReadStampVersion(buf.get() + p * kPageSize, static_cast<uint32_t>(page));
      if (found != static_cast<int64_t>(expected[page])) {
        if (out->firstBad.size() < VerifyResult::kMaxReported) out->firstBad.push_back({page, expected[page], found});
        ++out->badPages;
      }
    }
    out->checkedPages += want / kPageSize;
    offset += want;
  }
  out->checksum = hash;
  return Status::Ok();
}

}  // namespace cowbench
