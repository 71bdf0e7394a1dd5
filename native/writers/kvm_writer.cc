#include "kvm_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "../common/compat.h"
#include "../common/fd.h"
#include "../common/stamp.h"

#if defined(__x86_64__)
#include <linux/kvm.h>
#include <x86intrin.h>

#include "guest_asm.h"
#endif

namespace cowbench {

#if defined(__x86_64__)
namespace {

using namespace guest;

// Guest-physical layout: the region from 0, then (at 3 GiB, in a second memslot that is not part
// of the image) the control block, the write log, the code and the guest's version table.
constexpr uint32_t kCtrl = 0xC0000000u;  // the region must end below this
constexpr uint32_t kLog = kCtrl + 0x1000;
constexpr uint32_t kCode = kCtrl + 0x2000;
constexpr uint32_t kStackTop = kCtrl + 0x4000;  // unused by the guest; a sane ESP anyway
constexpr uint32_t kVersions = kCtrl + 0x4000;  // uint32 per owned slot
constexpr uint32_t kLogEntryBytes = 16;         // {page, version, TSC cycles of the stores, 0}
constexpr uint32_t kLogEntries = 0x1000 / kLogEntryBytes;
constexpr uint32_t kUnthrottledBatch = 64;  // writes per progress exit when not rate-limited

// Control block fields (guest-physical addresses).
constexpr uint32_t kPause = kCtrl + 0x00;            // host -> guest: stop at the loop top
constexpr uint32_t kCount = kCtrl + 0x04;            // log entries not yet drained by the host
constexpr uint32_t kInflightPage = kCtrl + 0x08;     // the write being stored, if any
constexpr uint32_t kInflightVersion = kCtrl + 0x0C;  // 0: no write in flight
constexpr uint32_t kIndex = kCtrl + 0x10;
constexpr uint32_t kStride = kCtrl + 0x14;
constexpr uint32_t kOwned = kCtrl + 0x18;
constexpr uint32_t kPattern = kCtrl + 0x1C;  // 0 sequential, 1 random, 2 hotset
constexpr uint32_t kHot = kCtrl + 0x20;
constexpr uint32_t kRng = kCtrl + 0x24;
constexpr uint32_t kCursor = kCtrl + 0x28;
constexpr uint32_t kBatch = kCtrl + 0x2C;
constexpr uint32_t kT0 = kCtrl + 0x30;

constexpr uint8_t kPortPause = 0x10;  // OUT: "I stopped at the loop top as asked"
constexpr uint8_t kPortLog = 0x11;    // OUT: "the log holds a batch"

enum Label { kTop, kGo, kNotSeq, kNoWrap, kHotset, kHotAll, kChosen, kAbort };

// eax = next xorshift32 of [kRng]; clobbers edx.
void EmitRng(Assembler& a) {
  a.movLoad(EAX, kRng);
  a.mov(EDX, EAX), a.shl(EDX, 13), a.alu(kXor, EAX, EDX);
  a.mov(EDX, EAX), a.shr(EDX, 17), a.alu(kXor, EAX, EDX);
  a.mov(EDX, EAX), a.shl(EDX, 5), a.alu(kXor, EAX, EDX);
  a.movStore(kRng, EAX);
}

// The guest: pick a slot by pattern, store the page's three stamps, commit the version, log
// (page, version, cycles), and exit through port I/O when the log holds a batch. The in-flight
// record brackets the stores so the host can tell, at any exit, whether a page is half-written.
Assembler GuestProgram() {
  Assembler a;
  a.bind(kTop);
  a.cmpMemImm(kPause, 0);
  a.jcc(kEqual, kGo);
  a.out(kPortPause);
  a.jmp(kTop);

  a.bind(kGo);
  a.cmpMemImm(kPattern, 0);
  a.jcc(kNotEqual, kNotSeq);
  a.movLoad(EAX, kCursor);  // sequential: ebx = cursor++ % owned
  a.mov(EBX, EAX);
  a.inc(EAX);
  a.aluLoad(kCmp, EAX, kOwned);
  a.jcc(kBelow, kNoWrap);
  a.alu(kXor, EAX, EAX);
  a.bind(kNoWrap);
  a.movStore(kCursor, EAX);
  a.jmp(kChosen);

  a.bind(kNotSeq);
  EmitRng(a);
  a.cmpMemImm(kPattern, 2);
  a.jcc(kEqual, kHotset);
  a.alu(kXor, EDX, EDX);  // random: ebx = rng % owned
  a.movLoad(ECX, kOwned);
  a.div(ECX);
  a.mov(EBX, EDX);
  a.jmp(kChosen);

  a.bind(kHotset);  // 90% of writes go to the hottest 10% of the owned slots
  a.alu(kXor, EDX, EDX);
  a.movImm(ECX, 10);
  a.div(ECX);
  a.mov(ESI, EDX);
  EmitRng(a);
  a.alu(kXor, EDX, EDX);
  a.movLoad(ECX, kOwned);
  a.aluImm(kCmp, ESI, 9);
  a.jcc(kAboveEq, kHotAll);
  a.movLoad(ECX, kHot);
  a.bind(kHotAll);
  a.div(ECX);
  a.mov(EBX, EDX);

  a.bind(kChosen);  // ebx = slot; edi = page = slot*stride + index; esi = version
  a.mov(EDI, EBX);
  a.imulLoad(EDI, kStride);
  a.aluLoad(kAdd, EDI, kIndex);
  a.movLoadIdx4(ESI, EBX, kVersions);
  a.inc(ESI);
  a.movStore(kInflightPage, EDI);
  a.movStore(kInflightVersion, ESI);
  // ecx = check word of MakeStamp(page, version)
  a.imulImm(ECX, EDI, 2654435761u);
  a.alu(kXor, ECX, ESI);
  a.aluImm(kXor, ECX, kStampMagic);
  a.mov(EBP, EDI);
  a.shl(EBP, 12);  // the page's guest-physical address
  a.rdtsc();
  a.movStore(kT0, EAX);
  for (size_t off : kStampOffsets) {
    const uint32_t o = static_cast<uint32_t>(off);
    a.movStoreBaseImm(EBP, o, kStampMagic);
    a.movStoreBase(EBP, o + 4, EDI);
    a.movStoreBase(EBP, o + 8, ESI);
    a.movStoreBase(EBP, o + 12, ECX);
  }
  a.rdtsc();
  a.aluLoad(kSub, EAX, kT0);
  a.movStoreIdx4(EBX, kVersions, ESI);  // commit
  a.movLoad(EDX, kCount);
  a.mov(EBP, EDX);
  a.shl(EBP, 4);
  a.movStoreBase(EBP, kLog, EDI);
  a.movStoreBase(EBP, kLog + 4, ESI);
  a.movStoreBase(EBP, kLog + 8, EAX);
  a.inc(EDX);
  a.movStore(kCount, EDX);
  a.movStoreImm(kInflightVersion, 0);
  a.aluLoad(kCmp, EDX, kBatch);
  a.jcc(kBelow, kTop);
  a.out(kPortLog);
  a.jmp(kTop);

  // The host resumes the guest here after abandoning a write whose store faulted (EFAULT).
  a.bind(kAbort);
  a.movStoreImm(kInflightVersion, 0);
  a.jmp(kTop);
  return a;
}

// The signal that kicks a vCPU thread out of KVM_RUN. It is blocked in the thread except inside
// KVM_RUN (KVM_SET_SIGNAL_MASK), so a kick sent while the thread is outside the guest stays
// pending and makes the next KVM_RUN return at once: no kick is lost. The handler never runs
// (KVM returns EINTR instead of delivering), but one must be installed: with the default action
// the kernel would treat the signal as fatal to the whole process. Process-wide, installed once.
int KickSignal() { return SIGRTMIN + 5; }
void InstallKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    ::sigaction(KickSignal(), &sa, nullptr);
  });
}

std::string ExitName(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_HLT:
      return "hlt";
    case KVM_EXIT_SHUTDOWN:
      return "shutdown";
    case KVM_EXIT_FAIL_ENTRY:
      return "fail_entry";
    case KVM_EXIT_INTERNAL_ERROR:
      return "internal_error";
    case KVM_EXIT_EXCEPTION:
      return "exception";
    case KVM_EXIT_MEMORY_FAULT:
      return "memory_fault";
    default:
      return "exit_" + std::to_string(reason);
  }
}

class KvmWriter final : public WriterThread {
 public:
  const char* kind() const override { return "kvm"; }
  Status open(const WriterConfig& config, size_t index, Region& region);
  void run(WriterContext& ctx) override;
  void kick() override;

 private:
  uint32_t* word(uint32_t gpa) const { return reinterpret_cast<uint32_t*>(ctrl_.data() + (gpa - kCtrl)); }
  uint32_t load(uint32_t gpa) const { return __atomic_load_n(word(gpa), __ATOMIC_ACQUIRE); }
  void store(uint32_t gpa, uint32_t v) { __atomic_store_n(word(gpa), v, __ATOMIC_RELEASE); }
  bool inflight() const { return load(kInflightVersion) != 0; }
  void drainLog(WriterContext& ctx);
  void noteLostWrite(WriterContext& ctx);
  bool abandonFaultedWrite(WriterContext& ctx);
  void consumeKicks();
  void halt(WriterContext& ctx, const std::string& reason);

  UniqueFd kvm_, vm_, vcpu_;
  Mapping run_, ctrl_;
  size_t regionPages_ = 0;
  size_t owned_ = 0;
  uint32_t abortRip_ = 0;
  double nsPerCycle_ = 0;
  uint64_t intervalNs_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> lost_;  // (page, version) whose stores were dropped
  std::atomic<bool> started_{false};
  pthread_t thread_{};
};

Status Unsupported(const std::string& why) { return Status::Fail("EUNSUPPORTED", "kvm writer: " + why); }

Status KvmWriter::open(const WriterConfig& config, size_t index, Region& region) {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Unsupported("open /dev/kvm: " + Status::ErrnoName(err) + " (" + std::strerror(err) +
                       "); needs the kvm module and read-write access to /dev/kvm");
  }
  kvm_.reset(fd);
  const int api = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) return Unsupported("KVM_GET_API_VERSION is " + std::to_string(api) + ", not 12");
  if (::ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) return Unsupported("no KVM_CAP_USER_MEMORY");
  if (region.bytes() > kCtrl)
    return Unsupported("the region is larger than 3 GiB, which the flat 32-bit guest cannot address");

  int vm;
  do vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  while (vm < 0 && errno == EINTR);
  if (vm < 0) return Status::Sys("kvm writer: KVM_CREATE_VM", "ioctl", errno);
  vm_.reset(vm);
  // Only Intel needs it (a TSS for real-mode emulation); placed above every memslot.
  if (::ioctl(vm, KVM_SET_TSS_ADDR, 0xFFFBD000ul) != 0) return Status::Sys("kvm writer: KVM_SET_TSS_ADDR", "ioctl", errno);

  const size_t threads = config.kinds.size();
  regionPages_ = region.pages();
  owned_ = regionPages_ > index ? (regionPages_ - index + threads - 1) / threads : 0;
  const size_t ctrlBytes = (kVersions - kCtrl) + (owned_ * 4 + kPageSize - 1) / kPageSize * kPageSize;
  void* ctrl = ::mmap(nullptr, ctrlBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ctrl == MAP_FAILED) return Status::Sys("kvm writer: mmap of the guest control slot", "mmap", errno);
  ctrl_ = Mapping(ctrl, ctrlBytes);

  // Memslot 0: guest-physical [0, region) is the region itself. Memslot 1: the control slot.
  kvm_userspace_memory_region slot{};
  slot.slot = 0;
  slot.guest_phys_addr = 0;
  slot.memory_size = region.bytes();
  slot.userspace_addr = reinterpret_cast<uint64_t>(region.base());
  if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) != 0)
    return Status::Sys("kvm writer: KVM_SET_USER_MEMORY_REGION(region)", "ioctl", errno);
  slot.slot = 1;
  slot.guest_phys_addr = kCtrl;
  slot.memory_size = ctrlBytes;
  slot.userspace_addr = reinterpret_cast<uint64_t>(ctrl);
  if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) != 0)
    return Status::Sys("kvm writer: KVM_SET_USER_MEMORY_REGION(control)", "ioctl", errno);

  int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) return Status::Sys("kvm writer: KVM_CREATE_VCPU", "ioctl", errno);
  vcpu_.reset(vcpu);
  const int runBytes = ::ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (runBytes <= 0) return Status::Sys("kvm writer: KVM_GET_VCPU_MMAP_SIZE", "ioctl", errno);
  void* run = ::mmap(nullptr, static_cast<size_t>(runBytes), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) return Status::Sys("kvm writer: mmap of kvm_run", "mmap", errno);
  run_ = Mapping(run, static_cast<size_t>(runBytes));

  // Flat 32-bit protected mode, no paging: CR0.PE and 4 GiB segments straight into the
  // segment caches (no GDT needed: the guest never reloads a segment register).
  kvm_sregs sregs;
  if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0) return Status::Sys("kvm writer: KVM_GET_SREGS", "ioctl", errno);
  kvm_segment seg{};
  seg.base = 0;
  seg.limit = 0xFFFFFFFF;
  seg.present = 1;
  seg.db = 1;
  seg.s = 1;
  seg.g = 1;
  seg.selector = 2 << 3;
  seg.type = 3;  // data: read/write, accessed
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
  seg.selector = 1 << 3;
  seg.type = 11;  // code: execute/read, accessed
  sregs.cs = seg;
  sregs.cr0 |= 1;
  sregs.cr4 = 0;
  sregs.efer = 0;
  if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0) return Status::Sys("kvm writer: KVM_SET_SREGS", "ioctl", errno);
  kvm_regs regs{};
  regs.rip = kCode;
  regs.rsp = kStackTop;
  regs.rflags = 2;
  if (::ioctl(vcpu, KVM_SET_REGS, &regs) != 0) return Status::Sys("kvm writer: KVM_SET_REGS", "ioctl", errno);

  Assembler program = GuestProgram();
  if (!program.finish() || program.bytes.size() > kStackTop - kCode)
    return Status::Fail("EINTERNAL", "kvm writer: the guest program does not assemble");
  std::memcpy(ctrl_.data() + (kCode - kCtrl), program.bytes.data(), program.bytes.size());
  abortRip_ = kCode + static_cast<uint32_t>(program.offsetOf(kAbort));

  store(kIndex, static_cast<uint32_t>(index));
  store(kStride, static_cast<uint32_t>(threads));
  store(kOwned, static_cast<uint32_t>(owned_));
  store(kPattern, config.pattern == Pattern::kSequential ? 0 : config.pattern == Pattern::kHotset ? 2 : 1);
  store(kHot, static_cast<uint32_t>(owned_ / 10 ? owned_ / 10 : 1));
  const uint32_t seed = static_cast<uint32_t>(config.seed * 2654435761u + index * 40503u + 1);
  store(kRng, seed ? seed : 1);
  const double perThreadRate = config.ratePagesPerSec / static_cast<double>(threads);
  intervalNs_ = perThreadRate > 0 ? static_cast<uint64_t>(1e9 / perThreadRate) : 0;
  // Rate-limited: one write per entry so the host paces every write.
  store(kBatch, intervalNs_ ? 1 : kUnthrottledBatch);
  static_assert(kUnthrottledBatch <= kLogEntries, "log holds a batch");
  for (size_t s = 0; s < owned_; ++s) store(kVersions + static_cast<uint32_t>(4 * s), region.initialVersion(s * threads + index));

  // Guest TSC ticks -> ns for the per-write latency the guest measures.
  const long khz = ::ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
  if (khz > 0) {
    nsPerCycle_ = 1e6 / static_cast<double>(khz);
  } else {
    const uint64_t t0 = NowNs(), c0 = __rdtsc();
    ::usleep(20000);
    nsPerCycle_ = static_cast<double>(NowNs() - t0) / static_cast<double>(__rdtsc() - c0);
  }
  InstallKickHandler();
  return Status::Ok();
}

void KvmWriter::kick() {
  store(kPause, 1);
  if (started_.load()) ::pthread_kill(thread_, KickSignal());
}

void KvmWriter::consumeKicks() {
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, KickSignal());
  const timespec zero{0, 0};
  while (::sigtimedwait(&kick, nullptr, &zero) > 0) {
  }
}

// Reports each logged write: landed, or failed when its stores were dropped (MMIO exits).
void KvmWriter::drainLog(WriterContext& ctx) {
  const uint32_t n = std::min(load(kCount), kLogEntries);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t* e = word(kLog + i * kLogEntryBytes);
    const uint32_t page = e[0], version = e[1];
    const uint64_t ns = static_cast<uint64_t>(e[2] * nsPerCycle_);
    auto it = std::find(lost_.begin(), lost_.end(), std::make_pair(page, version));
    if (it != lost_.end()) {
      lost_.erase(it);
      ctx.failed(EFAULT, ns);
    } else if (page < regionPages_) {
      ctx.landed(page, version, ns);
    }
  }
  store(kCount, 0);
}

// An MMIO exit inside the region: KVM could not map the page writable (e.g. mprotect) and
// emulated the store as MMIO, which we drop. The write in flight is recorded as lost.
void KvmWriter::noteLostWrite(WriterContext& ctx) {
  ctx.countExit("mmio");
  const uint32_t version = load(kInflightVersion);
  if (version == 0) return;
  const std::pair<uint32_t, uint32_t> w{load(kInflightPage), version};
  if (lost_.empty() || lost_.back() != w) lost_.push_back(w);
}

// KVM_RUN failed with EFAULT on a store into the region: the guest cannot get past it, so the
// write is abandoned (counted failed, not committed) and the guest resumes at its abort label.
bool KvmWriter::abandonFaultedWrite(WriterContext& ctx) {
  ctx.countExit("efault");
  if (!inflight()) return false;
  ctx.failed(EFAULT, 0);
  kvm_regs regs;
  if (::ioctl(vcpu_.get(), KVM_GET_REGS, &regs) != 0) return false;
  regs.rip = abortRip_;
  return ::ioctl(vcpu_.get(), KVM_SET_REGS, &regs) == 0;
}

// The vCPU cannot continue: record why, then only honour pauses until stopped.
void KvmWriter::halt(WriterContext& ctx, const std::string& reason) {
  ctx.countExit(reason);
  ctx.failed(EIO, 0);
  while (!ctx.stopRequested()) {
    if (ctx.pauseRequested())
      ctx.park();
    else
      ctx.waitPaced(NowNs() + 50000000ull);
  }
}

void KvmWriter::run(WriterContext& ctx) {
  if (owned_ == 0) return ctx.idleUntilStop();
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, KickSignal());
  pthread_sigmask(SIG_BLOCK, &kick, nullptr);
  sigset_t inGuest;
  pthread_sigmask(SIG_BLOCK, nullptr, &inGuest);
  sigdelset(&inGuest, KickSignal());
  // struct kvm_signal_mask {u32 len; u8 sigset[];}. Built by hand: in C++ the header's flex-array
  // wrapper has a different size, which changes the ioctl number.
  struct {
    uint32_t len;
    uint8_t sigset[8];  // the kernel's sigset_t
  } mask;
  mask.len = sizeof mask.sigset;
  std::memcpy(mask.sigset, &inGuest, sizeof mask.sigset);
  if (::ioctl(vcpu_.get(), _IOC(_IOC_WRITE, KVMIO, 0x8b, sizeof(uint32_t)), &mask) != 0)
    return halt(ctx, "set_signal_mask_" + Status::ErrnoName(errno));
  thread_ = pthread_self();
  started_.store(true);

  auto* run = reinterpret_cast<kvm_run*>(run_.data());
  uint64_t nextNs = NowNs();
  while (!ctx.stopRequested()) {
    // Park only between writes: a half-stored page must be finished first (the guest does it,
    // then stops at its loop top because kPause is set).
    if (ctx.pauseRequested() && !inflight()) {
      drainLog(ctx);
      consumeKicks();
      ctx.park();
      nextNs = NowNs();
      continue;
    }
    store(kPause, ctx.pauseRequested() ? 1 : 0);
    if (intervalNs_ && !inflight() && !ctx.pauseRequested()) {
      const uint64_t now = NowNs();
      if (now < nextNs && !ctx.waitPaced(nextNs)) continue;
      nextNs += intervalNs_;
      if (now > nextNs + 100 * intervalNs_) nextNs = now;
    }
    if (::ioctl(vcpu_.get(), KVM_RUN, 0) != 0) {
      const int err = errno;
      if (err == EINTR || err == EAGAIN) {
        ctx.countExit("intr");
        consumeKicks();
        drainLog(ctx);
        continue;
      }
      if (err == EFAULT && abandonFaultedWrite(ctx)) continue;
      return halt(ctx, "run_error_" + Status::ErrnoName(err));
    }
    switch (run->exit_reason) {
      case KVM_EXIT_IO:
        if (run->io.direction != KVM_EXIT_IO_OUT || (run->io.port != kPortLog && run->io.port != kPortPause))
          return halt(ctx, "unexpected_io");
        ctx.countExit(run->io.port == kPortLog ? "io_log" : "io_pause");
        drainLog(ctx);
        break;
      case KVM_EXIT_MMIO:
        if (!run->mmio.is_write || run->mmio.phys_addr >= regionPages_ * kPageSize) return halt(ctx, "stray_mmio");
        noteLostWrite(ctx);  // re-entering completes the (dropped) store
        break;
      case KVM_EXIT_INTR:
        ctx.countExit("intr");
        consumeKicks();
        drainLog(ctx);
        break;
      default:
        return halt(ctx, ExitName(run->exit_reason));
    }
  }
  drainLog(ctx);
}

}  // namespace

Status CreateKvmWriter(const WriterConfig& config, size_t index, Region& region,
                       std::unique_ptr<WriterThread>* out) {
  auto w = std::make_unique<KvmWriter>();
  Status st = w->open(config, index, region);
  if (st.ok()) *out = std::move(w);
  return st;
}

#else

Status CreateKvmWriter(const WriterConfig&, size_t, Region&, std::unique_ptr<WriterThread>*) {
  return Status::Fail("EUNSUPPORTED", "kvm writer: the guest is x86 code; this is not an x86-64 host");
}

#endif

}  // namespace cowbench
