/** `cowbench run`: one verified point-in-time snapshot of a live region under writers. */
import { withValues } from '../argv.js';
import { removeOwnTemporaries } from '../clean.js';
import { runOptionsFromFlags, withRunOptions, type RunFlags } from '../options.js';
import { runSnapshot, NULL_SINK, type RunOptions } from '../orchestrator.js';
import type { RunResult } from '../result.js';
import { cliError, CowbenchError, UsageError } from '../errors.js';
import { parseCount } from '../units.js';
import { mean, min, max, sampleStandardDeviation } from 'simple-statistics';
import { bytes, fixed } from '../format.js';
import { failedRunJson, renderRun, runVerdict } from '../report.js';
import { handleSignals, type SignalScope } from '../signals.js';
import { afterStdout, writeStderr, writeStdout } from '../stdout.js';
import type { CliPlugin } from './plugin.js';
import { runProgress } from './progress.js';
import { columns } from '../table.js';
import { INJECT_FAULTS } from '../native.js';

type Flags = RunFlags & {
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
  verbose?: boolean;
  runs?: unknown;
  injectFault?: string;
};

/** What `run --runs N` hands each run: its label, one signal scope for all runs, and sinks. */
interface Repeat {
  /** Prefixes the progress line and the one-line summary ("run 2/5: "). */
  label: string;
  signals: SignalScope;
  collect(r: RunResult): void;
  /** The failure object of a run that failed (printed once, inside the object of all runs). */
  fail(json: Record<string, unknown>): void;
}

/** One run, or one of `--runs N` (then `repeat`). */
async function runOnce(flags: Flags, repeat?: Repeat): Promise<number> {
  let options: RunOptions;
  try {
    options = runOptionsFromFlags(flags);
    if (flags.injectFault !== undefined) {
      const fault = INJECT_FAULTS.find((f) => f === flags.injectFault);
      if (!fault)
        throw new UsageError(
          '--inject-fault',
          `'${flags.injectFault}' is not one of ${INJECT_FAULTS.join(', ')}`,
        );
      options.inject = { ...options.inject, fault };
    }
  } catch (thrown) {
    const e = cliError(thrown);
    if (flags.json) writeStdout(JSON.stringify(failedRunJson(e, null, undefined), null, 2) + '\n');
    throw e;
  }
  const signals =
    repeat?.signals ??
    handleSignals({
      stopping: 'stopping the snapshot, releasing writers…',
      onForcedExit: () => removeOwnTemporaries(options.out),
    });
  const runLabel = repeat?.label ?? '';
  const quiet = flags.quiet === true;
  const showProgress = flags.progress !== false && !flags.json && !quiet && process.stderr.isTTY === true;
  const bar = showProgress ? runProgress(runLabel) : undefined;
  try {
    const result = await runSnapshot(options, {
      signal: signals.signal,
      onNotice: (message) => {
        if (!quiet) writeStderr(`cowbench: ${message}\n`);
      },
      onPhase: (phase) => {
        bar?.phase(phase);
        if (flags.verbose) writeStderr(`cowbench: ${phase}\n`);
      },
      onProgress: (copied, total) => bar?.copied(copied, total),
    });
    bar?.stop();
    repeat?.collect(result);
    // With --json, stdout holds the one object: a repeated run's line is progress (stderr).
    const line = `${runLabel}${oneLine(result)}\n`;
    if (repeat && flags.json && !quiet) writeStderr(line);
    const printed = repeat
      ? flags.json
        ? { ok: true as const }
        : writeStdout(line)
      : writeStdout(
          flags.json
            ? JSON.stringify(result, null, 2) + '\n'
            : renderRun(result, { verbose: flags.verbose === true }),
        );
    const kept = result.output ? { image: result.output, manifest: result.manifest! } : 'none';
    if (!printed.ok) return afterStdout(printed, signals.exitCode() ?? 0, kept);
    if (signals.received) return signals.exitCode()!;
    if (result.lost_writes) return runVerdict(result);
    if (!result.verified && result.verification.skipped === null) return 1;
    if (!result.region_writable_after.ok) {
      writeStderr(`cowbench: the region was left protected: ${result.region_writable_after.detail}\n`);
      return 1;
    }
    return 0;
  } catch (thrown) {
    bar?.stop();
    // A refused option names its flag on the command line.
    const e = cliError(thrown);
    if (flags.json) {
      const failure = failedRunJson(e, { ...options }, signals.received);
      if (repeat) repeat.fail(failure);
      else writeStdout(JSON.stringify(failure, null, 2) + '\n');
    }
    if (signals.received) {
      writeStderr(
        `cowbench: interrupted by ${signals.received}: tracking disarmed, writers released, no image kept\n`,
      );
      return signals.exitCode()!;
    }
    throw e;
  } finally {
    if (!repeat) signals.dispose();
  }
}

/** The figures `--runs N` summarises, by their JSON key (units in the key). */
const REPEATED: { key: string; of: (r: RunResult) => number | null; digits: number }[] = [
  { key: 'pause_us', of: (r) => r.pause_us, digits: 1 },
  { key: 'total_ms', of: (r) => r.total_ms, digits: 1 },
  { key: 'throughput_MBps', of: (r) => r.throughput_MBps, digits: 1 },
  { key: 'write_stall_us.p99', of: (r) => r.write_stall.p99_us, digits: 2 },
  { key: 'writers.throughput_ratio', of: (r) => r.writers.throughput_ratio, digits: 3 },
  { key: 'wp_faults', of: (r) => r.wp_faults, digits: 0 },
  { key: 'extra_memory_peak_bytes', of: (r) => r.extra_memory_peak_bytes, digits: 0 },
];

/** A repeated figure as printed: bytes in binary units, others with the figure's decimals. */
function show(key: string, x: number): string {
  const digits = REPEATED.find((m) => m.key === key)?.digits ?? 1;
  return key.endsWith('_bytes') ? bytes(x) : fixed(x, digits);
}

function oneLine(r: RunResult): string {
  const verified = r.verified
    ? 'verified yes'
    : r.verification.skipped
      ? 'not verified (null sink)'
      : 'verified NO';
  return [verified, ...REPEATED.slice(0, 5).map((m) => `${m.key} ${show(m.key, m.of(r) ?? NaN)}`)].join(
    ' · ',
  );
}

export interface RepeatedFigure {
  key: string;
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  samples: number[];
}

/** mean ± σ and min … max of each figure over the runs (hyperfine's summary). */
export function summarizeRuns(results: RunResult[]): RepeatedFigure[] {
  return REPEATED.map((m) => {
    const samples = results.map(m.of).filter((v): v is number => v !== null && Number.isFinite(v));
    return {
      key: m.key,
      n: samples.length,
      mean: samples.length ? mean(samples) : NaN,
      sd: samples.length > 1 ? sampleStandardDeviation(samples) : NaN,
      min: samples.length ? min(samples) : NaN,
      max: samples.length ? max(samples) : NaN,
      samples,
    };
  });
}

export function renderRepeated(figures: RepeatedFigure[]): string {
  return columns(
    figures.map((f) => [
      f.key,
      `${show(f.key, f.mean)} ± ${show(f.key, f.sd)}`,
      `(${show(f.key, f.min)} … ${show(f.key, f.max)}, n=${f.n})`,
    ]),
  );
}

/**
 * `run --runs N`: N snapshots one after another, then mean ± σ and min … max of each figure. One
 * signal scope covers every run and the gaps between them. With --json, stdout is one object,
 * also when a run fails or is interrupted: the finished runs, their summary, the failed run's
 * number, its error, and the exit code the process exits with.
 */
async function runFromFlags(flags: Flags): Promise<number> {
  let runs: number;
  try {
    if (flags.verbose && flags.quiet)
      throw new UsageError(
        '--quiet',
        'conflicts with --verbose (which names each step on stderr): give one of them',
      );
    runs = flags.runs === undefined ? 1 : parseCount('--runs', flags.runs, 1, 1000);
    if (runs > 1 && flags.out !== undefined && String(flags.out) !== NULL_SINK)
      throw new UsageError('--runs', 'keeps no image: use --out /dev/null or no --out with --runs > 1');
  } catch (e) {
    if (flags.json) writeStdout(JSON.stringify(failedRunJson(e, null, undefined), null, 2) + '\n');
    throw e;
  }
  if (runs === 1) return runOnce(flags);
  const signals = handleSignals({
    stopping: 'stopping the snapshot, releasing writers…',
    onForcedExit: () => removeOwnTemporaries(null),
  });
  const results: RunResult[] = [];
  let failure: Record<string, unknown> | null = null;
  let failedRun: number | null = null;
  let code = 0;
  let thrown: unknown;
  try {
    for (let i = 1; i <= runs; i++) {
      failedRun = i;
      code = signals.received
        ? signals.exitCode()!
        : await runOnce(flags, {
            label: `run ${i}/${runs}: `,
            signals,
            collect: (r) => results.push(r),
            fail: (json) => (failure = json),
          });
      if (code !== 0) break;
      failedRun = null;
    }
  } catch (e) {
    thrown = e;
    const err = CowbenchError.fromNative(e);
    code = err.code === 'EINTERNAL' ? 1 : err.exitCode;
  } finally {
    signals.dispose();
  }
  const figures = summarizeRuns(results);
  const failed = failure as Record<string, unknown> | null;
  let printed: ReturnType<typeof writeStdout> = { ok: true };
  if (flags.json)
    printed = writeStdout(
      JSON.stringify(
        {
          runs: results,
          summary: figures,
          failed_run: failedRun,
          error: failed?.['error'] ?? null,
          interrupted_by: signals.received ?? null,
          cleanup: failed?.['cleanup'] ?? null,
          exit_code: code,
        },
        null,
        2,
      ) + '\n',
    );
  else if (code === 0)
    printed = writeStdout(
      `\n${runs} runs of ${results[0]!.backend} (mean ± σ, min … max):\n${renderRepeated(figures)}`,
    );
  if (thrown !== undefined) throw thrown;
  return printed.ok ? code : afterStdout(printed, code, 'none');
}

export const runCommand: CliPlugin = (y) =>
  y.command(
    'run',
    'take one verified point-in-time snapshot of a live region under writers',
    withValues((y) =>
      withRunOptions(y)
        .option('json', { type: 'boolean', default: false, describe: 'print the result object as JSON' })
        .option('runs', {
          type: 'string',
          describe: 'repeat the snapshot N times and print mean ± σ, min … max of each figure [1]',
        })
        .option('progress', { type: 'boolean', default: true, describe: 'progress bar on a terminal' })
        .option('verbose', {
          type: 'boolean',
          default: false,
          describe: 'name each protocol step on stderr as it starts',
        })
        // Test-only and hidden: the shared suite's injected fault, for runs inside `cowbench vm`.
        .option('inject-fault', { type: 'string', hidden: true }),
    ),
    async (args) => {
      process.exitCode = await runFromFlags(args as Flags);
    },
  );
