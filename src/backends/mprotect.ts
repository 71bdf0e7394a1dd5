import type { CowBackend } from '../backend.js';
import { HUGE_PAGE_SIZE, PAGE_SIZE } from '../page.js';
import { probeRow } from '../probe.js';
import { copyPathOptions } from './shared-options.js';

export const mprotectBackend = {
  name: 'mprotect',
  description:
    'mprotect(PROT_READ) + SIGSEGV handler: the faulting writer copies the page and re-enables writes (splits mappings)',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [PAGE_SIZE, HUGE_PAGE_SIZE],
    copyBeforeWrite: true,
    copyBuffer: true,
    // The faulting writer's SIGSEGV handler copies the page.
    handlerThreads: false,
    kernelCopies: false,
  },
  /** native/mprotect/mprotect_options.h reads the same keys. */
  options: copyPathOptions,
  probe() {
    // mprotect and SIGSEGV exist everywhere; what limits this backend is the mapping count.
    const maxMap = probeRow('vm.max_map_count');
    if (!maxMap?.ok) return { ok: false, reason: 'vm.max_map_count is unreadable (no /proc/sys/vm)' };
    return { ok: true, detail: `vm.max_map_count=${maxMap.detail}` };
  },
} satisfies CowBackend;
