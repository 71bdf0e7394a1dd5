/** The writer-throughput timeline of one run: writes per 10 ms, with its phases, and its one-line summary. */
import type { NativeTimeline } from './native.js';
import { count } from './format.js';

/** Phase boundaries, ms since the workload started. */
export interface TimelinePhases {
  baseline_start_ms: number | null;
  pause_start_ms: number | null;
  pause_end_ms: number | null;
  copy_start_ms: number | null;
  copy_end_ms: number | null;
  after_start_ms: number | null;
  after_end_ms: number | null;
}

export interface WriterTimeline {
  bucket_ms: number;
  /** Start of writes[0], ms since the workload started. */
  start_ms: number;
  /** Writes that landed in each bucket, all writer threads together. */
  writes: number[];
  phases: TimelinePhases;
  /** Every writer pause ([start, end] ms): the arm pause, and softdirty's final stop-and-copy. */
  pauses_ms: [number, number][];
}

export function timelineFromNative(t: NativeTimeline): WriterTimeline {
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
  const find = (name: string) => t.marks.find((m) => m.name === name);
  const pauses: [number, number][] = [];
  let open: number | null = null;
  for (const m of t.marks) {
    if (m.name === 'pause_start') open = m.ns;
    else if (m.name === 'pause_end' && open !== null) {
      pauses.push([ms(open), ms(m.ns)]);
      open = null;
    }
  }
  const at = (name: string) => {
    const m = find(name);
    return m ? ms(m.ns) : null;
  };
  const copyStart = at('copy_start');
  // The arm pause: the first pause after the baseline began.
  const baselineStart = at('baseline_start');
  const arm = pauses.find(([s]) => baselineStart === null || s >= baselineStart) ?? null;
  return {
    bucket_ms: t.bucket_ns / 1e6,
    start_ms: (t.first_bucket * t.bucket_ns) / 1e6,
    writes: t.writes,
    phases: {
      baseline_start_ms: baselineStart,
      pause_start_ms: arm ? arm[0] : null,
      pause_end_ms: arm ? arm[1] : null,
      copy_start_ms: copyStart,
      copy_end_ms: at('copy_end'),
      after_start_ms: at('after_start'),
      after_end_ms: at('after_end'),
    },
    pauses_ms: pauses,
  };
}

export interface TimelineSummary {
  /** Mean writes per bucket over the buckets wholly inside each phase (null: none). */
  before: number | null;
  /** The lowest bucket that overlaps the arm pause, and how long the pause held writers. */
  pause_bucket: number | null;
  pause_ms: number | null;
  copy: number | null;
  after: number | null;
}

export function summarizeTimeline(t: WriterTimeline): TimelineSummary {
  const p = t.phases;
  const bucketsIn = (from: number | null, to: number | null, whole: boolean): number[] => {
    if (from === null || to === null) return [];
    const out: number[] = [];
    t.writes.forEach((n, i) => {
      const s = t.start_ms + i * t.bucket_ms;
      const e = s + t.bucket_ms;
      if (whole ? s >= from && e <= to : e > from && s < to) out.push(n);
    });
    return out;
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const pauseBuckets = bucketsIn(p.pause_start_ms, p.pause_end_ms, false);
  return {
    before: mean(bucketsIn(p.baseline_start_ms, p.pause_start_ms, true)),
    pause_bucket: pauseBuckets.length ? Math.min(...pauseBuckets) : null,
    pause_ms: p.pause_start_ms !== null && p.pause_end_ms !== null ? p.pause_end_ms - p.pause_start_ms : null,
    copy: mean(bucketsIn(p.copy_start_ms, p.copy_end_ms, true)),
    after: mean(bucketsIn(p.after_start_ms, p.after_end_ms, true)),
  };
}

/** "writes/10ms: before 1,234 · pause 0 (1.2 ms held) · copy 456 (37%) · after 1,200" */
export function timelineLine(t: WriterTimeline): string {
  const s = summarizeTimeline(t);
  const n = (x: number | null) => (x === null ? '–' : count(x));
  const pct = (x: number | null) =>
    x !== null && s.before !== null && s.before > 0 ? ` (${Math.round((x / s.before) * 100)}%)` : '';
  const held =
    s.pause_ms === null ? '' : ` (${s.pause_ms < 1 ? s.pause_ms.toFixed(2) : s.pause_ms.toFixed(1)} ms held)`;
  return (
    `writes/${t.bucket_ms}ms: before ${n(s.before)} · pause ${n(s.pause_bucket)}${held} · ` +
    `copy ${n(s.copy)}${pct(s.copy)} · after ${n(s.after)}${pct(s.after)}`
  );
}
