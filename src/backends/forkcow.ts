import type { CowBackend } from '../backend.js';

export const forkcowBackend: CowBackend = {
  name: 'forkcow',
  description:
    'fork(): the child writes its copy-on-write frozen view; the kernel copies each page the parent writes',
  capabilities: { consistencyPoint: 'start', granularities: [4096] },
  probe() {
    // fork() is always there; the child's image is copied by the kernel at its own granularity.
    return { ok: true };
  },
  validate(options) {
    if (options.delivery !== 'thread') return '--delivery: only the uffd backend has delivery modes';
    return undefined;
  },
};
