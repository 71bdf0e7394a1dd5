/** `cowbench bench`: the suites, run side by side across backends, into results/<date>-<label>/. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { environment } from '../src/env.js';
import { backendOptions, DEFAULT_RUN_OPTIONS } from '../src/orchestrator.js';
import { backendNames, backends } from '../src/registry.js';
import { UsageError } from '../src/errors.js';
import {
  runCowbenchChild,
  writeCsv,
  type BenchContext,
  type Calibration,
  type Row,
  type Suite,
  type SuiteOutcome,
} from './runner.js';
import { writeReport } from './report.js';
import { writeResearchReport } from './html.js';
import { bandwidthSuite } from './suites/bandwidth.js';
import { compatSuite } from './suites/compat.js';
import { consistencySuite } from './suites/consistency.js';
import { latencySuite } from './suites/latency.js';
import { memorySuite } from './suites/memory.js';
import { scaleSuite } from './suites/scale.js';
import { scanSuite } from './suites/scan.js';
import { thpSuite } from './suites/thp.js';
import { vmaSuite } from './suites/vma.js';
import { writersSuite } from './suites/writers.js';

export const suites: Suite[] = [
  latencySuite,
  vmaSuite,
  compatSuite,
  memorySuite,
  thpSuite,
  consistencySuite,
  scaleSuite,
  bandwidthSuite,
  writersSuite,
  scanSuite,
];

export interface BenchOptions {
  suites: string[];
  backends: string[] | null;
  quick: boolean;
  repeat: number | null;
  out: string | null;
  label: string | null;
}

function selectSuites(names: string[]): Suite[] {
  if (names.length === 0) return suites;
  return names.map((n) => {
    const s = suites.find((x) => x.name === n);
    if (!s)
      throw new UsageError('suite', `unknown suite '${n}' (known: ${suites.map((x) => x.name).join(', ')})`);
    return s;
  });
}

/** Backends asked for that this kernel can run; the others are skips with a reason. */
function selectBackends(asked: string[] | null): { usable: string[]; skipped: Row[] } {
  const names = asked ?? [...backendNames];
  const usable: string[] = [];
  const skipped: Row[] = [];
  for (const n of names) {
    const b = (backends as Record<string, (typeof backends)[keyof typeof backends] | undefined>)[n];
    if (!b) throw new UsageError('--backends', `unknown backend '${n}' (known: ${backendNames.join(', ')})`);
    const p = b.probe(backendOptions(DEFAULT_RUN_OPTIONS));
    if (p.ok) usable.push(n);
    else skipped.push({ backend: n, reason: p.reason });
  }
  return { usable, skipped };
}

async function calibrate(bytes: number, dir: string): Promise<Calibration> {
  execFileSync('sync');
  const r = await runCowbenchChild(['calibrate', '--json', '--size', String(bytes), '--dir', dir]);
  if (r.code !== 0) throw new Error(`calibration failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Calibration;
}

function renderTable(rows: Row[]): string {
  if (rows.length === 0) return '';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
    (c) =>
      !c.endsWith('_min') &&
      !c.endsWith('_max') &&
      !c.endsWith('_n') &&
      !['failure', 'error', 'detail'].includes(c),
  );
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? '-'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? String(v) // exact: 268435456, not 268435000
          : String(Number(v.toPrecision(6)))
        : typeof v === 'boolean'
          ? v
            ? 'yes'
            : 'no'
          : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  return [line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n') + '\n';
}

export async function runBench(o: BenchOptions): Promise<number> {
  const selected = selectSuites(o.suites);
  const { usable, skipped } = selectBackends(o.backends);
  const repeat = o.repeat ?? (o.quick ? 2 : 5);
  const env = environment();
  const label = o.label ?? env.hostname;
  const outDir = path.resolve(
    o.out ?? path.join('results', `${env.date.slice(0, 10)}-${label}${o.quick ? '-quick' : ''}`),
  );
  mkdirSync(outDir, { recursive: true });
  const scratchDir = path.join(outDir, 'tmp');
  const planned = selected.reduce(
    (n, s) => n + s.plannedRuns({ quick: o.quick, repeat, backends: usable }),
    0,
  );
  const bar =
    process.stderr.isTTY === true
      ? new cliProgress.SingleBar(
          { format: '{bar} {value}/{total} runs | {label}', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const log = (line: string) => {
    if (bar) bar.stop();
    process.stderr.write(line + '\n');
  };
  mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  const calibration = await calibrate(o.quick ? 256 * 1024 * 1024 : 1024 ** 3, scratchDir);
  process.stdout.write(
    `cowbench bench on ${env.hostname}: Linux ${env.kernel}, ${env.cores} × ${env.cpu_model}, THP ${env.thp_mode}\n` +
      `calibration: memcpy ${calibration.memcpy_MBps.toFixed(0)} MB/s, sink ${calibration.sink_MBps.toFixed(0)} MB/s, page fault ${calibration.page_fault_ns.toFixed(0)} ns\n` +
      `backends: ${usable.join(', ')}${skipped.length ? `; skipped: ${skipped.map((s) => `${s.backend} (${s.reason})`).join('; ')}` : ''}\n` +
      `repeat ${repeat}${o.quick ? ' (quick)' : ''}; results in ${outDir}\n\n`,
  );
  let done = 0;
  bar?.start(planned, 0, { label: '' });
  const ctx: BenchContext = {
    quick: o.quick,
    repeat,
    backends: usable,
    outDir,
    scratchDir,
    calibration,
    log,
    tick: (l) => {
      done++;
      bar?.update(done, { label: l });
    },
  };
  const report: Record<string, unknown> = {
    schema: 'cowbench.bench/1',
    env,
    calibration,
    options: { ...o, repeat },
    backends: usable,
    skipped_backends: skipped,
    suites: {} as Record<string, unknown>,
  };
  // Suites measured earlier into the same directory are kept (each with its own date, commit and
  // calibration), so one suite can be re-run without losing the others.
  const resultsFile = path.join(outDir, 'results.json');
  if (existsSync(resultsFile)) {
    try {
      const earlier = JSON.parse(readFileSync(resultsFile, 'utf8')) as {
        suites?: Record<string, Record<string, unknown>>;
        env?: { git_commit?: string; date?: string };
        calibration?: unknown;
      };
      for (const [name, entry] of Object.entries(earlier.suites ?? {}))
        if (!selected.some((s) => s.name === name))
          (report.suites as Record<string, unknown>)[name] = {
            date: earlier.env?.date,
            git_commit: earlier.env?.git_commit,
            calibration: earlier.calibration,
            ...entry,
          };
    } catch {
      /* unreadable: start afresh */
    }
  }
  const writeResults = () =>
    writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  let failedSuites = 0;
  for (const suite of selected) {
    const started = Date.now();
    let outcome: SuiteOutcome;
    try {
      outcome = await suite.run(ctx);
    } catch (e) {
      failedSuites++;
      outcome = { rows: [], skipped: `suite failed: ${(e as Error).message}` };
    }
    bar?.stop();
    // Calibrated ratios: every timing also relative to this run's plain page fault and memcpy.
    for (const row of outcome.rows) {
      const stall = row['stall_p50_us_median'];
      if (typeof stall === 'number')
        row['stall_p50_per_page_fault'] = Number(((stall * 1000) / calibration.page_fault_ns).toFixed(3));
      const mbps = row['throughput_MBps_median'];
      if (typeof mbps === 'number')
        row['throughput_per_sink_bandwidth'] = Number((mbps / calibration.sink_MBps).toFixed(3));
    }
    (report.suites as Record<string, unknown>)[suite.name] = {
      claim: suite.claim,
      description: suite.description,
      seconds: (Date.now() - started) / 1000,
      date: new Date(started).toISOString(),
      git_commit: env.git_commit,
      calibration,
      ...outcome,
    };
    writeCsv(path.join(outDir, `${suite.name}.csv`), outcome.rows);
    writeResults();
    writeReport(outDir);
    process.stdout.write(`== ${suite.name} (${suite.claim}): ${suite.description}\n`);
    if (outcome.skipped) process.stdout.write(`skipped: ${outcome.skipped}\n`);
    // Suites with several parts (a `part` column) get one table per part.
    const parts = [...new Set(outcome.rows.map((r) => r['part']))];
    for (const part of parts)
      process.stdout.write(renderTable(outcome.rows.filter((r) => r['part'] === part)));
    for (const f of outcome.findings ?? []) process.stdout.write(`  - ${f}\n`);
    for (const v of outcome.verdicts ?? [])
      process.stdout.write(`  ${v.claim}: ${v.verdict} — ${v.evidence}\n`);
    process.stdout.write('\n');
    if (done < planned) bar?.start(planned, done, { label: '' });
  }
  bar?.stop();
  rmSync(scratchDir, { recursive: true, force: true });
  // Charts and report.html beside REPORT.md; a chart that fails to render does not fail the bench.
  await writeResearchReport([outDir]).catch((e: unknown) =>
    process.stderr.write(`report.html not written: ${(e as Error).message}\n`),
  );
  process.stdout.write(
    `results: ${outDir} (REPORT.md, report.html, charts/, results.json, one CSV per suite)\n`,
  );
  return failedSuites > 0 ? 1 : 0;
}
