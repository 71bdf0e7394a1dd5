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
import { AbortError } from './errors.js';
import { resolveRunOptions } from './preflight.js';
import { probeKernel, type ProbeRow } from './probe.js';
import { backendNames, backends, type BackendName } from './registry.js';
import type { RunResult } from './result.js';

export { AbortError, CowbenchError, ERROR_CODES, InvalidOptionError, UsageError } from './errors.js';
export type { CowbenchErrorCode } from './errors.js';
export { backendNames };
export type { BackendName, BackendCapabilities, BackendOption, ProbeOutcome, ProbeRow };
export type { RunOptions, RunHooks, RunResult, CompatOptions, CompatResult };

/**
 * What to snapshot: any RunOptions field (the rest are the CLI's defaults), and `signal` to abort
 * it. The test-only hooks (`inject`) are not part of the public options.
 */
export type SnapshotOptions = Partial<Omit<RunOptions, 'inject'>> & {
  /** Aborting disarms tracking, releases the writers, removes the temporary image and rejects with an AbortError. */
  signal?: AbortSignal;
};

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
  const { signal, ...runOptions } = (options ?? {}) as SnapshotOptions;
  const withSignal: RunHooks = signal ? { ...hooks, signal } : hooks;
  try {
    if (withSignal.signal?.aborted)
      throw new AbortError(
        `aborted before it started (${String(withSignal.signal.reason)})`,
        withSignal.signal.reason,
      );
    return await runSnapshot(resolveRunOptions(runOptions as Partial<RunOptions>), withSignal);
  } catch (e) {
    throw AbortError.from(e, withSignal.signal);
  }
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
