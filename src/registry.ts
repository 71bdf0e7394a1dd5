/** The backends, by name: the only place that lists them. */
import type { CowBackend } from './backend.js';
import { forkcowBackend } from './backends/forkcow.js';
import { mprotectBackend } from './backends/mprotect.js';
import { softdirtyBackend } from './backends/softdirty.js';
import { uffdBackend } from './backends/uffd.js';

export const backendNames = ['uffd', 'mprotect', 'forkcow', 'softdirty'] as const;
export type BackendName = (typeof backendNames)[number];

export const backends = {
  uffd: uffdBackend,
  mprotect: mprotectBackend,
  forkcow: forkcowBackend,
  softdirty: softdirtyBackend,
} satisfies Record<BackendName, CowBackend>;

export function isBackendName(name: string): name is BackendName {
  return (backendNames as readonly string[]).includes(name);
}

export function getBackend(name: string): CowBackend | undefined {
  return isBackendName(name) ? backends[name] : undefined;
}
