#include "kernel_writers.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "../common/fd.h"
#include "../common/stamp.h"

namespace cowbench {
namespace {

constexpr size_t kStampSetBytes = kStampCount * kStampBytes;

// The three copies of a page's stamp, laid out as one contiguous source buffer.
struct StampSet {
  char bytes[kStampSetBytes];
  explicit StampSet(uint32_t page, uint32_t version) {
    Stamp s = MakeStamp(page, version);
    for (size_t i = 0; i < kStampCount; ++i) std::memcpy(bytes + i * kStampBytes, &s, kStampBytes);
  }
};

// The destination slots of a page's stamps, in stamp order.
void StampTargets(char* page, iovec (&iov)[kStampCount]) {
  for (size_t i = 0; i < kStampCount; ++i) iov[i] = {page + kStampOffsets[i], kStampBytes};
}

// How a transfer into a page ended: 0 when every stamp landed; EFAULT for a short transfer.
int TransferResult(ssize_t n, int err) {
  if (n == static_cast<ssize_t>(kStampSetBytes)) return 0;
  return n < 0 ? err : EFAULT;
}

Status MakePipe(UniqueFd* readEnd, UniqueFd* writeEnd, const char* who) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::Sys(std::string(who) + ": pipe2", "pipe2", errno);
  readEnd->reset(fds[0]);
  writeEnd->reset(fds[1]);
  return Status::Ok();
}

// A failed read leaves the stamp bytes queued in the pipe: discard them so the next write
// starts from an empty pipe.
void DrainPipe(int fd) {
  char scratch[256];
  int queued = 0;
  while (::ioctl(fd, FIONREAD, &queued) == 0 && queued > 0) {
    ssize_t n = ::read(fd, scratch, std::min<size_t>(sizeof scratch, static_cast<size_t>(queued)));
    if (n <= 0 && errno != EINTR) break;
  }
}

int QueueStamps(int pipeWriteFd, uint32_t page, uint32_t version) {
  StampSet set(page, version);
  for (;;) {
    ssize_t n = ::write(pipeWriteFd, set.bytes, sizeof set.bytes);
    if (n == static_cast<ssize_t>(sizeof set.bytes)) return 0;
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? errno : EIO;  // a pipe write this small is atomic: short means broken
  }
}

// ---- read(2) ---------------------------------------------------------------------------------
class PipeReadWriter final : public PageWriter {
 public:
  Status open() { return MakePipe(&readEnd_, &writeEnd_, "read writer"); }
  const char* kind() const override { return "read"; }
  int write(char* page, uint32_t pageIndex, uint32_t version) override {
    if (int err = QueueStamps(writeEnd_.get(), pageIndex, version)) return err;
    iovec iov[kStampCount];
    StampTargets(page, iov);
    ssize_t n;
    do n = ::readv(readEnd_.get(), iov, kStampCount);
    while (n < 0 && errno == EINTR);
    int err = TransferResult(n, errno);
    if (err) DrainPipe(readEnd_.get());
    return err;
  }

 private:
  UniqueFd readEnd_, writeEnd_;
};

// ---- io_uring --------------------------------------------------------------------------------
class IoUringWriter final : public PageWriter {
 public:
  const char* kind() const override { return "io_uring"; }

  Status open() {
    Status st = MakePipe(&readEnd_, &writeEnd_, "io_uring writer");
    if (!st.ok()) return st;
    io_uring_params params{};
    long fd = ::syscall(__NR_io_uring_setup, 4, &params);
    if (fd < 0) {
      const int err = errno;
      Status s = Status::Sys("io_uring writer: io_uring_setup", "io_uring_setup", err,
                             err == EPERM    ? "io_uring is disabled for this process (sysctl kernel.io_uring_disabled)"
                             : err == ENOSYS ? "the kernel is built without io_uring (CONFIG_IO_URING)"
                                             : "");
      if (err == EPERM || err == ENOSYS) s.code = "EUNSUPPORTED";
      return s;
    }
    ring_.reset(static_cast<int>(fd));
    // Map the SQ ring, CQ ring (one mapping with IORING_FEAT_SINGLE_MMAP) and the SQE array.
    size_t sqBytes = params.sq_off.array + params.sq_entries * sizeof(uint32_t);
    size_t cqBytes = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
    const bool single = params.features & IORING_FEAT_SINGLE_MMAP;
    if (single) sqBytes = cqBytes = std::max(sqBytes, cqBytes);
    st = MapRing(sqBytes, IORING_OFF_SQ_RING, &sqRing_);
    if (!st.ok()) return st;
    if (!single) {
      st = MapRing(cqBytes, IORING_OFF_CQ_RING, &cqRing_);
      if (!st.ok()) return st;
    }
    st = MapRing(params.sq_entries * sizeof(io_uring_sqe), IORING_OFF_SQES, &sqes_);
    if (!st.ok()) return st;
    char* sq = sqRing_.data();
    char* cq = single ? sq : cqRing_.data();
    sqTail_ = reinterpret_cast<std::atomic<uint32_t>*>(sq + params.sq_off.tail);
    sqMask_ = *reinterpret_cast<uint32_t*>(sq + params.sq_off.ring_mask);
    sqArray_ = reinterpret_cast<uint32_t*>(sq + params.sq_off.array);
    cqHead_ = reinterpret_cast<std::atomic<uint32_t>*>(cq + params.cq_off.head);
    cqTail_ = reinterpret_cast<std::atomic<uint32_t>*>(cq + params.cq_off.tail);
    cqMask_ = *reinterpret_cast<uint32_t*>(cq + params.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + params.cq_off.cqes);

    // Behavioural check: one forced-async READV into a scratch page really delivers the stamps.
    alignas(64) static thread_local char scratch[kPageSize];
    std::memset(scratch, 0, sizeof scratch);
    int err = write(scratch, 7, 42);
    if (err != 0 || ReadStampVersion(scratch, 7) != 42) {
      Status s = Status::Fail("EUNSUPPORTED",
                              "io_uring writer: IORING_OP_READV with IOSQE_ASYNC from a pipe did not deliver (" +
                                  (err ? Status::ErrnoName(err) : std::string("wrong bytes")) +
                                  "); needs Linux 5.6+ io_uring");
      return s;
    }
    return Status::Ok();
  }

  int write(char* page, uint32_t pageIndex, uint32_t version) override {
    if (int err = QueueStamps(writeEnd_.get(), pageIndex, version)) return err;
    StampTargets(page, iov_);
    // One READV SQE; IOSQE_ASYNC skips the inline attempt so an io-wq worker does the copy.
    const uint32_t tail = sqTail_->load(std::memory_order_relaxed);
    io_uring_sqe* sqe = reinterpret_cast<io_uring_sqe*>(sqes_.data()) + (tail & sqMask_);
    std::memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_READV;
    sqe->flags = IOSQE_ASYNC;
    sqe->fd = readEnd_.get();
    sqe->addr = reinterpret_cast<uint64_t>(iov_);
    sqe->len = kStampCount;
    sqe->off = 0;  // a pipe is a stream: the offset is ignored
    sqe->user_data = tail;
    sqArray_[tail & sqMask_] = tail & sqMask_;
    sqTail_->store(tail + 1, std::memory_order_release);
    unsigned toSubmit = 1;
    for (;;) {
      long rc = ::syscall(__NR_io_uring_enter, ring_.get(), toSubmit, 1, IORING_ENTER_GETEVENTS, nullptr, 0);
      if (rc >= 0) {
        toSubmit -= std::min<unsigned>(toSubmit, static_cast<unsigned>(rc));
        if (cqHead_->load(std::memory_order_relaxed) != cqTail_->load(std::memory_order_acquire)) break;
        continue;
      }
      if (errno == EINTR || errno == EAGAIN) continue;
      const int err = errno;
      DrainPipe(readEnd_.get());
      return err;
    }
    const uint32_t head = cqHead_->load(std::memory_order_relaxed);
    const int32_t res = cqes_[head & cqMask_].res;
    cqHead_->store(head + 1, std::memory_order_release);
    int err = TransferResult(res, -res);
    if (err) DrainPipe(readEnd_.get());
    return err;
  }

 private:
  Status MapRing(size_t bytes, uint64_t offset, Mapping* out) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_.get(),
                     static_cast<off_t>(offset));
    if (p == MAP_FAILED) return Status::Sys("io_uring writer: mmap of the rings", "mmap", errno);
    *out = Mapping(p, bytes);
    return Status::Ok();
  }

  UniqueFd readEnd_, writeEnd_, ring_;
  Mapping sqRing_, cqRing_, sqes_;
  std::atomic<uint32_t>*sqTail_ = nullptr, *cqHead_ = nullptr, *cqTail_ = nullptr;
  uint32_t* sqArray_ = nullptr;
  uint32_t sqMask_ = 0, cqMask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  iovec iov_[kStampCount];  // must stay valid until the completion arrives
};

// ---- process_vm_writev -----------------------------------------------------------------------
struct PvmRequest {
  uint64_t pageAddress;
  uint32_t page;
  uint32_t version;
};

// The helper process: writes each requested stamp set into its parent, answers with the errno.
// Runs in a fork of a multi-threaded process: syscalls only, no allocation, then _exit.
[[noreturn]] void PvmHelperMain(int sock, pid_t parent) {
  for (;;) {
    PvmRequest req;
    ssize_t n = ::read(sock, &req, sizeof req);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof req)) ::_exit(0);  // parent closed the socket
    StampSet set(req.page, req.version);
    iovec local{set.bytes, sizeof set.bytes};
    iovec remote[kStampCount];
    StampTargets(reinterpret_cast<char*>(req.pageAddress), remote);
    ssize_t w = ::process_vm_writev(parent, &local, 1, remote, kStampCount, 0);
    int32_t err = TransferResult(w, errno);
    if (::write(sock, &err, sizeof err) != static_cast<ssize_t>(sizeof err)) ::_exit(0);
  }
}

class ProcessVmWriter final : public PageWriter {
 public:
  const char* kind() const override { return "pvm"; }
  ~ProcessVmWriter() override {
    sock_.reset();  // EOF: the helper exits
    if (child_ > 0) {
      while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

  Status open(Region& region) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      return Status::Sys("pvm writer: socketpair", "socketpair", errno);
    UniqueFd mine(sv[0]), theirs(sv[1]);
    const pid_t parent = ::getpid();
    // The helper needs none of the region: keep it out of the fork so the parent's writes do not
    // turn into COW faults against the child's copy.
    const bool dontFork = ::madvise(region.base(), region.bytes(), MADV_DONTFORK) == 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // the child starts with every signal blocked
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);
      if (::dup2(theirs.get(), 3) < 0) ::_exit(1);
      ::syscall(SYS_close_range, 4u, ~0u, 0u);
      PvmHelperMain(3, parent);
    }
    const int forkErr = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (dontFork) ::madvise(region.base(), region.bytes(), MADV_DOFORK);
    if (pid < 0) return Status::Sys("pvm writer: fork of the helper process", "fork", forkErr);
    child_ = pid;
    sock_ = std::move(mine);
    ::prctl(PR_SET_PTRACER, pid, 0, 0, 0);  // Yama ptrace_scope=1 would refuse the child otherwise

    // Behavioural check: the helper can write into this process.
    alignas(64) static thread_local char scratch[kPageSize];
    std::memset(scratch, 0, sizeof scratch);
    int err = write(scratch, 7, 42);
    if (err != 0 || ReadStampVersion(scratch, 7) != 42) {
      return Status::Fail(err == EPERM ? "EUNSUPPORTED" : "ESYS",
                          "pvm writer: process_vm_writev from a helper process into this one failed: " +
                              (err ? Status::ErrnoName(err) : std::string("wrong bytes")) +
                              (err == EPERM ? " (ptrace access refused: see kernel.yama.ptrace_scope)" : ""));
    }
    return Status::Ok();
  }

  int write(char* page, uint32_t pageIndex, uint32_t version) override {
    PvmRequest req{reinterpret_cast<uint64_t>(page), pageIndex, version};
    ssize_t n;
    do n = ::send(sock_.get(), &req, sizeof req, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof req)) return n < 0 ? errno : EPIPE;
    int32_t err = 0;
    do n = ::recv(sock_.get(), &err, sizeof err, 0);
    while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof err)) return n < 0 ? errno : EPIPE;  // helper gone
    return err;
  }

 private:
  UniqueFd sock_;
  pid_t child_ = -1;
};

}  // namespace

Status CreatePipeReadWriter(std::unique_ptr<PageWriter>* out) {
  auto w = std::make_unique<PipeReadWriter>();
  Status st = w->open();
  if (st.ok()) *out = std::move(w);
  return st;
}

Status CreateIoUringWriter(std::unique_ptr<PageWriter>* out) {
  auto w = std::make_unique<IoUringWriter>();
  Status st = w->open();
  if (st.ok()) *out = std::move(w);
  return st;
}

Status CreateProcessVmWriter(Region& region, std::unique_ptr<PageWriter>* out) {
  auto w = std::make_unique<ProcessVmWriter>();
  Status st = w->open(region);
  if (st.ok()) *out = std::move(w);
  return st;
}

}  // namespace cowbench
