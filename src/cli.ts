/** The `cowbench` command line (yargs). Every error is one line on stderr and an exit code. */
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { runBench, suites } from '../bench/index.js';
import { writeReport } from '../bench/report.js';
import { scanMicroChild, scanTrialChild } from '../bench/suites/scan.js';
import { faultLatencyTrial } from '../bench/fault_latency.js';
import { native } from './native.js';
import { checkOutput } from './output.js';
import { parseCount, parseSize } from './units.js';
import { environment } from './env.js';
import { CowbenchError, UsageError } from './errors.js';
import {
  runOptionsFromFlags,
  BUFFER_POLICIES,
  DELIVERIES,
  ENGINES,
  FILLS,
  PATTERNS,
  type RunFlags,
} from './options.js';
import { backendOptions, DEFAULT_RUN_OPTIONS, runSnapshot } from './orchestrator.js';
import { probeKernel } from './probe.js';
import { backendNames, backends } from './registry.js';
import { renderProbe, renderRun } from './report.js';
import { renderCompat, runCompat, WRITER_LABELS } from './compat.js';
import { WRITER_KINDS } from './options.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

async function runCommand(
  flags: RunFlags & { json?: boolean; progress?: boolean; verbose?: boolean },
): Promise<number> {
  const options = runOptionsFromFlags(flags);
  const controller = new AbortController();
  let signalled: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: the user wants out now. Exiting closes every fd and mapping, so no
      // writer of ours can stay blocked; only the temporary image may be left behind.
      process.stderr.write(`cowbench: second ${sig}: exiting without cleanup\n`);
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    }
    signalled = sig;
    process.stderr.write(`\ncowbench: ${sig}: stopping the snapshot, releasing writers…\n`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const showProgress = flags.progress !== false && !flags.json && process.stderr.isTTY === true;
  const bar = showProgress
    ? new cliProgress.SingleBar(
        {
          format: 'copy [{bar}] {percentage}% | {value}/{total} MiB',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  try {
    const result = await runSnapshot(options, {
      signal: controller.signal,
      onPhase: flags.verbose ? (phase) => process.stderr.write(`cowbench: ${phase}\n`) : undefined,
      onProgress: (copied, total) => {
        if (!bar) return;
        const mib = (n: number) => Math.floor(n / 1048576);
        if (!started) {
          bar.start(mib(total), 0);
          started = true;
        }
        bar.update(mib(copied));
      },
    });
    bar?.stop();
    process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : renderRun(result));
    if (signalled) return SIGNAL_EXIT[signalled] ?? 1;
    if (!result.verified && result.verification.skipped === null) return 1;
    if (!result.region_writable_after.ok) {
      process.stderr.write(
        `cowbench: the region was left protected: ${result.region_writable_after.detail}\n`,
      );
      return 1;
    }
    return 0;
  } catch (e) {
    bar?.stop();
    if (signalled) {
      process.stderr.write(
        `cowbench: interrupted by ${signalled}: tracking disarmed, writers released, no image kept\n`,
      );
      return SIGNAL_EXIT[signalled] ?? 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function probeCommand(json: boolean): number {
  const rows = probeKernel();
  if (json) {
    process.stdout.write(JSON.stringify({ probes: rows, env: environment() }, null, 2) + '\n');
    return 0;
  }
  const env = environment();
  process.stdout.write(`Kernel features on ${env.hostname} (Linux ${env.kernel}, ${env.cores} cores):\n\n`);
  process.stdout.write(renderProbe(rows));
  process.stdout.write('\nBackends:\n');
  for (const name of backendNames) {
    const b = backends[name];
    const p = b.probe(backendOptions(DEFAULT_RUN_OPTIONS));
    const status = p.ok ? `available${p.detail ? ` (${p.detail})` : ''}` : `unavailable: ${p.reason}`;
    process.stdout.write(`  ${name.padEnd(10)} ${status}\n`);
  }
  return 0;
}

interface CompatFlags {
  json?: boolean;
  size?: unknown;
  backends?: unknown;
  writers?: unknown;
}

function listFlag(flag: string, value: unknown, known: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const items = String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!known.includes(item)) throw new UsageError(flag, `'${item}' is not one of: ${known.join(', ')}`);
  if (items.length === 0) throw new UsageError(flag, 'is empty');
  return items;
}

/** Exit 0 when every cell reached a verdict (ok, incompatible, unsupported); 1 if a cell broke. */
async function compatCommand(flags: CompatFlags): Promise<number> {
  const sizeBytes = parseSize('--size', flags.size ?? '64M');
  if (sizeBytes === 0 || sizeBytes % 4096 !== 0)
    throw new UsageError('--size', 'must be a non-zero multiple of 4 KiB');
  const live = !flags.json && process.stderr.isTTY === true;
  const result = await runCompat({
    sizeBytes,
    backends: listFlag('--backends', flags.backends, backendNames),
    writers: listFlag('--writers', flags.writers, WRITER_KINDS),
    onCell: (row, cell) => {
      if (live)
        process.stderr.write(
          `  ${row.label} × ${WRITER_LABELS[cell.writer] ?? cell.writer}: ${cell.status}\n`,
        );
    },
  });
  process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : renderCompat(result));
  return result.rows.some((r) => r.cells.some((c) => c.status === 'failed')) ? 1 : 0;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('cowbench')
    .usage('$0 <command> [options]')
    .command(
      'run',
      'take one verified point-in-time snapshot of a live region under writers',
      (y) =>
        y
          .option('backend', {
            alias: 'b',
            type: 'string',
            default: 'uffd',
            describe: `one of: ${backendNames.join(', ')}`,
          })
          .option('size', {
            alias: 's',
            type: 'string',
            default: '256M',
            describe: 'region size (4k, 256M, 1G, …)',
          })
          .option('hugepage', {
            type: 'boolean',
            default: false,
            describe: 'back the region with THP (MADV_HUGEPAGE)',
          })
          .option('fill', {
            type: 'string',
            default: 'all',
            describe: `pages touched before the snapshot: ${FILLS.join(', ')}`,
          })
          .option('writers', {
            alias: 'w',
            type: 'string',
            default: '2',
            describe: `writer threads: N cpu writers, or KIND:N,… (kinds: ${WRITER_KINDS.join(', ')})`,
          })
          .option('pattern', { type: 'string', default: 'random', describe: PATTERNS.join(', ') })
          .option('rate', {
            type: 'string',
            default: 'max',
            describe: 'total page writes per second (e.g. 65536, 64k) or max',
          })
          .option('seed', { type: 'string', default: '1', describe: 'writer random seed' })
          .option('buffer', {
            type: 'string',
            describe: 'copy buffer for pages copied before a write [default: 64M, or the region if smaller]',
          })
          .option('buffer-policy', {
            type: 'string',
            default: 'block',
            describe: `when the buffer is full: ${BUFFER_POLICIES.join(' (throttle writers) | ')} (fail the snapshot)`,
          })
          .option('handlers', { type: 'string', default: '1', describe: 'uffd fault-handler threads' })
          .option('granularity', {
            type: 'string',
            default: '4k',
            describe: 'copy unit: 4k or 2m (2m needs --hugepage)',
          })
          .option('delivery', {
            type: 'string',
            default: 'thread',
            describe: `uffd fault delivery: ${DELIVERIES.join(', ')}`,
          })
          .option('engine', {
            type: 'string',
            default: 'auto',
            describe: `softdirty tracking engine: ${ENGINES.join(', ')}`,
          })
          .option('final-dirty', {
            type: 'string',
            default: '256',
            describe: 'softdirty: stop pre-copy below this many dirty pages',
          })
          .option('max-passes', {
            type: 'string',
            default: '8',
            describe: 'softdirty: pre-copy passes before the forced final stop',
          })
          .option('handler-wait', {
            type: 'string',
            default: 'poll',
            describe:
              'uffd handler threads: poll (sleep until a fault) or spin (busy-read; costs a CPU each)',
          })
          .option('handler-cpu', {
            type: 'string',
            default: 'any',
            describe:
              "uffd handler placement: any (scheduler's choice), same (the faulting thread's CPU), other (another CPU)",
          })
          .option('handler-batch', {
            type: 'boolean',
            default: false,
            describe: 'uffd: un-protect all faults of one read with DONTWAKE, then one UFFDIO_WAKE',
          })
          .option('drain-wake', {
            type: 'string',
            default: 'batch',
            describe:
              "uffd handlers wake the buffer's drain thread: early (before the faulting writer), late (after it), batch (once per 32 pages)",
          })
          .option('fault-around', {
            type: 'string',
            default: String(DEFAULT_RUN_OPTIONS.faultAroundPages),
            describe:
              'uffd, mprotect: a write fault copies up to K unsaved pages of its 2 MiB extent and un-protects them at once (0: off)',
          })
          .option('copy-order', {
            type: 'string',
            default: 'sequential',
            describe: 'uffd, mprotect copier: sequential, or hot (recently faulted 2 MiB extents first)',
          })
          .option('prearm', {
            type: 'boolean',
            default: true,
            describe:
              'uffd: write-protect before the pause and re-protect only pages written meanwhile (--no-prearm: all in the pause)',
          })
          .option('arm-threads', {
            type: 'string',
            default: '1',
            describe: 'uffd: threads splitting the arm-time write-protect',
          })
          .option('baseline-ms', {
            type: 'string',
            default: '300',
            describe: 'writer warm-up measured as the no-snapshot baseline',
          })
          .option('out', {
            alias: 'o',
            type: 'string',
            describe: 'keep the image here (0600; /dev/null for overhead runs)',
          })
          .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result object as JSON' })
          .option('progress', { type: 'boolean', default: true, describe: 'progress bar on a terminal' })
          .option('verbose', {
            type: 'boolean',
            default: false,
            describe: 'name each protocol step on stderr as it starts',
          }),
      async (args) => {
        exitCode = await runCommand(
          args as RunFlags & { json?: boolean; progress?: boolean; verbose?: boolean },
        );
      },
    )
    .command(
      'probe',
      'show which kernel features this machine has (tested by behaviour)',
      (y) => y.option('json', { type: 'boolean', default: false }),
      (args) => {
        exitCode = probeCommand(args.json === true);
      },
    )
    .command(
      'compat',
      'which backend can snapshot memory written by which writer kind (cpu, kernel, kvm)',
      (y) =>
        y
          .option('json', { type: 'boolean', default: false, describe: 'print the matrix as JSON' })
          .option('size', { type: 'string', default: '64M', describe: 'region size of each cell' })
          .option('backends', {
            type: 'string',
            describe: `rows to run, comma-separated [default: all: ${backendNames.join(', ')}]`,
          })
          .option('writers', {
            type: 'string',
            describe: `columns to run, comma-separated [default: all: ${WRITER_KINDS.join(', ')}]`,
          }),
      async (args) => {
        exitCode = await compatCommand(args as CompatFlags);
      },
    )
    .command(
      'bench [suites..]',
      `run benchmark suites (${suites.map((s) => s.name).join(', ')}) into results/<date>-<host>/`,
      (y) =>
        y
          .positional('suites', { type: 'string', array: true, describe: 'suites to run (default: all)' })
          .option('backends', {
            type: 'string',
            describe: 'comma-separated backends (default: all this kernel supports)',
          })
          .option('quick', { type: 'boolean', default: false, describe: 'fewer repeats and smaller regions' })
          .option('repeat', { type: 'string', describe: 'runs per figure [default: 5, quick 2]' })
          .option('out', { type: 'string', describe: 'results directory [default: results/<date>-<host>]' })
          .option('label', {
            type: 'string',
            describe: 'label for the results directory instead of the host name',
          }),
      async (args) => {
        exitCode = await runBench({
          suites: (args.suites as string[] | undefined) ?? [],
          backends: typeof args.backends === 'string' ? args.backends.split(',').map((s) => s.trim()) : null,
          quick: args.quick === true,
          repeat: args.repeat === undefined ? null : parseCount('--repeat', args.repeat, 1, 100),
          out: typeof args.out === 'string' ? args.out : null,
          label: typeof args.label === 'string' ? args.label : null,
        });
      },
    )
    .command(
      'report <dir>',
      'write REPORT.md (claims, verdicts, tables) from a bench results directory',
      (y) => y.positional('dir', { type: 'string', demandOption: true }),
      (args) => {
        const dir = String(args.dir);
        if (!existsSync(path.join(dir, 'results.json')))
          throw new UsageError('dir', `${dir} holds no results.json (run cowbench bench first)`);
        process.stdout.write(`${writeReport(dir)}\n`);
      },
    )
    .command(
      'calibrate',
      'measure memcpy bandwidth, sink bandwidth and a plain page-fault cost on this machine',
      (y) =>
        y
          .option('size', { type: 'string', default: '1G', describe: 'bytes written for the sink bandwidth' })
          .option('dir', { type: 'string', default: '.', describe: 'directory for the sink bandwidth file' })
          .option('json', { type: 'boolean', default: false }),
      async (args) => {
        const bytes = parseSize('--size', args.size);
        if (bytes === 0 || bytes % 4096 !== 0)
          throw new UsageError('--size', 'must be a non-zero multiple of 4 KiB');
        checkOutput(path.join(String(args.dir), 'calibrate.img'), true);
        const c = await native.calibrate(bytes, String(args.dir)).catch((e: unknown) => {
          throw CowbenchError.fromNative(e);
        });
        const out = {
          memcpy_MBps: c.memcpy_Bps / 1e6,
          page_fault_ns: c.page_fault_ns,
          sink_MBps: c.sink_Bps / 1e6,
          sink_bytes: c.sink_bytes,
        };
        process.stdout.write(
          args.json
            ? JSON.stringify(out) + '\n'
            : `memcpy ${out.memcpy_MBps.toFixed(0)} MB/s, sink ${out.sink_MBps.toFixed(0)} MB/s, page fault ${out.page_fault_ns.toFixed(0)} ns\n`,
        );
      },
    )
    .command(
      'scan-trial',
      false, // hidden: the scan suite's child (one dirty-tracking trial per process)
      (y) =>
        y
          .option('engine', { type: 'string', default: 'wp-async' })
          .option('size', { type: 'string', default: '256M' })
          .option('fraction', { type: 'string', default: '0.01' })
          .option('seed', { type: 'string', default: '1' }),
      async (args) => {
        const engine = String(args.engine);
        if (engine !== 'wp-async' && engine !== 'clear-refs' && engine !== 'clear-refs-unchecked')
          throw new UsageError('--engine', `'${engine}' is not wp-async, clear-refs or clear-refs-unchecked`);
        const fraction = Number(args.fraction);
        if (!(fraction >= 0 && fraction <= 1)) throw new UsageError('--fraction', 'must be within [0, 1]');
        process.stdout.write(
          await scanTrialChild({
            engine,
            bytes: parseSize('--size', args.size),
            fraction,
            seed: parseCount('--seed', args.seed, 0, 2 ** 32),
          }),
        );
      },
    )
    .command(
      'scan-micro',
      false, // hidden: the scan suite's single-operation micro-benchmarks (tinybench)
      (y) => y.option('time-ms', { type: 'string', default: '500' }),
      (args) => {
        process.stdout.write(scanMicroChild(parseCount('--time-ms', args['time-ms'], 1, 60_000)));
      },
    )
    .command(
      'fault-latency',
      false, // hidden: one trial of the latency suite, run in a fresh process per trial
      (y) =>
        y
          .option('backend', { type: 'string', default: 'uffd' })
          .option('pages', { type: 'string', default: '16384', describe: 'faults timed (one per page)' })
          .option('delivery', { type: 'string', default: 'thread' })
          .option('handler-wait', { type: 'string', default: 'poll' })
          .option('handler-cpu', { type: 'string', default: 'any' })
          .option('handler-batch', { type: 'boolean', default: false })
          .option('drain-wake', { type: 'string', default: 'batch' })
          .option('fault-around', {
            type: 'string',
            default: '0',
            describe: '0: each timed write is one fault',
          })
          .option('json', { type: 'boolean', default: false }),
      async (args) => {
        const pages = parseCount('--pages', args.pages, 1, 1 << 24);
        const options = runOptionsFromFlags({
          backend: args.backend,
          size: String(pages * 4096),
          delivery: args.delivery,
          handlerWait: args.handlerWait,
          handlerCpu: args.handlerCpu,
          handlerBatch: args.handlerBatch,
          drainWake: args.drainWake,
          faultAround: args.faultAround,
          // A small buffer recycles warm slots, as a steady-state snapshot does.
          buffer: String(Math.min(pages * 4096, 1 << 20)),
        });
        const trial = await faultLatencyTrial(options);
        const s = trial.fault_us;
        process.stdout.write(
          args.json
            ? JSON.stringify(trial) + '\n'
            : s
              ? `${trial.backend}: fault round trip median ${s.median.toFixed(2)} µs, p99 ${s.p99.toFixed(2)} µs (${s.min.toFixed(2)} … ${s.max.toFixed(2)}), ${trial.wp_faults} faults\n`
              : `${trial.backend}: skipped: ${trial.skipped}\n`,
        );
      },
    )
    .demandCommand(1, 'name a command: run, probe, compat, bench, report, calibrate')
    .strict()
    .help()
    .version(environment().cowbench_version)
    .fail((msg, err) => {
      throw err ?? new UsageError('usage', msg);
    });
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (e) {
    const err = e instanceof CowbenchError ? e : CowbenchError.fromNative(e);
    if (err.code === 'EINTERNAL') {
      process.stderr.write(`cowbench: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      return 1;
    }
    process.stderr.write(`cowbench: ${err.message}\n`);
    return err.exitCode;
  }
}
