/** The backends, by name: the only place that lists them. */
import type { BackendOption, CowBackend, OptionValues } from './backend.js';
import { forkcowBackend } from './backends/forkcow.js';
import { mprotectBackend } from './backends/mprotect.js';
import { softdirtyBackend } from './backends/softdirty.js';
import { uffdBackend } from './backends/uffd.js';
import { native } from './native.js';

export const backendNames = ['uffd', 'mprotect', 'forkcow', 'softdirty'] as const;
export type BackendName = (typeof backendNames)[number];

/** A backend as the contract says, keeping the literal type of its option table. */
const entry = <B extends CowBackend>(b: B): CowBackend & Pick<B, 'options'> => b;

export const backends = {
  uffd: entry(uffdBackend),
  mprotect: entry(mprotectBackend),
  forkcow: entry(forkcowBackend),
  softdirty: entry(softdirtyBackend),
} satisfies Record<BackendName, CowBackend>;

export function isBackendName(name: string): name is BackendName {
  return (backendNames as readonly string[]).includes(name);
}

type DeclaredOption = (typeof backends)[BackendName]['options'][number];
/** Every backend option by key, typed from the declarations (RunOptions includes these). */
export type DeclaredOptionValues = OptionValues<DeclaredOption>;
export type DeclaredOptionKey = DeclaredOption['key'];

/** Every backend option once: an option several backends share is one declaration object. */
export const declaredOptions: readonly BackendOption[] = (() => {
  const byKey = new Map<string, BackendOption>();
  for (const name of backendNames)
    for (const spec of backends[name].options as readonly BackendOption[]) {
      const seen = byKey.get(spec.key);
      if (seen && seen !== spec)
        throw new Error(`backend option '${spec.key}' is declared twice differently (share one declaration)`);
      byKey.set(spec.key, spec);
    }
  return [...byKey.values()];
})();

/** The backends that declare option `key`. */
export function optionOwners(key: string): BackendName[] {
  return backendNames.filter((n) =>
    (backends[n].options as readonly BackendOption[]).some((s) => s.key === key),
  );
}

/** Each backend option's declared default. */
export const declaredOptionDefaults = Object.fromEntries(
  declaredOptions.map((s) => [s.key, s.default]),
) as DeclaredOptionValues;

/**
 * How the native backend registry (native/backends.cc, each backend's options struct) differs
 * from these declarations, or undefined when they agree.
 */
export function registryMismatch(nativeKeys: Record<string, readonly string[]>): string | undefined {
  const problems: string[] = [];
  const nativeNames = Object.keys(nativeKeys);
  for (const name of nativeNames)
    if (!isBackendName(name)) problems.push(`native backend '${name}' is not in src/registry.ts`);
  for (const name of backendNames) {
    const native = nativeKeys[name];
    if (!native) {
      problems.push(`backend '${name}' has no native registry entry`);
      continue;
    }
    const declared = (backends[name].options as readonly BackendOption[]).map((s) => s.key);
    const missing = declared.filter((k) => !native.includes(k));
    const extra = native.filter((k) => !declared.includes(k));
    if (missing.length) problems.push(`${name}: declared in TypeScript only: ${missing.join(', ')}`);
    if (extra.length) problems.push(`${name}: read natively only: ${extra.join(', ')}`);
  }
  return problems.length ? problems.join('; ') : undefined;
}

// Load-time check: a knob added on one side only fails here, not as a silently ignored flag.
const mismatch = registryMismatch(native.backendOptionKeys());
if (mismatch)
  throw new Error(
    `cowbench: the native addon and the backend declarations disagree: ${mismatch} (rebuild the addon?)`,
  );
