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
// of the image) the control block, the code, the page tables, the write log and the guest's
// version table. The guest runs in 64-bit mode at CPL 3 (IOPL 3, so OUT is allowed): under a
// pagetable-based nested hypervisor (PVM) that is the one mode that runs natively; a CPL 0 or
// 32-bit guest is emulated there at about 0.3-0.5 us an instruction (measured here: 60 M
// iterations/s of a store loop at CPL 3 against 0.4-0.6 M at CPL 0 or in 32-bit mode). It writes
// without exits: one signed budget counter, set by the host at each entry, is all it checks; at
// zero it leaves with an OUT to kDonePort. The host sizes the budget to about 1 ms of writes
// (unthrottled: at the rate the guest was seen to write; paced: the writes due), sets it to 0 to
// stop it for a pause, and drains the log at every exit.
constexpr uint32_t kCtrl = 0xC0000000u;  // the region must end below this
constexpr uint32_t kCode = kCtrl + 0x1000;
constexpr uint32_t kStackTop = kCtrl + 0x3000;    // unused by the guest; a sane RSP anyway
constexpr uint32_t kPageTables = kCtrl + 0x4000;  // PML4, 2 PDPTs, 4 PDs: 7 pages
constexpr uint32_t kLog = kCtrl + 0x10000;
constexpr uint32_t kLogEntryBytes = 16;  // {TSC cycles of the stores, page, version, check}
constexpr uint32_t kLogEntries = 65536;  // a ring (a power of two); one budget grants fewer writes
constexpr uint32_t kVersions = kLog + kLogEntries * kLogEntryBytes;  // uint32 per owned slot
constexpr uint64_t kEntryNs = 1000000;                               // the guest leaves the vCPU about this often
constexpr uint8_t kDonePort = 0xCB;                                  // OUT here: the budget is spent
constexpr uint8_t kWarmPort = 0xCC;                                  // OUT here: the warm-up pass is done

// Control block fields (guest-physical addresses).
constexpr uint32_t kBudget = kCtrl + 0x00;           // host -> guest: writes left (signed); <= 0: leave
constexpr uint32_t kLogHead = kCtrl + 0x04;          // guest: bytes ever logged (wraps); only it writes this
constexpr uint32_t kInflightPage = kCtrl + 0x08;     // the write being stored, if any
constexpr uint32_t kInflightVersion = kCtrl + 0x0C;  // 0: no write in flight
constexpr uint32_t kRng = kCtrl + 0x10;
constexpr uint32_t kCursor = kCtrl + 0x14;
constexpr uint32_t kStamp = kCtrl + 0x20;  // the 16-byte stamp being written: {magic, page, version, check}

enum Label { kTop, kLoop, kNoWrap, kCold, kChosen, kOutOfBudget, kAbort, kWarm, kWarmLoop, kWarmNext, kWarmDone };

// eax = the next value of the LCG in [kRng] (its high bits are the good ones: callers scale by
// multiplying, never by a modulo of the low bits).
void EmitRng(Assembler& a) {
  a.imulLoadImm(EAX, kRng, 1664525u);
  a.aluImm(kAdd, EAX, 1013904223u);
  a.movStore(kRng, EAX);
}

// ebx = floor(eax * n / 2^32): a slot in [0, n). Clobbers edx.
void EmitScale(Assembler& a, uint32_t n) {
  a.movImm(EDX, n);
  a.mul(EDX);
  a.mov(EBX, EDX);
}

struct GuestShape {
  Pattern pattern;
  uint32_t index, stride, owned, hot;
};

// The guest, specialised to its pattern and slots (assembled with them as immediates): while the
// budget lasts, pick a slot, store the page's three stamps (one 16-byte SSE store each), commit
// the version, log the write: about 40 instructions a write. The in-flight record brackets the
// stores so the host can tell,
// at any exit, whether a page is half-written.
Assembler GuestProgram(const GuestShape& g) {
  Assembler a;
  a.bind(kTop);  // entered here, and after each exit: the host may have set a zero budget
  a.cmpMemImm(kBudget, 0);
  a.jcc(kLessEq, kOutOfBudget);

  a.bind(kLoop);
  switch (g.pattern) {  // ebx = slot
    case Pattern::kSequential:
      a.movLoad(EBX, kCursor);
      a.mov(EAX, EBX);
      a.inc(EAX);
      a.aluImm(kCmp, EAX, g.owned);
      a.jcc(kBelow, kNoWrap);
      a.alu(kXor, EAX, EAX);
      a.bind(kNoWrap);
      a.movStore(kCursor, EAX);
      break;
    case Pattern::kHotset:  // 90% of writes go to the hottest 10% of the owned slots
      EmitRng(a);
      a.mov(ECX, EAX);
      EmitRng(a);
      a.aluImm(kCmp, ECX, 0xE6666666u);  // 0.9 * 2^32
      a.jcc(kAboveEq, kCold);
      EmitScale(a, g.hot);
      a.jmp(kChosen);
      a.bind(kCold);
      EmitScale(a, g.owned);
      break;
    default:
      EmitRng(a);
      EmitScale(a, g.owned);
      break;
  }

  a.bind(kChosen);  // edi = page = slot*stride + index; esi = version; ecx = the stamp's check word
  a.imulImm(EDI, EBX, g.stride);
  a.aluImm(kAdd, EDI, g.index);
  a.movLoadIdx4(ESI, EBX, kVersions);
  a.inc(ESI);
  a.movStore(kInflightPage, EDI);
  a.movStore(kInflightVersion, ESI);
  a.imulImm(ECX, EDI, 2654435761u);
  a.alu(kXor, ECX, ESI);
  a.aluImm(kXor, ECX, kStampMagic);
  a.movStore(kStamp + 4, EDI);  // kStamp's magic is stored once by the host
  a.movStore(kStamp + 8, ESI);
  a.movStore(kStamp + 12, ECX);
  a.movupsLoad(kStamp);
  a.mov(EBP, EDI);
  a.shl(EBP, 12);  // the page's guest-physical address
  a.rdtsc();
  a.mov(ECX, EAX);
  for (size_t off : kStampOffsets) a.movupsStoreBase(EBP, static_cast<uint32_t>(off));
  a.rdtsc();
  a.alu(kSub, EAX, ECX);                // TSC cycles of the three stores
  a.movStoreIdx4(EBX, kVersions, ESI);  // commit
  // Append to the ring; the head advances in one instruction after the entry is complete, and the
  // host never writes it, so an exit anywhere in between loses or repeats nothing.
  a.movLoad(EDX, kLogHead);
  a.aluImm(kAnd, EDX, kLogEntries * kLogEntryBytes - 1);
  a.movupsStoreBase(EDX, kLog);  // {magic, page, version, check}, then the cycles over the magic
  a.movStoreBase(EDX, kLog, EAX);
  a.aluMemImm(kAdd, kLogHead, kLogEntryBytes);
  a.movStoreImm(kInflightVersion, 0);
  a.decMem(kBudget);
  a.jcc(kGreater, kLoop);

  a.bind(kOutOfBudget);
  a.out(kDonePort);
  a.jmp(kTop);

  // The host resumes the guest here after abandoning a write whose store faulted (EFAULT).
  a.bind(kAbort);
  a.movStoreImm(kInflightVersion, 0);
  a.jmp(kTop);

  // Run once before the writes start: every owned page's first dword is loaded and, if the page
  // was filled (its version is not 0), stored back unchanged, so the hypervisor maps each page
  // writable (EPT, or the shadow page tables of a pagetable-based host) before the baseline is
  // timed, as in a guest that has been running (a load alone leaves the mapping read-only here:
  // measured, the baseline stays at a few tens of thousands of writes/s). An unfilled page is only
  // loaded, so --fill none and half keep their untouched pages unpopulated. The contents do not
  // change; nothing else writes the region yet.
  a.bind(kWarm);
  a.alu(kXor, EBX, EBX);
  a.bind(kWarmLoop);
  a.aluImm(kCmp, EBX, g.owned);
  a.jcc(kAboveEq, kWarmDone);
  a.movLoadIdx4(ESI, EBX, kVersions);
  a.imulImm(EDI, EBX, g.stride);
  a.aluImm(kAdd, EDI, g.index);
  a.shl(EDI, 12);
  a.movLoadBase(EAX, EDI, 0);
  a.aluImm(kCmp, ESI, 0);
  a.jcc(kEqual, kWarmNext);
  a.movStoreBase(EDI, 0, EAX);
  a.bind(kWarmNext);
  a.inc(EBX);
  a.jmp(kWarmLoop);
  a.bind(kWarmDone);
  a.out(kWarmPort);
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
  Status warmUp();
  void halt(WriterContext& ctx, const std::string& reason);

  UniqueFd kvm_, vm_, vcpu_;
  Mapping run_, ctrl_;
  size_t regionPages_ = 0;
  size_t owned_ = 0;
  uint32_t abortRip_ = 0;
  double nsPerCycle_ = 0;
  uint64_t intervalNs_ = 0;
  uint32_t grantMin_ = 1;                            // paced: writes due before the host lets the guest run again
  uint32_t logTail_ = 0;                             // bytes of the guest's log ring the host has read
  uint32_t perEntry_ = 64;                           // writes the guest does in about kEntryNs, as last seen
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
    return Unsupported("the region is larger than 3 GiB, which the guest's physical layout does not hold");

  int vm;
  do vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  while (vm < 0 && errno == EINTR);
  if (vm < 0) return Status::Sys("kvm writer: KVM_CREATE_VM", "ioctl", errno);
  vm_.reset(vm);
  // Only Intel needs it (a TSS for real-mode emulation); placed above every memslot.
  if (::ioctl(vm, KVM_SET_TSS_ADDR, 0xFFFBD000ul) != 0)
    return Status::Sys("kvm writer: KVM_SET_TSS_ADDR", "ioctl", errno);

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

  // 64-bit mode at CPL 3: 4-level page tables in the control slot map [0, 4 GiB) onto itself
  // and its top GiB again at the top of the address space (where the guest's sign-extended
  // disp32 addresses of the control slot land), all with 2 MiB pages; segments go straight into
  // the segment caches (no GDT or IDT: the guest never reloads a segment and takes no exception;
  // one would shut the vCPU down, which the host reports as the exit "shutdown").
  constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kLarge = 0x80, kTable = kPresent | kWritable | kUser;
  auto* pt = reinterpret_cast<uint64_t*>(ctrl_.data() + (kPageTables - kCtrl));  // 512 entries a page
  uint64_t* pml4 = pt;
  uint64_t* pdptLow = pt + 512;
  uint64_t* pdptHigh = pt + 2 * 512;
  const uint64_t pd0 = kPageTables + 3 * kPageSize;  // 4 PDs: [0, 1 GiB) ... [3 GiB, 4 GiB)
  pml4[0] = (kPageTables + kPageSize) | kTable;
  pml4[511] = (kPageTables + 2 * kPageSize) | kTable;
  for (uint64_t g = 0; g < 4; ++g) {
    pdptLow[g] = (pd0 + g * kPageSize) | kTable;
    uint64_t* pd = pt + (3 + g) * 512;
    for (uint64_t e = 0; e < 512; ++e) pd[e] = ((g * 512 + e) << 21) | kTable | kLarge;
  }
  pdptHigh[510] = (pd0 + 2 * kPageSize) | kTable;  // 0xFFFFFFFF80000000 -> 2 GiB
  pdptHigh[511] = (pd0 + 3 * kPageSize) | kTable;  // 0xFFFFFFFFC0000000 -> 3 GiB (the control slot)

  kvm_sregs sregs;
  if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0) return Status::Sys("kvm writer: KVM_GET_SREGS", "ioctl", errno);
  kvm_segment seg{};
  seg.base = 0;
  seg.limit = 0xFFFFFFFF;
  seg.present = 1;
  seg.dpl = 3;
  seg.s = 1;
  seg.g = 1;
  seg.selector = 2 << 3 | 3;
  seg.type = 3;  // data: read/write, accessed
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
  seg.selector = 1 << 3 | 3;
  seg.type = 11;  // code: execute/read, accessed
  seg.l = 1;      // 64-bit code (L=1 needs D=0)
  sregs.cs = seg;
  sregs.cr3 = kPageTables;
  sregs.cr4 = 1ull << 5 | 1ull << 9;  // PAE; OSFXSR (with CR0.EM off): the guest stores stamps with SSE
  sregs.cr0 = (sregs.cr0 | 1ull << 31 | 1ull << 1 | 1) & ~(1ull << 2);  // PG, MP, PE; not EM
  sregs.efer = 1ull << 8 | 1ull << 10;                                  // LME, LMA
  if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0) return Status::Sys("kvm writer: KVM_SET_SREGS", "ioctl", errno);
  const uint32_t seed = static_cast<uint32_t>(config.seed * 2654435761u + index * 40503u + 1);
  const GuestShape shape{config.pattern, static_cast<uint32_t>(index), static_cast<uint32_t>(threads),
                         static_cast<uint32_t>(owned_), static_cast<uint32_t>(owned_ / 10 ? owned_ / 10 : 1)};
  Assembler program = GuestProgram(shape);
  if (!program.finish() || program.bytes.size() > kStackTop - kCode)
    return Status::Fail("EINTERNAL", "kvm writer: the guest program does not assemble");
  std::memcpy(ctrl_.data() + (kCode - kCtrl), program.bytes.data(), program.bytes.size());
  abortRip_ = kCode + static_cast<uint32_t>(program.offsetOf(kAbort));
  store(kRng, seed);
  // The vCPU starts at the warm-up pass, which ends by jumping to the loop top.
  kvm_regs regs{};
  regs.rip = kCode + static_cast<uint32_t>(program.offsetOf(kWarm));
  regs.rsp = kStackTop;
  regs.rflags = 2 | 3 << 12;  // IOPL 3: OUT at CPL 3
  if (::ioctl(vcpu, KVM_SET_REGS, &regs) != 0) return Status::Sys("kvm writer: KVM_SET_REGS", "ioctl", errno);

  const double perThreadRate = config.ratePagesPerSec / static_cast<double>(threads);
  intervalNs_ = perThreadRate > 0 ? static_cast<uint64_t>(1e9 / perThreadRate) : 0;
  if (intervalNs_) grantMin_ = static_cast<uint32_t>(std::clamp<uint64_t>(kEntryNs / intervalNs_, 1, kLogEntries / 2));
  for (size_t s = 0; s < owned_; ++s)
    store(kVersions + static_cast<uint32_t>(4 * s), region.initialVersion(s * threads + index));

  // Guest TSC ticks -> ns for the per-write latency the guest measures.
  const long khz = ::ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
  if (khz > 0) {
    nsPerCycle_ = 1e6 / static_cast<double>(khz);
  } else {
    const uint64_t t0 = NowNs(), c0 = __rdtsc();
    ::usleep(20000);
    nsPerCycle_ = static_cast<double>(NowNs() - t0) / static_cast<double>(__rdtsc() - c0);
  }
  store(kStamp, kStampMagic);
  InstallKickHandler();
  return warmUp();
}

// Runs the guest's warm-up pass (where the vCPU starts) to its OUT, on the creating thread; the
// vCPU then continues at its loop top on the writer thread, with a zero budget until run() grants one.
Status KvmWriter::warmUp() {
  auto* run = reinterpret_cast<kvm_run*>(run_.data());
  for (;;) {
    if (::ioctl(vcpu_.get(), KVM_RUN, 0) != 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Sys("kvm writer: KVM_RUN (warm-up pass)", "ioctl", errno);
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == kWarmPort) return Status::Ok();
    return Status::Fail("EUNSUPPORTED", "kvm writer: the guest's warm-up pass left with exit " +
                                            ExitName(run->exit_reason) +
                                            "; this KVM cannot run a 64-bit guest at CPL 3");
  }
}

void KvmWriter::kick() {
  store(kBudget, 0);  // best effort (the guest may decrement it meanwhile): the signal is what counts
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
  const uint32_t head = load(kLogHead);
  for (; logTail_ != head; logTail_ += kLogEntryBytes) {
    const uint32_t* e = word(kLog + (logTail_ & (kLogEntries * kLogEntryBytes - 1)));
    const uint32_t page = e[1], version = e[2];
    const uint64_t ns = static_cast<uint64_t>(e[0] * nsPerCycle_);
    auto it = std::find(lost_.begin(), lost_.end(), std::make_pair(page, version));
    if (it != lost_.end()) {
      lost_.erase(it);
      ctx.failed(EFAULT, ns);
    } else if (page < regionPages_) {
      ctx.landed(page, version, ns);
    }
  }
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
  for (;;) {
    // Park or stop only between writes: a half-stored page must be finished first (with a zero
    // budget the guest finishes it and leaves).
    const bool stopping = ctx.stopRequested();
    if (stopping && !inflight()) break;
    if (!stopping && ctx.pauseRequested() && !inflight()) {
      drainLog(ctx);
      consumeKicks();
      ctx.park();
      nextNs = NowNs();
      continue;
    }
    const int32_t left = static_cast<int32_t>(load(kBudget));
    int32_t budget = std::max(left, 0);
    if (stopping || ctx.pauseRequested()) {
      budget = 0;
    } else if (!intervalNs_) {
      budget = static_cast<int32_t>(perEntry_);
    } else if (left <= 0) {
      // Paced and out of budget: wait until a batch of writes is due, then grant those due by now
      // (an offered load, as the page loop's: a backlog is caught up, not one older than 1 s), at
      // most about 1 ms of the guest's own speed so its writes keep being reported.
      const uint64_t due = nextNs + (grantMin_ - 1) * intervalNs_;
      if (NowNs() < due && !ctx.waitPaced(due)) continue;
      const uint64_t now = NowNs();
      if (now > nextNs + 1000000000ull) nextNs = now - 1000000000ull;
      const uint64_t grant = std::min<uint64_t>((now - nextNs) / intervalNs_ + 1, std::max(perEntry_, grantMin_));
      nextNs += grant * intervalNs_;
      budget = static_cast<int32_t>(grant);
    }
    store(kBudget, static_cast<uint32_t>(budget));
    const uint64_t enteredNs = NowNs();
    const int rc = ::ioctl(vcpu_.get(), KVM_RUN, 0);
    const int err = errno;
    // The next budget: about kEntryNs of writes at the speed just seen.
    const uint64_t inGuestNs = NowNs() - enteredNs;
    const int32_t done = budget - std::max(static_cast<int32_t>(load(kBudget)), 0);
    if (done > 0 && inGuestNs > 0) {
      const double seen = static_cast<double>(done) * kEntryNs / static_cast<double>(inGuestNs);
      perEntry_ = static_cast<uint32_t>(std::clamp((perEntry_ + seen) / 2, 8.0, static_cast<double>(kLogEntries / 2)));
    }
    drainLog(ctx);  // at every exit: the ring never holds more than one budget (+1 in flight)
    if (rc != 0) {
      if (err == EINTR || err == EAGAIN) {
        ctx.countExit("intr");
        consumeKicks();
        continue;
      }
      if (err == EFAULT && abandonFaultedWrite(ctx)) continue;
      return halt(ctx, "run_error_" + Status::ErrnoName(err));
    }
    switch (run->exit_reason) {
      case KVM_EXIT_MMIO:
        if (!run->mmio.is_write || run->mmio.phys_addr >= regionPages_ * kPageSize) return halt(ctx, "stray_mmio");
        noteLostWrite(ctx);  // re-entering completes the (dropped) store
        break;
      case KVM_EXIT_IO:  // the budget is spent (re-entering completes the OUT)
        if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != kDonePort) return halt(ctx, "stray_io");
        ctx.countExit("budget");
        break;
      case KVM_EXIT_INTR:
        ctx.countExit("intr");
        consumeKicks();
        break;
      default:
        return halt(ctx, ExitName(run->exit_reason));
    }
  }
  drainLog(ctx);
}

}  // namespace

Status CreateKvmWriter(const WriterConfig& config, size_t index, Region& region, std::unique_ptr<WriterThread>* out) {
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
