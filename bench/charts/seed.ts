/** Each claim as the 2016 qemu-devel thread stated it (seed/000_7cbb33e6999f34ff.txt), quoted briefly. */

export interface SeedQuote {
  who: string;
  date: string;
  text: string;
}

export const SEED_THREAD = '“Async savevm using userfaultfd(2)”, qemu-devel, October 2016';

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
