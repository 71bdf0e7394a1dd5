/** The backends, by name: the only place that lists them. */
import type { CowBackend } from './backend.js';
import { uffdBackend } from './backends/uffd.js';

export const backendNames = ['uffd'] as const;
export type BackendName = (typeof backendNames)[number];

export const backends = {
  uffd: uffdBackend,
} satisfies Record<BackendName, CowBackend>;

export function isBackendName(name: string): name is BackendName {
  return (backendNames as readonly string[]).includes(name);
}

export function getBackend(name: string): CowBackend | undefined {
  return isBackendName(name) ? backends[name] : undefined;
}
