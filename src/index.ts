/**
 * cowbench as a library: take a verified point-in-time snapshot of a live memory region while
 * writer threads keep writing to it, through one of four copy-on-write backends, and get back
 * what it cost. Every failure is a CowbenchError with a string `code`.
 *
 * ```ts
 * import { snapshot, probe } from 'cowbench';
 * if (probe().backends.uffd.ok) {
 *   const r = await snapshot({ backend: 'uffd', sizeBytes: 64 << 20 });
 *   console.log(r.verified, r.pause_us, r.write_stall.p99_us);
 * }
 * ```
 */
import type { BackendCapabilities, BackendOption, ProbeOutcome } from './backend.js';
import { runCompat, type CompatOptions, type CompatResult } from './compat.js';
import {
  DEFAULT_RUN_OPTIONS,
  probeFor,
  runSnapshot,
  type RunHooks,
  type RunOptions,
} from './orchestrator.js';
import { resolveRunOptions } from './preflight.js';
import { probeKernel, type ProbeRow } from './probe.js';
import { backendNames, backends, type BackendName } from './registry.js';
import type { RunResult } from './result.js';

export { CowbenchError, InvalidOptionError, UsageError } from './errors.js';
export { backendNames };
export type { BackendName, BackendCapabilities, BackendOption, ProbeOutcome, ProbeRow };
export type { RunOptions, RunHooks, RunResult, CompatOptions, CompatResult };

/** What to snapshot: any RunOptions field; the rest are the CLI's defaults. */
export type SnapshotOptions = Partial<RunOptions>;

/** The defaults `snapshot()` fills in (the same as `cowbench run`'s). */
export const defaults: Readonly<RunOptions> = DEFAULT_RUN_OPTIONS;

/**
 * Allocates a region, starts its writers, takes one snapshot with the chosen backend, verifies
 * the image page by page and resolves with the result (`verified`, `pause_us`, `write_stall`, …).
 * With `out` set the verified image is kept there; otherwise it is removed. The options are
 * checked by the same rules as `cowbench run`'s flags, with the same messages. Rejects with a
 * CowbenchError (`code` EINVAL for a bad option, the message naming its key; EUNSUPPORTED for a
 * missing kernel feature, …); the region is always left writable and every thread joined.
 */
export async function snapshot(options: SnapshotOptions = {}, hooks: RunHooks = {}): Promise<RunResult> {
  return runSnapshot(resolveRunOptions(options), hooks);
}

export interface ProbeReport {
  /** Each kernel feature, tested by behaviour, with what it is for. */
  kernel: ProbeRow[];
  /** Whether each backend can run here with its default options, and if not why. */
  backends: Record<BackendName, ProbeOutcome>;
}

/** What this machine's kernel can do, and which backends can run on it. Never throws. */
export function probe(): ProbeReport {
  return {
    kernel: probeKernel(),
    backends: Object.fromEntries(backendNames.map((n) => [n, probeFor({ backend: n })])) as Record<
      BackendName,
      ProbeOutcome
    >,
  };
}

/**
 * The compatibility matrix of `cowbench compat`: each backend (or variant) × writer kind, one
 * small snapshot per cell in a fresh child process.
 */
export function compat(options: CompatOptions = { sizeBytes: 64 << 20 }): Promise<CompatResult> {
  return runCompat(options);
}

export interface BackendInfo {
  name: BackendName;
  description: string;
  capabilities: BackendCapabilities;
  /** The backend's own options (flags, keys, defaults); the shared ones are in RunOptions. */
  options: readonly BackendOption[];
}

/** The registered backends. */
export function listBackends(): BackendInfo[] {
  return backendNames.map((name) => {
    const b = backends[name];
    return { name, description: b.description, capabilities: b.capabilities, options: b.options };
  });
}
