import type { CowBackend } from '../backend.js';
import { probeRow } from '../probe.js';
import { drainWakeOption } from './shared-options.js';

const MIB2 = 2 * 1024 * 1024;

export const mprotectBackend = {
  name: 'mprotect',
  description:
    'mprotect(PROT_READ) + SIGSEGV handler: the faulting writer copies the page and re-enables writes (splits mappings)',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [4096, MIB2],
    copyBeforeWrite: true,
    copyBuffer: true,
  },
  /** native/mprotect/mprotect_options.h reads the same keys. */
  options: [drainWakeOption] as const,
  probe() {
    // mprotect and SIGSEGV exist everywhere; what limits this backend is the mapping count.
    const maxMap = probeRow('vm.max_map_count');
    if (!maxMap?.ok) return { ok: false, reason: 'vm.max_map_count is unreadable (no /proc/sys/vm)' };
    return { ok: true, detail: `vm.max_map_count=${maxMap.detail}` };
  },
  validate(options, region) {
    if (options.granularityBytes === MIB2 && !region.hugepage)
      return '--granularity: 2m needs a hugepage region (add --hugepage)';
    return undefined;
  },
} satisfies CowBackend;
