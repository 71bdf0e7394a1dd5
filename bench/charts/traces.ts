/** What a suite keeps of one representative run per backend for the charts: its timeline and stall curves. */
import type { RunResult } from '../../src/result.js';
import type { WriterTimeline } from '../../src/timeline.js';

export interface RunTrace {
  /** total_ms of the run kept (the one with the median total_ms of the repeats). */
  total_ms: number;
  timeline: WriterTimeline | null;
  /** [percentile, µs] before the snapshot (baseline) and during it. */
  stall_curve_before: [number, number][] | null;
  stall_curve_during: [number, number][] | null;
}

/** The trace of the run with the median total time, or null when no run kept one. */
export function traceOf(results: RunResult[]): RunTrace | null {
  const kept = results.filter((r) => r.writer_timeline || r.write_stall.curve);
  if (kept.length === 0) return null;
  const sorted = [...kept].sort((a, b) => a.total_ms - b.total_ms);
  const r = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    total_ms: r.total_ms,
    timeline: r.writer_timeline ?? null,
    stall_curve_before: r.writers.baseline_write_stall.curve ?? null,
    stall_curve_during: r.write_stall.curve ?? null,
  };
}
