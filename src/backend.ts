/** The contract every backend implements, and what the orchestrator knows of one. */
import type { NativeSnapshotOptions } from './native.js';

export type ConsistencyPoint = 'start' | 'end';

export type ProbeOutcome = { ok: true; detail?: string } | { ok: false; reason: string };

export interface BackendCapabilities {
  /** Which moment the image shows: the arm pause (start) or the final pause (end). */
  consistencyPoint: ConsistencyPoint;
  /** Copy granularities the backend accepts, in bytes. */
  granularities: readonly number[];
}

/** Snapshot options as the orchestrator passes them to a backend. */
export type BackendOptions = NativeSnapshotOptions;

/** One configuration of a backend worth its own row in `cowbench compat` (e.g. a tracking engine). */
export interface BackendVariant {
  name: string;
  /** Options that select it; same names in RunOptions and BackendOptions. */
  options: Partial<BackendOptions>;
}

export interface CowBackend {
  readonly name: string;
  /** One line for `cowbench probe` / `--help`. */
  readonly description: string;
  readonly capabilities: BackendCapabilities;
  /** Whether this kernel can run the backend with these options; never throws. */
  probe(options: BackendOptions): ProbeOutcome;
  /** Configurations shown as separate compat rows; absent = one row for the backend. */
  readonly variants?: readonly BackendVariant[];
  /** Backend-specific option checks: a message naming the flag, or undefined. */
  validate?(options: BackendOptions, region: { bytes: number; hugepage: boolean }): string | undefined;
}
