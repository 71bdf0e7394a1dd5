/**
 * Runs in the history: a results directory becomes one run (its fingerprint, every raw sample of
 * every metric, a subject and a time), recorded in one transaction and keyed by its content, so
 * recording it again is a no-op. The results file is read and checked by bench/results.ts, the
 * one reader of results.json: a damaged or foreign file is one line and exit 2, before any write.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Environment } from '../../src/env.js';
import { BENCH_SCHEMA, badInput, loadResults, resultsFileOf, type BenchResults } from '../results.js';
import { median } from './edivisive.js';
import type { HistoryStore, Sql } from './store.js';

export type SubjectKind = 'commit' | 'kernel' | 'text';

/**
 * --subject: `commit` (the run's git commit, the default), `kernel` (its kernel release), `dir`
 * (its results directory's name, as text), or any other text.
 */
export type SubjectSpec = string;

export interface RunRecord {
  key: string;
  subject: string;
  subjectKind: SubjectKind;
  time: string;
  machineClass: string;
  fingerprint: Environment;
  options: Record<string, unknown>;
  source: string;
  metrics: { metric: string; unit: string | null; samples: number[] }[];
}

/** A run that cannot be recorded and why (a schema-1 directory has no raw samples). */
export interface Skipped {
  source: string;
  reason: string;
}

/**
 * The machine class: the parts of the fingerprint that make figures comparable (CPU model,
 * kernel, accelerator, THP mode, virtualisation). A run whose subject is its kernel leaves the
 * kernel out: the kernel is then what is under test, not the machine.
 */
export function machineClass(
  env: Partial<Environment> & { accel?: unknown },
  subjectKind: SubjectKind,
): string {
  const parts = [
    String(env.cpu_model ?? '?'),
    ...(subjectKind === 'kernel' ? [] : [`Linux ${String(env.kernel ?? '?')}`]),
    `accel ${String(env.accel ?? 'none')}`,
    `THP ${String(env.thp_mode ?? '?')}`,
    String(env.virtualized ?? '?'),
  ];
  return parts.join(' | ');
}

function subjectOf(spec: SubjectSpec, r: BenchResults, dir: string): { subject: string; kind: SubjectKind } {
  if (spec === 'commit') {
    const c = String(r.env.git_commit ?? '');
    return /^[0-9a-f]{7,40}$/.test(c)
      ? { subject: c.slice(0, 12), kind: 'commit' }
      : { subject: c || '?', kind: 'text' };
  }
  if (spec === 'kernel') return { subject: String(r.env.kernel), kind: 'kernel' };
  if (spec === 'dir') return { subject: path.basename(path.resolve(dir)), kind: 'text' };
  if (spec.trim() === '') throw badInput('--subject: empty');
  return { subject: spec, kind: 'text' };
}

/**
 * Reads a results directory (or file) as a run to record, or says why it is skipped; a damaged
 * or foreign file throws one line (exit 2).
 */
export function readRun(dir: string, subject: SubjectSpec, time?: string): RunRecord | Skipped {
  const file = resultsFileOf(dir);
  const r = loadResults(dir);
  if (r.schema !== BENCH_SCHEMA)
    return { source: file, reason: `schema '${String(r.schema)}' has no raw samples (${BENCH_SCHEMA} has)` };
  const when = time ?? r.env.date;
  if (typeof when !== 'string' || Number.isNaN(Date.parse(when)))
    throw badInput(`${file}: env.date ${JSON.stringify(r.env.date)} is not a time`);
  const metrics: RunRecord['metrics'] = [];
  for (const [metric, m] of Object.entries(r.metrics)) {
    if (!m.samples.every((x) => Number.isFinite(x)))
      throw badInput(`${file}: metric '${metric}' has a sample that is not a finite number`);
    if (m.samples.length > 0) metrics.push({ metric, unit: m.unit ?? null, samples: m.samples });
  }
  if (metrics.length === 0) return { source: file, reason: 'no metric has samples' };
  const s = subjectOf(subject, r, dir);
  // The run's identity is its content: the same results recorded twice are one run.
  const key = createHash('sha256')
    .update(JSON.stringify({ env: r.env, metrics: r.metrics }))
    .digest('hex');
  return {
    key,
    subject: s.subject,
    subjectKind: s.kind,
    time: new Date(when).toISOString(),
    machineClass: machineClass(r.env, s.kind),
    fingerprint: r.env,
    options: r.options ?? {},
    source: path.resolve(file),
    metrics,
  };
}

export const isSkipped = (r: RunRecord | Skipped): r is Skipped => 'reason' in r;

/** Records a run in one transaction; false when it was already there. */
export async function recordRun(store: HistoryStore, run: RunRecord): Promise<boolean> {
  return store.transaction(async (sql) => {
    const rows = await sql.query<{ id: number }>(
      `INSERT INTO cowbench_runs (run_key, subject, subject_kind, run_time, machine_class, fingerprint, options, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (run_key) DO NOTHING RETURNING id`,
      [
        run.key,
        run.subject,
        run.subjectKind,
        run.time,
        run.machineClass,
        JSON.stringify(run.fingerprint),
        JSON.stringify(run.options),
        run.source,
      ],
    );
    const id = rows[0]?.id;
    if (id === undefined) return false;
    await insertSamples(sql, id, run.metrics);
    return true;
  });
}

async function insertSamples(sql: Sql, runId: number, metrics: RunRecord['metrics']) {
  // Batches of 200 rows × 6 parameters, far below PostgreSQL's 65,535.
  for (let at = 0; at < metrics.length; at += 200) {
    const batch = metrics.slice(at, at + 200);
    const values: string[] = [];
    const params: unknown[] = [];
    for (const m of batch) {
      const sorted = [...m.samples].sort((a, b) => a - b);
      const b = params.length;
      values.push(
        `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::double precision[], $${b + 5}, $${b + 6}, $${b + 7})`,
      );
      params.push(runId, m.metric, m.unit, m.samples, median(sorted), sorted[0], sorted.at(-1));
    }
    await sql.query(
      `INSERT INTO cowbench_samples (run_id, metric, unit, samples, median, lo, hi) VALUES ${values.join(', ')}`,
      params,
    );
  }
}

export interface StoredRun {
  id: number;
  subject: string;
  subject_kind: SubjectKind;
  time_ms: number;
  machine_class: string;
  metrics: number;
  samples: number;
  source: string | null;
}

/** Every run, in subject order (time, then the order they were recorded); counts: its metrics and samples. */
export async function listRuns(
  store: Sql,
  opts: { counts?: boolean } = { counts: true },
): Promise<StoredRun[]> {
  const counts = opts.counts !== false;
  return store.query<StoredRun & Record<string, unknown>>(
    `SELECT r.id, r.subject, r.subject_kind, (extract(epoch FROM r.run_time) * 1000)::double precision AS time_ms,
            r.machine_class, r.source, ${counts ? 'coalesce(a.metrics, 0) AS metrics, coalesce(a.samples, 0) AS samples' : '0 AS metrics, 0 AS samples'}
       FROM cowbench_runs r
       ${counts ? 'LEFT JOIN (SELECT run_id, count(*)::int AS metrics, sum(cardinality(samples))::int AS samples FROM cowbench_samples GROUP BY run_id) a ON a.run_id = r.id' : ''}
      ORDER BY r.run_time, r.id`,
  );
}

/** One point of a series: a run's median of one metric with its spread. */
export interface Point {
  run: number;
  median: number;
  lo: number;
  hi: number;
}

export interface SeriesData {
  metric: string;
  unit: string | null;
  machineClass: string;
  points: Point[];
}

/**
 * The series of the history: one per metric and machine class (one per metric when
 * acrossMachines), each in subject order; with `since` (a time in ms), only runs from then on.
 */
export async function loadSeries(
  store: Sql,
  opts: { metric?: string[]; since?: number; acrossMachines?: boolean; spread?: boolean } = {},
): Promise<{ runs: StoredRun[]; series: SeriesData[] }> {
  const runs = (await listRuns(store, { counts: false })).filter(
    (r) => opts.since === undefined || r.time_ms >= opts.since,
  );
  const kept = new Set(runs.map((r) => r.id));
  // One row per metric and machine class, its points aggregated in subject order by the database:
  // a history of 10,000 runs × 50 metrics is 50 rows of arrays, not 500,000 rows.
  const rows = await store.query<{
    metric: string;
    unit: string | null;
    machine_class: string;
    runs: number[];
    medians: number[];
    los: number[] | null;
    his: number[] | null;
  }>(
    `SELECT s.metric, min(s.unit) AS unit, ${opts.acrossMachines ? "'all machines'" : 'r.machine_class'} AS machine_class,
            array_agg(r.id ORDER BY r.run_time, r.id) AS runs,
            array_agg(s.median ORDER BY r.run_time, r.id) AS medians,
            ${
              opts.spread === false
                ? 'NULL AS los, NULL AS his'
                : `array_agg(s.lo ORDER BY r.run_time, r.id) AS los,
                   array_agg(s.hi ORDER BY r.run_time, r.id) AS his`
            }
       FROM cowbench_samples s JOIN cowbench_runs r ON r.id = s.run_id
      GROUP BY 1, 3`,
  );
  const wanted = (m: string) => !opts.metric?.length || opts.metric.some((w) => m.includes(w));
  const series = new Map<string, SeriesData>();
  for (const row of rows) {
    if (!wanted(row.metric)) continue;
    const points: Point[] = [];
    row.runs.forEach((run, i) => {
      if (kept.has(run)) {
        const median = row.medians[i]!;
        points.push({ run, median, lo: row.los?.[i] ?? median, hi: row.his?.[i] ?? median });
      }
    });
    if (points.length)
      series.set(`${row.metric}\u0000${row.machine_class}`, {
        metric: row.metric,
        unit: row.unit,
        machineClass: row.machine_class,
        points,
      });
  }
  return {
    runs,
    series: [...series.values()].sort(
      (a, b) => a.metric.localeCompare(b.metric) || a.machineClass.localeCompare(b.machineClass),
    ),
  };
}
