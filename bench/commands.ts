/**
 * The bench's commands, registered on the CLI through one call: `bench`, `report` and the hidden
 * per-trial child commands the suites spawn (scan-trial, scan-micro, fault-latency). Moved
 * unchanged from src/cli.ts; a handler's exit code goes to process.exitCode.
 */
import { withValues } from '../src/argv.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CliPlugin } from '../src/cli/main.js';
import { UsageError } from '../src/errors.js';
import { runOptionsFromFlags } from '../src/options.js';
import { parseCount, parseSize } from '../src/units.js';
import { faultLatencyTrial } from './fault_latency.js';
import { runBench, suites } from './index.js';
import { writeReport } from './report.js';
import { scanMicroChild, scanTrialChild } from './suites/scan.js';

export const benchCommands: CliPlugin = (y) =>
  y
    .command(
      'bench [suites..]',
      `run benchmark suites (${suites.map((s) => s.name).join(', ')}) into results/<date>-<host>/`,
      withValues((y) =>
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
      ),
      async (args) => {
        process.exitCode = await runBench({
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
      withValues((y) => y.positional('dir', { type: 'string', demandOption: true })),
      (args) => {
        const dir = String(args.dir);
        if (!existsSync(path.join(dir, 'results.json')))
          throw new UsageError('dir', `${dir} holds no results.json (run cowbench bench first)`);
        process.stdout.write(`${writeReport(dir)}\n`);
      },
    )
    .command(
      'scan-trial',
      false, // hidden: the scan suite's child (one dirty-tracking trial per process)
      withValues((y) =>
        y
          .option('engine', { type: 'string', default: 'wp-async' })
          .option('size', { type: 'string', default: '256M' })
          .option('fraction', { type: 'string', default: '0.01' })
          .option('seed', { type: 'string', default: '1' }),
      ),
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
      withValues((y) => y.option('time-ms', { type: 'string', default: '500' })),
      (args) => {
        process.stdout.write(scanMicroChild(parseCount('--time-ms', args['time-ms'], 1, 60_000)));
      },
    )
    .command(
      'fault-latency',
      false, // hidden: one trial of the latency suite, run in a fresh process per trial
      withValues((y) =>
        y
          .option('backend', { type: 'string', default: 'uffd' })
          .option('pages', { type: 'string', default: '16384', describe: 'faults timed (one per page)' })
          // No defaults: a backend flag left unset is not refused for a backend without it.
          .option('delivery', { type: 'string' })
          .option('handler-wait', { type: 'string' })
          .option('handler-cpu', { type: 'string' })
          .option('handler-batch', { type: 'boolean' })
          .option('drain-wake', { type: 'string' })
          .option('json', { type: 'boolean', default: false }),
      ),
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
    );
