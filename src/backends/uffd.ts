import { booleanOption, choiceOption, countOption, type CowBackend } from '../backend.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE } from '../page.js';
import { probeRow } from '../probe.js';
import { copyPathOptions } from './shared-options.js';

const deliveryOption = choiceOption({
  flag: 'delivery',
  key: 'delivery',
  choices: ['thread', 'sigbus'],
  default: 'thread',
  description:
    "fault delivery: thread (handler threads read fault messages) or sigbus (UFFD_FEATURE_SIGBUS: the writing thread's SIGBUS handler copies and un-protects)",
});

/** The uffd backend's options; native/uffd/uffd_options.h reads the same keys. */
const options = [
  countOption({
    flag: 'handlers',
    key: 'handlers',
    min: 1,
    max: 64,
    default: 1,
    description: 'fault-handler threads',
  }),
  deliveryOption,
  choiceOption({
    flag: 'handler-wait',
    key: 'handlerWait',
    choices: ['poll', 'spin'],
    default: 'poll',
    description:
      'handler threads: poll (sleep until a fault message) or spin (busy-read the fd; costs a CPU per handler)',
  }),
  choiceOption({
    flag: 'handler-cpu',
    key: 'handlerCpu',
    choices: ['any', 'same', 'other'],
    default: 'any',
    description:
      "handler placement: any (the scheduler's choice), same (the faulting thread's CPU) or other (another CPU; uses UFFD_FEATURE_THREAD_ID)",
  }),
  booleanOption({
    flag: 'handler-batch',
    key: 'handlerBatch',
    default: false,
    description: 'un-protect all faults of one read with DONTWAKE, then one UFFDIO_WAKE',
  }),
  ...copyPathOptions,
  booleanOption({
    flag: 'prearm',
    key: 'prearm',
    default: true,
    description:
      'write-protect the region just before the pause and, inside it, re-protect only the pages written meanwhile (--no-prearm: protect everything inside the pause)',
  }),
  countOption({
    flag: 'arm-threads',
    key: 'armThreads',
    min: 1,
    max: 64,
    default: 1,
    description: 'threads splitting the arm-time write-protect',
  }),
] as const;

export const uffdBackend = {
  name: 'uffd',
  description: 'userfaultfd write-protect: faults block in the kernel until a handler copies the page',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [PAGE_SIZE, HUGE_PAGE_SIZE],
    copyBeforeWrite: true,
    copyBuffer: true,
    handlerThreads: true,
    kernelCopies: false,
  },
  options,
  // Each delivery of --delivery: with sigbus the faulting writer serves its own fault.
  deliveries: deliveryOption.choices.map((d) => ({
    name: d,
    options: { delivery: d },
    capabilities: { handlerThreads: d === 'thread' },
  })),
  probe(options) {
    const uffd = probeRow('userfaultfd');
    if (!uffd?.ok) return { ok: false, reason: uffd?.detail ?? 'userfaultfd unavailable' };
    const wp = probeRow('uffd.wp');
    if (!wp?.ok) return { ok: false, reason: 'the kernel lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP (Linux 5.7+)' };
    const behaviour = probeRow('uffd.wp_behaviour');
    if (!behaviour?.ok) return { ok: false, reason: behaviour?.detail ?? 'write-protect does not work' };
    if (options.delivery === 'sigbus' && !probeRow('uffd.sigbus')?.ok)
      return {
        ok: false,
        reason: 'the kernel lacks UFFD_FEATURE_SIGBUS (Linux 4.14+) for --delivery sigbus',
      };
    return { ok: true };
  },
} satisfies CowBackend;
