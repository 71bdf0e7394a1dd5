/** The result of one run: its metric names (pause_us, total_ms, wp_faults, …) are the JSON keys. */
import type { ConsistencyPoint } from './backend.js';
import type { Environment } from './env.js';
import type { BackendName } from './registry.js';
import type { LatencySummary } from './native.js';
import type { WriterTimeline } from './timeline.js';

export const RESULT_SCHEMA = 'cowbench.run/1';

export interface WriteStall {
  count: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  /** [percentile, µs] from p50 to p99.999, for percentile-curve charts. */
  curve?: [number, number][];
}

export interface WriterFigures {
  kinds: string[];
  pattern: string;
  rate_pages_per_s: number | 'unthrottled';
  baseline_writes_per_s: number;
  snapshot_writes_per_s: number;
  /** snapshot writes/s ÷ baseline writes/s (1 = unaffected). */
  throughput_ratio: number | null;
  baseline_write_stall: WriteStall;
  failed_writes: number;
  failed_by_errno: Record<string, number>;
  /** Writes that landed during the snapshot, and during the baseline, per writer kind. */
  writes_by_kind: Record<string, number>;
  baseline_writes_by_kind: Record<string, number>;
  failed_by_kind: Record<string, number>;
  /** Why vCPUs left the guest during the snapshot (kvm writers). */
  exit_reasons: Record<string, number>;
}

/** vCPU exits that are part of the kvm writer's normal protocol, not evidence of a lost write. */
export const ROUTINE_EXIT_REASONS: readonly string[] = ['budget', 'intr'];

/** Incompatibility evidence: failed writes by errno, and unusual vCPU exits. */
export function incompatibilitiesOf(s: {
  failed_by_errno: Record<string, number>;
  exit_reasons: Record<string, number>;
}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [errno, n] of Object.entries(s.failed_by_errno)) out[`failed_writes_${errno}`] = n;
  for (const [reason, n] of Object.entries(s.exit_reasons))
    if (!ROUTINE_EXIT_REASONS.includes(reason)) out[`kvm_exit_${reason}`] = n;
  return out;
}

/**
 * Writes the workload issued that never landed (a kernel write refused with EFAULT on a
 * read-only page, a guest store dropped as an MMIO exit): the backend cannot snapshot memory
 * written this way, so the run fails (exit 1) even when the image verifies.
 */
export interface LostWrites {
  writes: number;
  /** Writer kinds whose writes were lost, with counts. */
  by_kind: Record<string, number>;
  /** The errno each lost write failed with, with counts. */
  by_errno: Record<string, number>;
  /** Unusual vCPU exits (kvm writers) behind lost guest stores. */
  kvm_exits: Record<string, number>;
}

export function lostWritesOf(w: {
  failed_writes: number;
  failed_by_kind: Record<string, number>;
  failed_by_errno: Record<string, number>;
  exit_reasons: Record<string, number>;
}): LostWrites | null {
  const kvmExits = Object.fromEntries(
    Object.entries(w.exit_reasons).filter(([reason, n]) => n > 0 && !ROUTINE_EXIT_REASONS.includes(reason)),
  );
  if (w.failed_writes === 0 && Object.keys(kvmExits).length === 0) return null;
  return {
    writes: w.failed_writes,
    by_kind: Object.fromEntries(Object.entries(w.failed_by_kind).filter(([, n]) => n > 0)),
    by_errno: Object.fromEntries(Object.entries(w.failed_by_errno).filter(([, n]) => n > 0)),
    kvm_exits: kvmExits,
  };
}

export interface Verification {
  checked_pages: number;
  bad_pages: number;
  first_bad: { page: number; expected: number; found: number }[];
  checksum: string | null;
  skipped: string | null;
}

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  backend: BackendName;
  options: Record<string, unknown>;
  region_bytes: number;
  page_size: number;
  granularity_bytes: number;
  hugepage: boolean;
  consistency_point: ConsistencyPoint;
  verified: boolean;
  verification: Verification;
  pause_us: number;
  pauses_us: number[];
  quiesce_us: number;
  total_ms: number;
  throughput_MBps: number;
  wp_faults: number;
  pages_copied_before_write: number;
  bytes_written: number;
  buffer_peak_bytes: number;
  extra_memory_peak_bytes: number;
  extra_memory_source: string;
  throttled_ms: number;
  vma_count_peak: number;
  write_stall: WriteStall;
  writers: WriterFigures;
  /** Writes per 10 ms from the workload's start through the snapshot and a little after, phases marked. */
  writer_timeline?: WriterTimeline | null;
  incompatibilities: Record<string, number>;
  /** Non-null: the workload lost writes; the run fails (exit 1) and keeps no image. */
  lost_writes: LostWrites | null;
  /** After release: every page of the region writable again (no read-only VMA, no uffd-wp page). */
  region_writable_after: { ok: boolean; detail: string };
  backend_metrics: Record<string, number>;
  backend_series: Record<string, number[]>;
  output: string | null;
  manifest: string | null;
  env: Environment;
}

export function stallFromLatency(l: LatencySummary): WriteStall {
  const us = (ns: number) => Math.round(ns / 10) / 100;
  return {
    count: l.count,
    p50_us: us(l.p50_ns),
    p90_us: us(l.p90_ns),
    p99_us: us(l.p99_ns),
    p999_us: us(l.p999_ns),
    max_us: us(l.max_ns),
    ...(l.curve ? { curve: l.curve.map(([p, ns]): [number, number] => [p, us(ns)]) } : {}),
  };
}
