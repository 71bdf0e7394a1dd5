/** `cowbench bench`: the suites, run side by side across backends, into results/<date>-<label>/. */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { fsError, readRegularFile, replaceFile } from '../src/files.js';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { environment, type Environment } from '../src/env.js';
import { tryLockFileAt } from '../src/output.js';
import { backendNames, isBackendName } from '../src/registry.js';
import { CowbenchError, UsageError } from '../src/errors.js';
import { killAllChildrenNow, stopAllChildren } from '../src/child.js';
import { handleSignals, type HandledSignal } from '../src/signals.js';
import {
  childError,
  runCowbenchChild,
  writeCsv,
  type BenchContext,
  type Calibration,
  type Row,
  type Suite,
  type SuiteOutcome,
} from './runner.js';
import { writeReport } from './report.js';
import {
  BENCH_SCHEMA,
  MAX_RESULTS_BYTES,
  extractMetrics,
  type BenchResults,
  type MetricSamples,
} from './results.js';
import { relativeSpread, summarize } from './stats.js';
import { CI_REPEAT, ciSuite } from './suites/ci.js';
import { writeResearchReport } from './html.js';
import { bandwidthSuite } from './suites/bandwidth.js';
import { compatSuite } from './suites/compat.js';
import { consistencySuite } from './suites/consistency.js';
import { faultAroundSuite } from './suites/fault-around.js';
import { latencySuite } from './suites/latency.js';
import { memorySuite } from './suites/memory.js';
import { scaleSuite } from './suites/scale.js';
import { scanSuite } from './suites/scan.js';
import { columns } from '../src/table.js';
import { figure, fixed, percent, quantity, value } from '../src/format.js';
import { thpSuite } from './suites/thp.js';
import { vmaSuite } from './suites/vma.js';
import { writersSuite } from './suites/writers.js';
import { probeFor } from '../src/run-options.js';

export const suites: Suite[] = [
  latencySuite,
  vmaSuite,
  compatSuite,
  memorySuite,
  thpSuite,
  consistencySuite,
  scaleSuite,
  faultAroundSuite,
  bandwidthSuite,
  writersSuite,
  scanSuite,
];

/** Selectable by name or by --ci, never part of "all suites". */
const extraSuites: Suite[] = [ciSuite];

export interface BenchOptions {
  suites: string[];
  backends: string[] | null;
  quick: boolean;
  /** The fixed CI preset (suite `ci`). */
  ci?: boolean;
  repeat: number | null;
  out: string | null;
  label: string | null;
  /** No progress line on stderr (--quiet). */
  quiet?: boolean;
  /** Called with the results directory once results.json and the reports are written (--record). */
  onResults?: (outDir: string) => Promise<void>;
}

function selectSuites(names: string[]): Suite[] {
  if (names.length === 0) return suites;
  return names.map((n) => {
    const s = [...suites, ...extraSuites].find((x) => x.name === n);
    if (!s)
      throw new UsageError(
        'suite',
        `unknown suite '${n}' (known: ${[...suites, ...extraSuites].map((x) => x.name).join(', ')})`,
      );
    return s;
  });
}

/** Backends asked for that this kernel can run; the others are skips with a reason. */
function selectBackends(asked: string[] | null): { usable: string[]; skipped: Row[] } {
  const names = asked ?? [...backendNames];
  const usable: string[] = [];
  const skipped: Row[] = [];
  for (const n of names) {
    if (!isBackendName(n))
      throw new UsageError('--backends', `unknown backend '${n}' (known: ${backendNames.join(', ')})`);
    const p = probeFor({ backend: n });
    if (p.ok) usable.push(n);
    else skipped.push({ backend: n, reason: p.reason });
  }
  return { usable, skipped };
}

async function calibrate(bytes: number, dir: string): Promise<Calibration> {
  execFileSync('sync');
  const r = await runCowbenchChild(['calibrate', '--json', '--size', String(bytes), '--dir', dir]);
  if (r.code !== 0)
    throw new CowbenchError('ESYS', `bench: calibration failed: ${childError(r.stderr, r.code)}`);
  return JSON.parse(r.stdout) as Calibration;
}

const CALIBRATION_FIELDS = ['memcpy_MBps', 'page_fault_ns', 'sink_MBps'] as const;

/** Medians of repeated calibrations, the spread of each figure, and the one-line noise warning. */
export function calibrationSummary(cals: Calibration[]): {
  median: Calibration;
  spread: Record<string, number | null>;
  warning: string | null;
} {
  const spread: Record<string, number | null> = {};
  const median = { ...cals[0]! };
  let worst: { field: string; spread: number; min: number; max: number } | null = null;
  // The warning reads the CPU-bound figures; the sink's bandwidth swings with the page cache and
  // writeback on any machine, and is reported as its spread only.
  for (const f of CALIBRATION_FIELDS) {
    const s = summarize(cals.map((c) => c[f]));
    median[f] = s.median;
    const rs = relativeSpread(s);
    spread[f] = Number.isFinite(rs) ? Number(rs.toFixed(3)) : null;
    if (f !== 'sink_MBps' && Number.isFinite(rs) && (!worst || rs > worst.spread))
      worst = { field: f, spread: rs, min: s.min, max: s.max };
  }
  // The default regression thresholds are 30 %: a calibration that itself moves more than that
  // within one run means this run cannot resolve such a change.
  const warning =
    worst && cals.length > 1 && worst.spread > NOISE_LIMIT
      ? `cowbench: warning: the machine was noisy: calibration ${worst.field} moved ${fixed(worst.max / worst.min, 1)}× (${value(worst.min)}…${value(worst.max)}) within this run, more than the ${NOISE_LIMIT * 100}% the finest default threshold of compare resolves; stop other load (or pin with taskset), raise --repeat, and re-run`
      : null;
  return { median, spread, warning };
}
export const NOISE_LIMIT = 0.3;

function renderTable(rows: Row[]): string {
  if (rows.length === 0) return '';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
    (c) =>
      !c.endsWith('_min') &&
      !c.endsWith('_max') &&
      !c.endsWith('_n') &&
      !c.endsWith('_samples') &&
      !['failure', 'error', 'detail'].includes(c),
  );
  // Each cell in the unit its column names (region_bytes 64 MiB); the CSV keeps the raw numbers.
  return columns(
    rows.map((r) => cols.map((c) => figure(c, r[c]))),
    { head: cols },
  );
}

/** What runBench settled before it locked the results directory. */
interface BenchPlan {
  selected: Suite[];
  usable: string[];
  skipped: Row[];
  env: Environment;
  outDir: string;
  /** Removes the bench lock file and drops the lock (idempotent): also on a signal's exit. */
  unlock: () => void;
}

/** How long a child may take to end after SIGTERM (a run disarms and removes its temporary) before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** The results directory's bench lock file: empty, removed by its holder when the bench ends. */
const BENCH_LOCK = '.cowbench-bench.lock';

/**
 * Holds an exclusive flock(2) on the results directory's lock file while a bench writes into it: a second
 * bench into the same directory is refused at once (exit 2) instead of interleaving its suites,
 * CSVs and results.json with the first's. The lock dies with its descriptor (close-on-exec, so
 * no child holds it) and with the process: a killed bench leaves no stale lock.
 */
function lockResultsDirectory(dir: string): () => void {
  // A lock file of its own, not the directory: `run --out DIR/x.img` takes the directory's flock
  // for its commit, and must not wait on a bench (nor a bench be refused for a commit).
  const file = path.join(dir, BENCH_LOCK);
  let fd: number | null;
  try {
    fd = tryLockFileAt(file);
  } catch (e) {
    throw fsError(`cannot open ${file} to lock ${dir}`, e as NodeJS.ErrnoException);
  }
  if (fd === null) {
    throw new CowbenchError(
      'EBUSY',
      `bench: another cowbench bench is writing into ${dir}: wait for it to finish, or give another --out`,
      { exitCode: 2 },
    );
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    rmSync(file, { force: true }); // while still held: a bench waiting on this inode sees it gone
    closeSync(fd);
  };
}

export async function runBench(o: BenchOptions): Promise<number> {
  const selected = selectSuites(o.suites);
  const { usable, skipped } = selectBackends(o.backends);
  const env = environment();
  const label = o.label ?? env.hostname;
  const outDir = path.resolve(
    o.out ??
      path.join('results', `${env.date.slice(0, 10)}-${label}${o.ci ? '-ci' : o.quick ? '-quick' : ''}`),
  );
  mkdirSync(outDir, { recursive: true });
  const unlock = lockResultsDirectory(outDir);
  try {
    return await benchInto(o, { selected, usable, skipped, env, outDir, unlock });
  } finally {
    unlock();
  }
}

/** The bench proper, into `outDir`, which runBench has locked. */
async function benchInto(
  o: BenchOptions,
  { selected, usable, skipped, env, outDir, unlock }: BenchPlan,
): Promise<number> {
  const repeat = o.repeat ?? (o.ci ? CI_REPEAT : o.quick ? 2 : 5);
  const scratchDir = path.join(outDir, 'tmp');
  const planned = selected.reduce(
    (n, s) => n + s.plannedRuns({ quick: o.quick, repeat, backends: usable }),
    0,
  );
  // One progress line at the bottom of the terminal: runs done of planned, elapsed, ETA. Log lines
  // go above it (MultiBar.log) and the line is cleared, not frozen, whenever stdout prints.
  const multibar =
    process.stderr.isTTY === true && o.quiet !== true
      ? new cliProgress.MultiBar(
          {
            format:
              '{bar} {value}/{total} runs | {duration_formatted} elapsed | ETA {eta_formatted} | {label}',
            stream: process.stderr,
            clearOnComplete: true,
            hideCursor: true,
            etaBuffer: 20,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let bar: cliProgress.SingleBar | undefined;
  const startBar = (value: number) => {
    if (multibar && !bar) bar = multibar.create(Math.max(planned, value), value, { label: '' });
  };
  const stopBar = () => {
    if (bar && multibar) {
      multibar.remove(bar);
      multibar.stop();
    }
    bar = undefined;
  };
  const log = (line: string) => {
    if (multibar && bar) multibar.log(line + '\n');
    else process.stderr.write(line + '\n');
  };
  mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  const removeScratch = () => rmSync(scratchDir, { recursive: true, force: true });
  // SIGINT/SIGTERM/SIGHUP/SIGQUIT (CI cancellation signals bench alone): stop the running child
  // (SIGTERM, it removes its temporary; SIGKILL after a grace), keep the suites already finished
  // in results.json marked incomplete, remove the scratch directory, exit 128 + the signal. A
  // second signal exits at once, still killing the children and removing the scratch directory.
  let running: string | null = null;
  const finished: string[] = [];
  const interrupted = (sig: HandledSignal) => {
    const code = signals.exitCode()!;
    const notRun = selected.map((s) => s.name).filter((n) => n !== running && !finished.includes(n));
    if (finished.length === 0 || (running === null && notRun.length === 0)) {
      process.stderr.write(
        `cowbench: bench: interrupted by ${sig}: ${finished.length === 0 ? 'no suite had finished, nothing written' : 'every suite had finished'}; scratch directory removed\n`,
      );
      return;
    }
    report.incomplete = {
      signal: sig,
      exit_code: code,
      date: new Date().toISOString(),
      interrupted_suite: running,
      not_run: notRun,
    };
    writeResults();
    writeReport(outDir);
    process.stderr.write(
      `cowbench: bench: interrupted by ${sig}${running ? ` during suite ${running}` : ''}: ${finished.join(', ')} kept in ${resultsFile} (marked incomplete); scratch directory removed\n`,
    );
  };
  const signals = handleSignals({
    stopping: 'stopping the running child; suites already finished stay written',
    onForcedExit: () => {
      unlock(); // first: a scratch removal that throws must not leave the lock file behind
      killAllChildrenNow();
      removeScratch();
    },
  });
  signals.signal.addEventListener('abort', () => {
    stopBar();
    const sig = signals.received!;
    void stopAllChildren(STOP_GRACE_MS)
      .then(() => interrupted(sig))
      .catch((e: unknown) => process.stderr.write(`cowbench: bench: ${(e as Error).message}\n`))
      .finally(() => {
        removeScratch();
        // process.exit skips runBench's finally: the lock file would stay in the results directory.
        unlock();
        process.exit(signals.exitCode());
      });
  });
  // Same-run calibration, repeated: twice now, once more after every suite; the spread says how
  // much the machine moved meanwhile (and drives the noise warning).
  const calBytes = o.quick || o.ci ? 256 * 1024 * 1024 : 1024 ** 3;
  const calibrations: Calibration[] = [
    await calibrate(calBytes, scratchDir),
    await calibrate(calBytes, scratchDir),
  ];
  const calibration = calibrationSummary(calibrations).median;
  process.stdout.write(
    `cowbench bench on ${env.hostname}: Linux ${env.kernel}, ${env.cores} × ${env.cpu_model}, THP ${env.thp_mode}\n` +
      `calibration: memcpy ${quantity(calibration.memcpy_MBps, 'MB/s')}, sink ${quantity(calibration.sink_MBps, 'MB/s')}, page fault ${quantity(calibration.page_fault_ns, 'ns')}\n` +
      `backends: ${usable.join(', ')}${skipped.length ? `; skipped: ${skipped.map((s) => `${s.backend} (${s.reason})`).join('; ')}` : ''}\n` +
      `repeat ${repeat}${o.quick ? ' (quick)' : ''}; results in ${outDir}\n\n`,
  );
  let done = 0;
  startBar(0);
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
      // The plan is an estimate (a suite may retry or add a run): grow the total, never overshoot.
      if (bar && done > bar.getTotal()) bar.setTotal(done);
      bar?.update(done, { label: l });
    },
  };
  const report: BenchResults = {
    schema: BENCH_SCHEMA,
    env,
    calibration,
    calibrations,
    calibration_spread: calibrationSummary(calibrations).spread,
    noise: { warning: null },
    options: { ...o, repeat },
    backends: usable,
    skipped_backends: skipped,
    suites: {},
    metrics: {},
  };
  const recordCalibrations = () => {
    const c = calibrationSummary(calibrations);
    report.calibration = c.median;
    report.calibration_spread = c.spread;
    report.noise = { warning: c.warning };
    for (const f of CALIBRATION_FIELDS)
      report.metrics[`calibration/all/${f}`] = {
        samples: calibrations.map((x) => x[f]),
        unit: f === 'page_fault_ns' ? 'ns' : 'MB/s',
      };
  };
  recordCalibrations();
  // Suites measured earlier into the same directory are kept (each with its own date, commit and
  // calibration), so one suite can be re-run without losing the others.
  const resultsFile = path.join(outDir, 'results.json');
  if (existsSync(resultsFile)) {
    try {
      const earlier = JSON.parse(
        readRegularFile(resultsFile, MAX_RESULTS_BYTES, 'a results file'),
      ) as Partial<BenchResults>;
      if (earlier.schema === BENCH_SCHEMA)
        for (const [name, entry] of Object.entries(earlier.suites ?? {}))
          if (!selected.some((s) => s.name === name)) {
            report.suites[name] = {
              ...(earlier.env?.date ? { date: earlier.env.date } : {}),
              ...(earlier.env?.git_commit ? { git_commit: earlier.env.git_commit } : {}),
              ...(earlier.calibration ? { calibration: earlier.calibration } : {}),
              ...entry,
            };
            for (const [key, m] of Object.entries(earlier.metrics ?? {}))
              if (key.startsWith(`${name}/`)) report.metrics[key] = m as MetricSamples;
          }
    } catch {
      /* unreadable: start afresh */
    }
  }
  const writeResults = () => replaceFile(resultsFile, JSON.stringify(report, null, 2) + '\n');
  let failedSuites = 0;
  for (const suite of selected) {
    running = suite.name;
    const started = Date.now();
    let outcome: SuiteOutcome;
    try {
      outcome = await suite.run(ctx);
    } catch (e) {
      failedSuites++;
      outcome = { rows: [], skipped: `suite failed: ${(e as Error).message}` };
    }
    // Interrupted: the suite's last runs were stopped, it is not a finished suite. The signal
    // handler writes what finished before it and exits.
    if (signals.received) await new Promise<never>(() => {});
    stopBar();
    // A calibration that fails between suites (a full disk) loses its one figure, not the suites.
    try {
      calibrations.push(await calibrate(calBytes, scratchDir));
    } catch (e) {
      process.stderr.write(`cowbench: warning: ${(e as Error).message}; the suites' results are kept\n`);
    }
    recordCalibrations();
    // No figure is divided by the calibration: on this 2-core shared VM the calibration moves
    // more between runs than the figures do (A/A, 5 pairs of bench --ci, results/2026-12-01-vm-
    // ci-aa1/normalize-analysis.txt: mean |change| of the fault round-trip medians 0.9–3.7 % raw,
    // 37–40 % divided by the page-fault calibration; 21 of 29 metrics noisier normalised), so
    // normalising adds noise. The calibration is recorded
    // (repeatedly, with its spread) to judge the machine, not to rescale the results.
    const { rows, metrics } = extractMetrics(suite.name, outcome.rows);
    outcome.rows = rows;
    for (const key of Object.keys(report.metrics))
      if (key.startsWith(`${suite.name}/`)) delete report.metrics[key];
    Object.assign(report.metrics, metrics);
    report.suites[suite.name] = {
      claim: suite.claim,
      description: suite.description,
      seconds: (Date.now() - started) / 1000,
      date: new Date(started).toISOString(),
      git_commit: env.git_commit,
      calibration: report.calibration,
      ...outcome,
    };
    writeCsv(path.join(outDir, `${suite.name}.csv`), outcome.rows);
    writeResults();
    writeReport(outDir);
    finished.push(suite.name);
    running = null;
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
    if (done < planned) startBar(done);
  }
  stopBar();
  removeScratch();
  const metricCount = Object.keys(report.metrics).length;
  process.stdout.write(
    `calibration over the run (n=${calibrations.length}): spread ${CALIBRATION_FIELDS.map((f) => `${f} ${percent((report.calibration_spread?.[f] ?? NaN) * 100, { sign: false, digits: 0 })}`).join(', ')}\n` +
      `results: ${outDir} (REPORT.md, report.html, charts/, results.json with ${metricCount} metrics' raw samples, one CSV per suite)\n`,
  );
  if (report.noise?.warning) process.stderr.write(report.noise.warning + '\n');
  // Charts and report.html beside REPORT.md; a chart that fails to render does not fail the bench.
  await writeResearchReport([outDir]).catch((e: unknown) =>
    process.stderr.write(`report.html not written: ${(e as Error).message}\n`),
  );
  await o.onResults?.(outDir);
  signals.dispose();
  return failedSuites > 0 ? 1 : 0;
}
