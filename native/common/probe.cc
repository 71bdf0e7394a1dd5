#include "probe.h"
#include "page.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "compat.h"
#include "fd.h"
#include "stamp.h"
#include "status.h"
#include "userfaultfd.h"

namespace cowbench {
namespace {

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

std::string ErrText(int err) { return Status::ErrnoName(err) + " (" + std::strerror(err) + ")"; }

Status PagemapEntry(int pagemapFd, const void* addr, uint64_t* entry) {
  off_t off = static_cast<off_t>(reinterpret_cast<uintptr_t>(addr) / kPageSize * 8);
  if (::pread(pagemapFd, entry, 8, off) != 8) return Status::Sys("probe: read /proc/self/pagemap", "pread", errno);
  return Status::Ok();
}

Mapping MapPages(size_t pages) {
  void* p = ::mmap(nullptr, pages * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? Mapping() : Mapping(p, pages * kPageSize);
}

struct FeatureName {
  unsigned long long bit;
  const char* name;
};
const FeatureName kUffdFeatures[] = {
    {UFFD_FEATURE_PAGEFAULT_FLAG_WP, "uffd.wp"},
    {UFFD_FEATURE_WP_UNPOPULATED, "uffd.wp_unpopulated"},
    {UFFD_FEATURE_WP_ASYNC, "uffd.wp_async"},
    {UFFD_FEATURE_SIGBUS, "uffd.sigbus"},
    {UFFD_FEATURE_WP_HUGETLBFS_SHMEM, "uffd.wp_hugetlbfs_shmem"},
    {UFFD_FEATURE_THREAD_ID, "uffd.thread_id"},
};

}  // namespace

ProbeResult ProbeUserfaultfd(unsigned long long* features, bool* userModeOnlyOut) {
  ProbeResult r{"userfaultfd", false, ""};
  UniqueFd fd;
  uint64_t available = 0;
  bool userModeOnly = false;
  Status st = OpenUserfaultfd(0, &available, &fd, &userModeOnly);
  if (!st.ok()) {
    r.detail = st.message;
    return r;
  }
  if (features) *features = available;
  if (userModeOnlyOut) *userModeOnlyOut = userModeOnly;
  r.ok = true;
  std::ostringstream os;
  os << "UFFD_API features 0x" << std::hex << available;
  if (userModeOnly)
    os << "; user-mode only (UFFD_USER_MODE_ONLY: no privilege for faults raised by the kernel): uffd serves "
          "cpu writers; kernel-side writers (read, io_uring, pvm, kvm) would fail with EFAULT";
  r.detail = os.str();
  return r;
}

ProbeResult ProbeUffdWriteProtect() {
  ProbeResult r{"uffd.wp_behaviour", false, ""};
  UniqueFd uffd;
  Status st = OpenUserfaultfd(UFFD_FEATURE_PAGEFAULT_FLAG_WP, nullptr, &uffd);
  if (!st.ok()) {
    r.detail = st.message;
    return r;
  }
  Mapping page = MapPages(1);
  if (!page.valid()) {
    r.detail = "mmap: " + ErrText(errno);
    return r;
  }
  page.data()[0] = 1;
  bool registered = false;
  st = RegisterWriteProtect(uffd.get(), page.data(), kPageSize, "uffd probe", &registered);
  if (!st.ok()) {
    r.detail = st.message;
    return r;
  }
  if (const int err = UffdWriteProtect(uffd.get(), page.data(), kPageSize, true)) {
    r.detail = "UFFDIO_WRITEPROTECT: " + ErrText(err);
    return r;
  }
  int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  UniqueFd pagemap(pm);
  uint64_t entry = 0;
  if (pm < 0 || !PagemapEntry(pm, page.data(), &entry).ok()) {
    r.detail = "write-protect accepted; /proc/self/pagemap unreadable to confirm it";
    r.ok = true;
    return r;
  }
  r.ok = (entry & COWBENCH_PM_UFFD_WP) != 0;
  r.detail = r.ok ? "a protected page shows the uffd-wp bit in pagemap"
                  : "UFFDIO_WRITEPROTECT succeeded but pagemap bit 57 (uffd-wp) is clear";
  (void)UffdWriteProtect(uffd.get(), page.data(), kPageSize, false);
  return r;
}

ProbeResult ProbePagemapScan() {
  ProbeResult r{"pagemap_scan", false, ""};
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.detail = "open /proc/self/pagemap: " + ErrText(errno);
    return r;
  }
  UniqueFd pagemap(fd);
  Mapping pages = MapPages(4);
  if (!pages.valid()) {
    r.detail = "mmap: " + ErrText(errno);
    return r;
  }
  pages.data()[0] = 1;
  page_region vec[4];
  pm_scan_arg arg{};
  arg.size = sizeof arg;
  arg.start = reinterpret_cast<uint64_t>(pages.data());
  arg.end = arg.start + pages.size();
  arg.vec = reinterpret_cast<uint64_t>(vec);
  arg.vec_len = 4;
  arg.category_mask = PAGE_IS_PRESENT;
  arg.return_mask = PAGE_IS_PRESENT;
  long n = ::ioctl(fd, PAGEMAP_SCAN, &arg);
  if (n < 0) {
    int err = errno;
    r.detail = "ioctl(PAGEMAP_SCAN): " + ErrText(err) + (err == ENOTTY || err == EINVAL ? "; needs Linux 6.7+" : "");
    return r;
  }
  r.ok = n == 1 && vec[0].start == arg.start && vec[0].end == arg.start + kPageSize;
  r.detail = r.ok ? "reports exactly the one present page of a test mapping"
                  : "PAGEMAP_SCAN answered but misreported a test mapping";
  return r;
}

ProbeResult ProbeSoftDirty() {
  ProbeResult r{"soft_dirty", false, ""};
  int cr = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (cr < 0) {
    r.detail = "open /proc/self/clear_refs: " + ErrText(errno);
    return r;
  }
  UniqueFd clearRefs(cr);
  int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    r.detail = "open /proc/self/pagemap: " + ErrText(errno);
    return r;
  }
  UniqueFd pagemap(pm);
  Mapping page = MapPages(1);
  if (!page.valid()) {
    r.detail = "mmap: " + ErrText(errno);
    return r;
  }
  volatile char* p = page.data();
  p[0] = 1;
  if (::write(cr, "4", 1) != 1) {
    r.detail = "writing 4 to /proc/self/clear_refs: " + ErrText(errno);
    return r;
  }
  uint64_t before = 0, after = 0;
  if (!PagemapEntry(pm, page.data(), &before).ok()) {
    r.detail = "read /proc/self/pagemap: " + ErrText(errno);
    return r;
  }
  p[0] = 2;
  if (!PagemapEntry(pm, page.data(), &after).ok()) {
    r.detail = "read /proc/self/pagemap: " + ErrText(errno);
    return r;
  }
  const bool clearedOk = (before & COWBENCH_PM_SOFT_DIRTY) == 0;
  const bool setOk = (after & COWBENCH_PM_SOFT_DIRTY) != 0;
  r.ok = clearedOk && setOk;
  if (r.ok)
    r.detail = "clear_refs 4 clears and a write sets pagemap bit 55";
  else if (!setOk)
    r.detail =
        "clear_refs accepted 4 but a written page never shows pagemap bit 55: kernel built without "
        "CONFIG_MEM_SOFT_DIRTY";
  else
    r.detail = "clear_refs 4 did not clear pagemap bit 55";
  return r;
}

std::vector<ProbeResult> ProbeAll() {
  std::vector<ProbeResult> out;
  unsigned long long features = 0;
  bool userModeOnly = false;
  out.push_back(ProbeUserfaultfd(&features, &userModeOnly));
  const bool haveUffd = out.back().ok;
  out.push_back({"uffd.kernel_faults", haveUffd && !userModeOnly,
                 !haveUffd      ? "userfaultfd unavailable"
                 : userModeOnly ? "no: only a user-mode-only userfaultfd opens here (unprivileged, "
                                  "vm.unprivileged_userfaultfd=0): writes by the kernel fail with EFAULT"
                                : "yes: faults raised inside the kernel are served too"});
  for (const auto& f : kUffdFeatures) {
    ProbeResult r{f.name, haveUffd && (features & f.bit) != 0, ""};
    r.detail = !haveUffd ? "userfaultfd unavailable" : r.ok ? "offered by UFFDIO_API" : "not offered by this kernel";
    out.push_back(r);
  }
  out.push_back(haveUffd ? ProbeUffdWriteProtect()
                         : ProbeResult{"uffd.wp_behaviour", false, "userfaultfd unavailable"});
  out.push_back(ProbePagemapScan());
  out.push_back(ProbeSoftDirty());

  std::string thp = ReadFirstLine("/sys/kernel/mm/transparent_hugepage/enabled");
  size_t lb = thp.find('['), rb = thp.find(']');
  std::string mode = lb != std::string::npos && rb != std::string::npos ? thp.substr(lb + 1, rb - lb - 1) : "";
  out.push_back({"thp", !mode.empty() && mode != "never",
                 mode.empty() ? "no /sys/kernel/mm/transparent_hugepage" : "mode " + mode});
  std::string maxMap = ReadFirstLine("/proc/sys/vm/max_map_count");
  out.push_back({"vm.max_map_count", !maxMap.empty(), maxMap.empty() ? "unreadable" : maxMap});

  int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) {
    out.push_back({"kvm", false, "open /dev/kvm: " + ErrText(errno)});
  } else {
    UniqueFd kvmFd(kvm);
    int version = ::ioctl(kvm, KVM_GET_API_VERSION, 0);
    out.push_back({"kvm", version == KVM_API_VERSION, "KVM_GET_API_VERSION " + std::to_string(version)});
  }

  io_uring_params params{};
  long ring = ::syscall(__NR_io_uring_setup, 1, &params);
  if (ring < 0) {
    int err = errno;
    std::string why = "io_uring_setup: " + ErrText(err);
    if (err == EPERM) why += "; see kernel.io_uring_disabled";
    out.push_back({"io_uring", false, why});
  } else {
    ::close(static_cast<int>(ring));
    out.push_back({"io_uring", true, "io_uring_setup works"});
  }

  std::string unpriv = ReadFirstLine("/proc/sys/vm/unprivileged_userfaultfd");
  std::string priv = "euid " + std::to_string(::geteuid());
  if (!unpriv.empty()) priv += ", vm.unprivileged_userfaultfd=" + unpriv;
  priv += ::access("/dev/userfaultfd", R_OK | W_OK) == 0 ? ", /dev/userfaultfd accessible"
                                                         : ", /dev/userfaultfd not accessible";
  out.push_back({"privileges", ::geteuid() == 0 || unpriv == "1", priv});
  return out;
}

}  // namespace cowbench
