/**
 * The bench runner: every whole-snapshot run happens in a fresh child process (`cowbench run
 * --json`), because signal handlers, userfaultfd registrations and fork are process-wide; a failed
 * run is recorded and the suite goes on. Figures are medians of --repeat runs with min and max.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { max, median, min, sampleStandardDeviation } from 'simple-statistics';
import { packageRoot } from '../src/native.js';
import type { RunResult } from '../src/result.js';

export interface Summary {
  median: number;
  min: number;
  max: number;
  stdev: number;
  n: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  const finite = samples.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, stdev: NaN, n: 0, samples };
  return {
    median: median(finite),
    min: min(finite),
    max: max(finite),
    stdev: finite.length > 1 ? sampleStandardDeviation(finite) : 0,
    n: finite.length,
    samples: finite,
  };
}

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

export type Row = Record<string, string | number | boolean | null>;

export type Verdict = 'confirmed' | 'refuted' | 'partly confirmed' | 'not measurable here';

/** A claim of DESIGN.md (C1–C8) or a performance target (a–e), judged from this run's figures. */
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

/** Runs `cowbench <args> --json` in a fresh process. */
export function runCowbenchChild(
  args: string[],
  timeoutMs = 600_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(packageRoot, 'bin', 'cowbench.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // SIGTERM first (the child cleans up), SIGKILL if it is still there 15 s later.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One snapshot in a child process. An unverified run is an error, not a data point. */
export async function runSnapshotChild(
  ctx: BenchContext,
  flags: string[],
  label: string,
): Promise<ChildOutcome> {
  const r = await runCowbenchChild(['run', '--json', '--no-progress', ...flags]);
  ctx.tick(label);
  if (r.code !== 0) {
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
  flags: string[],
  label: string,
): Promise<{ results: RunResult[]; failures: string[] }> {
  const results: RunResult[] = [];
  const failures: string[] = [];
  for (let i = 0; i < ctx.repeat; i++) {
    const o = await runSnapshotChild(ctx, flags, `${label} #${i + 1}`);
    if (o.ok && o.result) results.push(o.result);
    else failures.push(o.error ?? 'failed');
  }
  return { results, failures };
}

/** Adds `<key>_median/_min/_max` columns for a metric over runs. */
export function spread(prefix: string, s: Summary, digits = 2): Row {
  const r = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
  return {
    [`${prefix}_median`]: r(s.median),
    [`${prefix}_min`]: r(s.min),
    [`${prefix}_max`]: r(s.max),
    [`${prefix}_n`]: s.n,
  };
}

export function writeCsv(file: string, rows: Row[]): void {
  if (rows.length === 0) {
    writeFileSync(file, '');
    return;
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  writeFileSync(
    file,
    stringify(rows, { header: true, columns, cast: { boolean: (v) => (v ? 'yes' : 'no') } }),
  );
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
export const MiB = 1024 ** 2;
