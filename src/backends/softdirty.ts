import {
  choiceOption,
  countOption,
  type ProbeOptions,
  type CowBackend,
  type ProbeOutcome,
} from '../backend.js';
import { PAGE_SIZE } from '../page.js';
import { probeRow } from '../probe.js';

/** wp-async: userfaultfd async write-protect marks written pages; PAGEMAP_SCAN fetches and re-protects them. */
function probeWpAsync(): ProbeOutcome {
  const uffd = probeRow('userfaultfd');
  if (!uffd?.ok) return { ok: false, reason: `wp-async: ${uffd?.detail ?? 'userfaultfd unavailable'}` };
  const wpAsync = probeRow('uffd.wp_async');
  if (!wpAsync?.ok)
    return { ok: false, reason: 'wp-async: the kernel lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7+)' };
  const scan = probeRow('pagemap_scan');
  if (!scan?.ok)
    return {
      ok: false,
      reason: `wp-async: the PAGEMAP_SCAN ioctl does not work (${scan?.detail ?? 'not probed'}); it needs Linux 6.7+`,
    };
  return { ok: true, detail: 'wp-async' };
}

/** clear-refs: classic soft-dirty, tested by behaviour (clear, write, read bit 55). */
function probeClearRefs(): ProbeOutcome {
  const softDirty = probeRow('soft_dirty');
  if (!softDirty?.ok)
    return {
      ok: false,
      reason:
        `clear-refs: soft-dirty tracking does not work on this kernel (${softDirty?.detail ?? 'not probed'}); ` +
        'it needs a kernel built with CONFIG_MEM_SOFT_DIRTY. Use --engine wp-async ' +
        '(userfaultfd async write-protect + PAGEMAP_SCAN, Linux 6.7+) instead',
    };
  return { ok: true, detail: 'clear-refs' };
}

/** The softdirty backend's options; native/softdirty/softdirty_options.h reads the same keys. */
const options = [
  choiceOption({
    flag: 'engine',
    key: 'engine',
    choices: ['auto', 'clear-refs', 'wp-async'],
    default: 'auto',
    description:
      'dirty tracking: wp-async (userfaultfd UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN, Linux 6.7+), clear-refs (soft-dirty bits, needs CONFIG_MEM_SOFT_DIRTY), auto (the first that works; the result says which)',
  }),
  countOption({
    flag: 'final-dirty',
    key: 'finalDirtyPages',
    min: 0,
    max: 2 ** 40,
    default: 256,
    description: 'stop pre-copy once a pass finds fewer dirty pages than this',
  }),
  countOption({
    flag: 'max-passes',
    key: 'maxPasses',
    min: 1,
    max: 1000,
    default: 8,
    description: 'pre-copy passes (pass 0 copies everything) before the forced final stop',
  }),
] as const;

export const softdirtyBackend = {
  name: 'softdirty',
  description:
    'dirty tracking + iterative pre-copy, then a short stop-and-copy (engines: wp-async, clear-refs)',
  capabilities: {
    consistencyPoint: 'end',
    granularities: [PAGE_SIZE],
    copyBeforeWrite: false,
    copyBuffer: false,
    handlerThreads: false,
    kernelCopies: false,
  },
  options,
  variants: [
    { name: 'wp-async', options: { engine: 'wp-async' } },
    { name: 'clear-refs', options: { engine: 'clear-refs' } },
  ],
  probe(options: ProbeOptions): ProbeOutcome {
    if (options.engine === 'wp-async') return probeWpAsync();
    if (options.engine === 'clear-refs') return probeClearRefs();
    // auto: the first engine that works, best first (the native side makes the same choice).
    const wpAsync = probeWpAsync();
    const clearRefs = probeClearRefs();
    if (wpAsync.ok)
      return {
        ok: true,
        detail: `engine auto -> wp-async; clear-refs ${clearRefs.ok ? 'also works' : 'unavailable (see soft_dirty above)'}`,
      };
    if (clearRefs.ok) return { ok: true, detail: `engine auto -> clear-refs; ${wpAsync.reason}` };
    return { ok: false, reason: `no dirty-tracking engine works: ${wpAsync.reason}; ${clearRefs.reason}` };
  },
} satisfies CowBackend;
