/**
 * The bench runner: every whole-snapshot run happens in a fresh child process (`cowbench run
 * --json`), because signal handlers, userfaultfd registrations and fork are process-wide; a failed
 * run is recorded and the suite goes on. Figures are medians of --repeat runs with min and max.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { replaceFile } from '../src/files.js';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { childFailure, killedBy, runChild } from '../src/child.js';
import { sweepBefore } from '../src/clean.js';
import type { RunResult } from '../src/result.js';

export { summarize, type Summary } from './stats.js';
import type { Summary } from './stats.js';
import { MiB } from '../src/page.js';
import { flagsOf } from '../src/options.js';
import type { RunOptions } from '../src/run-options.js';

export interface Calibration {
  memcpy_MBps: number;
  page_fault_ns: number;
  sink_MBps: number;
  sink_bytes: number;
}

export interface BenchContext {
  quick: boolean;
  repeat: number;
  backends: string[];
  outDir: string;
  /** Scratch directory on the result's file system for images. */
  scratchDir: string;
  calibration: Calibration;
  log(line: string): void;
  tick(label: string): void;
}

export type Row = Record<string, string | number | boolean | null | number[]>;

/** A row column holding a metric's raw samples; moved into results.json's `metrics`, not a CSV column. */
export const SAMPLES_SUFFIX = '_samples';

export type Verdict = 'confirmed' | 'refuted' | 'partly confirmed' | 'not measurable here';

/** A claim (C1–C8, README "Benchmarks") or a performance target (a–e), judged from this run's figures. */
export interface ClaimVerdict {
  claim: string;
  verdict: Verdict | 'met' | 'missed';
  evidence: string;
}

export interface SuiteOutcome {
  verdicts?: ClaimVerdict[];
  rows: Row[];
  /** Set when the suite could not run here: the named reason. */
  skipped?: string;
  /** Per-claim conclusion, stated from the figures (confirmed / refuted / not measurable here). */
  findings?: string[];
  raw?: unknown;
}

export interface Suite {
  name: string;
  claim: string;
  description: string;
  /** Number of child runs, for the progress bar. */
  plannedRuns(ctx: Pick<BenchContext, 'quick' | 'repeat' | 'backends'>): number;
  run(ctx: BenchContext): Promise<SuiteOutcome>;
}

export interface ChildOutcome {
  ok: boolean;
  result?: RunResult;
  error?: string;
  exitCode: number | null;
}

/** Runs `cowbench <args>` in a fresh process (src/child.ts: timeout, SIGTERM then SIGKILL). */
export async function runCowbenchChild(
  args: string[],
  timeoutMs = 600_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runChild({ args, timeoutMs });
  // A child ended by a signal wrote no message of its own: its last line says which signal.
  const why = r.timedOut
    ? `cowbench: child timed out after ${timeoutMs} ms`
    : r.signal
      ? `cowbench: the child was ${killedBy(r.signal)}`
      : null;
  return { code: r.code, stdout: r.stdout, stderr: why ? `${r.stderr}\n${why}` : r.stderr };
}

/** What a suite asks of one run: typed options (a backend from ctx.backends); flagsOf makes its argv. */
export type RunRequest = Omit<Partial<RunOptions>, 'backend'> & { backend?: string };

/** The line of a failed child's stderr that says why (src/child.ts childFailure). */
export function childError(stderr: string, code: number | null): string {
  return childFailure({ code, signal: null, stdout: '', stderr, timedOut: false, durationMs: 0 });
}

/** One snapshot in a child process. An unverified run is an error, not a data point. */
export async function runSnapshotChild(
  ctx: BenchContext,
  options: RunRequest,
  label: string,
): Promise<ChildOutcome> {
  const r = await runCowbenchChild([
    'run',
    '--json',
    '--no-progress',
    ...flagsOf(options as Partial<RunOptions>),
  ]);
  ctx.tick(label);
  if (r.code !== 0) {
    // A killed child could not remove its image's temporary: the next run must not find the disk
    // (or a RAM file system) full of it.
    if (r.code === null) sweepBefore(options.out ?? null);
    const error = r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`;
    ctx.log(`  ${label}: failed (exit ${r.code}): ${error}`);
    let result: RunResult | undefined;
    try {
      result = JSON.parse(r.stdout) as RunResult;
    } catch {
      /* no result */
    }
    return { ok: false, error, exitCode: r.code, ...(result ? { result } : {}) };
  }
  const result = JSON.parse(r.stdout) as RunResult;
  if (!result.verified && result.verification.skipped === null) {
    ctx.log(
      `  ${label}: image did not verify (${result.verification.bad_pages} bad pages): not a data point`,
    );
    return { ok: false, error: 'unverified image', exitCode: r.code, result };
  }
  return { ok: true, result, exitCode: 0 };
}

/** Repeats a run and returns the verified results (failures logged and dropped). */
export async function repeatRuns(
  ctx: BenchContext,
  options: RunRequest,
  label: string,
): Promise<{ results: RunResult[]; failures: string[] }> {
  const results: RunResult[] = [];
  const failures: string[] = [];
  for (let i = 0; i < ctx.repeat; i++) {
    const o = await runSnapshotChild(ctx, options, `${label} #${i + 1}`);
    if (o.ok && o.result) results.push(o.result);
    else failures.push(o.error ?? 'failed');
  }
  return { results, failures };
}

/**
 * Adds `<key>_median/_min/_max/_n` columns for a metric over runs, and `<key>_samples` (every raw
 * sample, unrounded), which bench moves into results.json's `metrics` under suite/case/key.
 */
export function spread(prefix: string, s: Summary, digits = 2): Row {
  const r = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
  return {
    [`${prefix}_median`]: r(s.median),
    [`${prefix}_min`]: r(s.min),
    [`${prefix}_max`]: r(s.max),
    [`${prefix}_n`]: s.n,
    [`${prefix}${SAMPLES_SUFFIX}`]: s.samples ?? [],
  };
}

export function writeCsv(file: string, rows: Row[]): void {
  if (rows.length === 0) {
    replaceFile(file, '');
    return;
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  replaceFile(file, stringify(rows, { header: true, columns, cast: { boolean: (v) => (v ? 'yes' : 'no') } }));
}

export function scratch(ctx: BenchContext, name: string): string {
  mkdirSync(ctx.scratchDir, { recursive: true, mode: 0o700 });
  const file = path.join(ctx.scratchDir, name);
  rmSync(file, { force: true });
  rmSync(`${file}.json`, { force: true });
  return file;
}

export function available(ctx: BenchContext, backend: string): boolean {
  return ctx.backends.includes(backend);
}

export const GiB = 1024 ** 3;

export { MiB };
