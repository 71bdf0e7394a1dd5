/**
 * What one run is asked to do (RunOptions), its defaults, and the two objects the native layer
 * and the backend's probe are given, each built from RunOptions by one function.
 */
import type { BackendOption, ProbeOptions, ProbeOutcome } from './backend.js';
import type { Inject, NativeOwnOptions } from './native.js';
import { HUGE_PAGE_SIZE, MiB, PAGE_SIZE } from './page.js';
import {
  backends,
  declaredOptionDefaults,
  declaredOptions,
  type BackendName,
  type DeclaredOptionKey,
  type DeclaredOptionValues,
} from './registry.js';

export const PATTERNS = ['sequential', 'random', 'hotset'] as const;
export const FILLS = ['all', 'none', 'half'] as const;
export const BUFFER_POLICIES = ['block', 'fail'] as const;
/** Copy granularities by their command-line name. */
export const GRANULARITIES = { '4k': PAGE_SIZE, '2m': HUGE_PAGE_SIZE } as const;
/** Writer kinds the native layer knows (native/writers/writer_kinds.cc). */
export const WRITER_KINDS = ['cpu', 'read', 'io_uring', 'pvm', 'kvm'] as const;

/** The options every backend shares; a backend's own come from its declarations (registry.ts). */
export interface SharedRunOptions {
  backend: BackendName;
  sizeBytes: number;
  hugepage: boolean;
  fill: (typeof FILLS)[number];
  /** One entry per writer thread: 'cpu', or a kernel/kvm kind. */
  writerKinds: string[];
  pattern: (typeof PATTERNS)[number];
  /** Total pages written per second; 0 = unthrottled. */
  ratePagesPerSec: number;
  seed: number;
  bufferBytes: number;
  bufferPolicy: (typeof BUFFER_POLICIES)[number];
  granularityBytes: number;
  /** Image path; null keeps no image (verified in a private scratch file, then removed). */
  out: string | null;
  force: boolean;
  /** How long writers run before the snapshot to measure their undisturbed rate. */
  baselineMs: number;
  /** Test-only hooks. */
  inject?: Inject;
}

/** Shared options plus every backend option by key (the chosen backend reads its own). */
export type RunOptions = SharedRunOptions & DeclaredOptionValues;

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  backend: 'uffd',
  sizeBytes: 256 * MiB,
  hugepage: false,
  fill: 'all',
  writerKinds: ['cpu', 'cpu'],
  pattern: 'random',
  ratePagesPerSec: 0,
  seed: 1,
  bufferBytes: 64 * MiB,
  bufferPolicy: 'block',
  granularityBytes: PAGE_SIZE,
  out: null,
  force: false,
  baselineMs: 300,
  ...declaredOptionDefaults,
};

/** The shared native options, the test hooks and every backend option by key. */
export function probeOptions(o: RunOptions): ProbeOptions {
  const values: Record<string, string | number | boolean> = {};
  for (const spec of declaredOptions) values[spec.key] = o[spec.key as DeclaredOptionKey];
  return {
    ...values,
    bufferBytes: o.bufferBytes,
    bufferPolicy: o.bufferPolicy,
    granularityBytes: o.granularityBytes,
    ...(o.inject ? { inject: o.inject } : {}),
  };
}

/** The chosen backend's own options, by key: what its native factory converts. */
export function ownOptionsOf(o: RunOptions): NativeOwnOptions {
  const own: NativeOwnOptions = {};
  for (const spec of backends[o.backend].options as readonly BackendOption[])
    own[spec.key] = o[spec.key as DeclaredOptionKey];
  return own;
}

/** Whether this kernel can run `o`'s backend with `o` (the defaults for what `o` leaves out). */
export function probeFor(o: Partial<RunOptions> & { backend: BackendName }): ProbeOutcome {
  return backends[o.backend].probe(probeOptions({ ...DEFAULT_RUN_OPTIONS, ...o }));
}
