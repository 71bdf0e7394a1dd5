import type { CowBackend } from '../backend.js';

export const forkcowBackend = {
  name: 'forkcow',
  description:
    'fork(): the child writes its copy-on-write frozen view; the kernel copies each page the parent writes',
  capabilities: {
    consistencyPoint: 'start',
    granularities: [4096],
    copyBeforeWrite: false,
    copyBuffer: false,
  },
  /** None beyond the shared ones (native/forkcow/forkcow_options.h). */
  options: [] as const,
  probe() {
    // fork() is always there; the child's image is copied by the kernel at its own granularity.
    return { ok: true };
  },
} satisfies CowBackend;
