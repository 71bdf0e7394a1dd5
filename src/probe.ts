/** Kernel feature probes (by behaviour, in native/common/probe.cc) with a one-line meaning each. */
import { native, type ProbeEntry } from './native.js';

const MEANING: Record<string, string> = {
  userfaultfd: 'userfaultfd(2) can be opened (syscall, /dev/userfaultfd, or user-mode only)',
  'uffd.kernel_faults':
    'faults raised by the kernel (read(2), io_uring, process_vm_writev, KVM) are served, not only user-space writes',
  'uffd.wp': 'write-protect faults (UFFDIO_REGISTER_MODE_WP): the uffd backend',
  'uffd.wp_unpopulated': 'untouched pages can be write-protected without pre-faulting them',
  'uffd.wp_async': 'async write-protect (the kernel resolves faults itself): softdirty wp-async engine',
  'uffd.sigbus': 'SIGBUS instead of a handler-thread message: uffd --delivery sigbus',
  'uffd.wp_hugetlbfs_shmem': 'write-protect of hugetlbfs and shmem (not used for anonymous regions)',
  'uffd.thread_id': 'fault messages carry the faulting thread id',
  'uffd.wp_behaviour': 'a write-protected page really shows as protected (behavioural check)',
  pagemap_scan: 'PAGEMAP_SCAN ioctl (Linux 6.7+): fetch-and-reprotect written pages in one call',
  soft_dirty: 'clear_refs 4 + pagemap bit 55 really track writes: softdirty clear-refs engine',
  thp: 'transparent hugepages: --hugepage regions and --granularity 2m',
  'vm.max_map_count': 'the mapping limit that mprotect-based snapshots exhaust',
  kvm: '/dev/kvm usable: kvm writers (a real vCPU writing the region)',
  io_uring: 'io_uring usable: io_uring kernel writers',
  privileges: 'who may use userfaultfd here',
};

export interface ProbeRow extends ProbeEntry {
  meaning: string;
}

let cached: ProbeRow[] | undefined;

/** All probes; cached for the life of the process (they touch process-wide state). */
export function probeKernel(): ProbeRow[] {
  cached ??= native.probe().map((p) => ({ ...p, meaning: MEANING[p.name] ?? '' }));
  return cached;
}

export function probeRow(name: string): ProbeRow | undefined {
  return probeKernel().find((p) => p.name === name);
}
