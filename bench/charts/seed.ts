/** Each claim as the 2016 qemu-devel thread stated it (seed/000_7cbb33e6999f34ff.txt), quoted briefly. */

export interface SeedQuote {
  who: string;
  date: string;
  text: string;
}

export const SEED_THREAD = '“Async savevm using userfaultfd(2)”, qemu-devel, October 2016';
/** The thread in the qemu-devel archive (a search on its subject: the archive has no thread URL). */
export const SEED_ARCHIVE =
  'https://www.mail-archive.com/search?l=qemu-devel@nongnu.org&q=subject:%22Async+savevm+using+userfaultfd%22';

export const SEED_QUOTES: Record<string, SeedQuote> = {
  C1: {
    who: 'Andrea Arcangeli',
    date: '2016-10-13',
    text: 'you’d run out of vmas and mprotect will eventually fail on large virtual machines. That problem doesn’t exist with userfaultfd WP.',
  },
  C2: {
    who: 'Stefan Hajnoczi',
    date: '2016-10-12',
    text: 'the QEMU process’ SIGSEGV handler won’t be called when the vhost kernel thread faults.',
  },
  C3: {
    who: 'Andrea Arcangeli',
    date: '2016-10-13',
    text: 'userfaultfd is much faster too, no signals, […] no return to userland for the task that hits the fault',
  },
  C4: {
    who: 'Andrea Arcangeli',
    date: '2016-10-13',
    text: 'With fork() you are forced to have 100% of the VM size free […] With userfaultfd you can decide and configure it. Once the limit hits simply vmsave will behave synchronous',
  },
  C5: {
    who: 'Andrea Arcangeli',
    date: '2016-10-13',
    text: 'you can snapshot at 4k granularity by selectively splitting THPs […] THP cows with 2M granularity by default.',
  },
  C6: {
    who: 'Andrea Arcangeli',
    date: '2016-10-13',
    text: 'a userfaultfd async queue model […] would obsolete soft dirty […] you wouldn’t need to scan a worst case of 4TiB/4KiB pagetable entries',
  },
  C7: {
    who: 'Stefan Hajnoczi',
    date: '2016-10-12',
    text: 'live migration’s consistency point is when the guest is paused at the end of the iteration phase. The user has no control over *when*',
  },
  C8: {
    who: 'Hailiang Zhang',
    date: '2016-10-12',
    text: 'We can optimize it by extend the size of buffer and use multiple fds to handle the user fault.',
  },
};

/** A few words per claim and target, for the contents list and the section heads. */
export const SHORT_TITLES: Record<string, string> = {
  C1: 'mprotect runs out of mappings (ENOMEM); uffd-wp does not',
  C2: 'kernel writers (vhost) bypass a SIGSEGV handler; userfaultfd sees them',
  C3: 'uffd-wp faults are cheaper than SIGSEGV round trips',
  C4: 'fork may need 100% extra memory; uffd’s buffer bounds it',
  C5: 'uffd copies 4 KiB inside a THP; fork COWs 2 MiB',
  C6: 'soft-dirty scans every page table; PAGEMAP_SCAN reports only changes',
  C7: 'pre-copy captures the end of the run, not the requested moment',
  C8: 'more uffd handler threads raise throughput under write pressure',
  'target a': 'uffd snapshot ≥ 0.8× plain sequential write bandwidth',
  'target b': 'uffd arm pause ≤ 0.5× fork’s (≤ 0.1× with THP)',
  'target c': 'uffd fault ≤ 1.5× a SIGSEGV round trip',
  'target d': 'writers keep ≥ 0.8× their throughput during a uffd snapshot',
  'target e': 'uffd extra memory ≤ its buffer + 1 MiB',
  'target f': 'the default fault-around within 10% of the best fixed K on every workload',
  'target g': 'uffd arm pause ≤ 2 ms at 16 GiB',
};
