import type { CowBackend } from '../backend.js';
import { PAGE_SIZE } from '../page.js';

export const forkcowBackend = {
  name: 'forkcow',
  description:
    'fork(): the child writes its copy-on-write frozen view; the kernel copies each page the parent writes',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [PAGE_SIZE],
    copyBeforeWrite: false,
    copyBuffer: false,
    handlerThreads: false,
    kernelCopies: true,
  },
  /** None beyond the shared ones (native/forkcow/forkcow_options.h). */
  options: [] as const,
  probe() {
    // fork() is always there; the child's image is copied by the kernel at its own granularity.
    return { ok: true };
  },
} satisfies CowBackend;
