/**
 * The bench's commands, registered on the CLI through one call (`benchCommands(y)`): `bench`,
 * `report`, `compare`, and the hidden per-trial child commands the suites spawn (fault-latency,
 * scan-trial, scan-micro). The CLI core never imports the harness otherwise.
 *
 * A handler's exit code goes to process.exitCode (the CLI's main returns it when its own
 * commands set none); errors are thrown and become one line with their exit code.
 */
import type { CliPlugin } from '../src/cli/main.js';
import { withValues } from '../src/argv.js';
import { UsageError } from '../src/errors.js';
import { runOptionsFromFlags } from '../src/options.js';
import { optionOwners, type BackendName } from '../src/registry.js';
import { parseCount, parseSize } from '../src/units.js';
import { compareCommand, FORMATS, type Format } from './compare.js';
import { CI_REPEAT } from './suites/ci.js';
import { faultLatencyTrial } from './fault_latency.js';
import { runBench, suites } from './index.js';
import { CSS, reportCommand, reportDir } from './html.js';
import { scanMicroChild, scanTrialChild } from './suites/scan.js';
import { addRuns, defaultDb, historyCommands } from './history/command.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const benchCommands: CliPlugin = (y) =>
  historyCommands(y)
    .example('$0 bench --ci --out results/ci-new', 'the CI preset')
    .example('$0 compare results/ci-base results/ci-new --fail-on-regression', 'the regression gate')
    .command(
      'bench [suites..]',
      `run benchmark suites (${suites.map((s) => s.name).join(', ')}) into results/<date>-<host>/`,
      withValues((a) =>
        a
          .positional('suites', { type: 'string', array: true, describe: 'suites to run (default: all)' })
          .option('backends', {
            type: 'string',
            describe: 'comma-separated backends (default: all this kernel supports)',
          })
          .option('quick', { type: 'boolean', default: false, describe: 'fewer repeats and smaller regions' })
          .option('ci', {
            type: 'boolean',
            default: false,
            describe: `the fixed CI preset (headline figure of every backend, ${CI_REPEAT} samples each, a few minutes); compare its results with \`cowbench compare\``,
          })
          .option('repeat', {
            type: 'string',
            describe: `runs per figure [default: 5, quick 2, ci ${CI_REPEAT}]`,
          })
          .option('out', { type: 'string', describe: 'results directory [default: results/<date>-<host>]' })
          .option('label', {
            type: 'string',
            describe: 'label for the results directory instead of the host name',
          })
          .option('record', {
            type: 'boolean',
            default: false,
            describe: 'record the run in the history database (see cowbench history)',
          })
          .option('db', { type: 'string', describe: 'with --record: the history database (as history --db)' })
          .option('subject', {
            type: 'string',
            default: 'commit',
            describe: 'with --record: what was under test (as history add)',
          }),
      ),
      async (args) => {
        const ci = args.ci === true;
        const named = (args.suites as string[] | undefined) ?? [];
        if (ci && named.length > 0 && !(named.length === 1 && named[0] === 'ci'))
          throw new UsageError('--ci', 'runs the fixed CI preset; do not name suites with it');
        setExit(
          await runBench({
            suites: ci ? ['ci'] : named,
            backends:
              typeof args.backends === 'string' ? args.backends.split(',').map((s) => s.trim()) : null,
            quick: args.quick === true,
            ci,
            repeat: args.repeat === undefined ? null : parseCount('--repeat', args.repeat, 1, 100),
            out: typeof args.out === 'string' ? args.out : null,
            label: typeof args.label === 'string' ? args.label : null,
            ...(args.record === true
              ? {
                  onResults: async (dir: string) => {
                    await addRuns(
                      typeof args.db === 'string' ? args.db : defaultDb(),
                      [dir],
                      String(args.subject),
                      (s) => process.stdout.write(s),
                    );
                  },
                }
              : {}),
          }),
        );
      },
    )
    .command(
      'report [dirs..]',
      'write REPORT.md, charts/*.svg and report.html from bench results directories (several: claims × machines); --db adds the history',
      withValues((a) =>
        a
          .positional('dirs', { type: 'string', array: true })
          .option('out', {
            type: 'string',
            describe:
              'output directory [default: the one DIR; for several, report-<names> beside the first; history only: results/history-report]',
          })
          .option('db', {
            type: 'string',
            describe:
              'add a history section: trend charts and change points of this history database (as history --db)',
          }),
      ),
      async (args) => {
        const dirs = ((args.dirs as string[] | undefined) ?? []).map(String);
        const db = typeof args.db === 'string' ? args.db : null;
        if (dirs.length === 0 && db === null)
          throw new UsageError('report', 'name results directories, or --db');
        const out = typeof args.out === 'string' ? args.out : null;
        if (dirs.length > 0) process.stdout.write(await reportCommand(dirs, out));
        if (db !== null) {
          const { writeHistoryReport } = await import('./history/report.js');

          const files = await writeHistoryReport(
            out ?? (dirs.length ? reportDir(dirs) : 'results/history-report'),
            db,
            CSS,
          );
          process.stdout.write(
            `history: ${files.slice(0, 2).join(', ')} and ${files.length - 2} trend charts\n`,
          );
        }
        setExit(0);
      },
    )
    .command(
      'compare <base> <new..>',
      'compare bench results (directories or results.json): medians, % change, Mann–Whitney p, verdicts; --fail-on-regression gates CI',
      withValues((a) =>
        a
          .positional('base', { type: 'string', demandOption: true, describe: 'baseline results' })
          .positional('new', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'results to compare with it',
          })
          .option('format', {
            type: 'string',
            default: 'table',
            describe: `output: ${FORMATS.join(', ')}`,
          })
          .option('json', { type: 'boolean', default: false, describe: 'same as --format json' })
          .option('fail-on-regression', {
            type: 'boolean',
            default: false,
            describe:
              'exit 1 when a metric regresses significantly beyond its threshold, or a base metric is missing from NEW or has too few samples to judge',
          })
          .option('allow-missing', {
            type: 'boolean',
            default: false,
            describe:
              'the gate accepts base metrics missing from NEW or too thin to judge (each still listed)',
          })
          .option('only-changed', {
            type: 'boolean',
            default: false,
            describe: 'table and markdown: only metrics with a verdict or a gate failure (for PR comments)',
          })
          .option('export-markdown', {
            type: 'string',
            requiresArg: true,
            alias: 'markdown',
            describe: 'also write the markdown to FILE',
          })
          .option('export-junit', {
            type: 'string',
            requiresArg: true,
            alias: 'junit',
            describe: 'also write JUnit XML to FILE',
          })
          .option('export-tap', {
            type: 'string',
            requiresArg: true,
            alias: 'tap',
            describe: 'also write KTAP to FILE',
          })
          .option('export-json', {
            type: 'string',
            requiresArg: true,
            describe: 'also write the JSON object to FILE',
          })
          .option('threshold', {
            type: 'string',
            array: true,
            requiresArg: true,
            nargs: 1,
            describe:
              'override a regression threshold: KEY=PCT (KEY: suite/case/metric, suite/metric or metric)',
          })
          .option('alpha', { type: 'string', default: '0.05', describe: 'significance level of the U test' }),
      ),
      (args) => {
        const alpha = Number(args.alpha);
        if (!(alpha > 0 && alpha < 1)) throw new UsageError('--alpha', 'must be within (0, 1)');
        setExit(
          compareCommand(
            {
              inputs: [String(args.base), ...(Array.isArray(args.new) ? args.new : [args.new]).map(String)],
              format: (args.json === true ? 'json' : String(args.format)) as Format,
              failOnRegression: args.failOnRegression === true,
              allowMissing: args.allowMissing === true,
              onlyChanged: args.onlyChanged === true,
              exports: Object.fromEntries(
                FORMATS.flatMap((f) => {
                  const file = (args as Record<string, unknown>)[`export-${f}`];
                  return typeof file === 'string' ? [[f, file]] : [];
                }),
              ),
              // Not split on ',': case names hold commas.
              thresholds:
                args.threshold === undefined
                  ? []
                  : (Array.isArray(args.threshold) ? args.threshold : [args.threshold]).map(String),
              alpha,
            },
            (s) => process.stdout.write(s),
          ),
        );
      },
    )
    .command(
      'scan-trial',
      false, // hidden: the scan suite's child (one dirty-tracking trial per process)
      withValues((a) =>
        a
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
        setExit(0);
      },
    )
    .command(
      'scan-micro',
      false, // hidden: the scan suite's single-operation micro-benchmarks (tinybench)
      withValues((a) => a.option('time-ms', { type: 'string', default: '500' })),
      (args) => {
        process.stdout.write(scanMicroChild(parseCount('--time-ms', args['time-ms'], 1, 60_000)));
        setExit(0);
      },
    )
    .command(
      'fault-latency',
      false, // hidden: one trial of the latency suite, run in a fresh process per trial
      // Backend flags have no defaults: one left unset is not refused for a backend without it.
      withValues((a) =>
        a
          .option('backend', { type: 'string', default: 'uffd' })
          .option('pages', { type: 'string', default: '16384', describe: 'faults timed (one per page)' })
          .option('delivery', { type: 'string' })
          .option('handler-wait', { type: 'string' })
          .option('handler-cpu', { type: 'string' })
          .option('handler-batch', { type: 'boolean' })
          .option('drain-wake', { type: 'string' })
          .option('fault-around', {
            type: 'string',
            describe: '[default: 0 for a backend with --fault-around: each timed write is one fault]',
          })
          .option('inject-sink-delay-us', {
            type: 'string',
            default: '0',
            describe:
              'test-only: delay per page the sink writes (slows the copy path; the A/B check of compare)',
          })
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
          // Unset: 0 where the backend has it (each timed write one fault); left unset for the others.
          faultAround:
            args.faultAround ??
            (optionOwners('faultAroundPages').includes(String(args.backend) as BackendName)
              ? '0'
              : undefined),
          // A small buffer recycles warm slots, as a steady-state snapshot does.
          buffer: String(Math.min(pages * 4096, 1 << 20)),
        });
        const delay = parseCount('--inject-sink-delay-us', args['inject-sink-delay-us'], 0, 1_000_000);
        const trial = await faultLatencyTrial({ ...options, injectSinkDelayUs: delay });
        const s = trial.fault_us;
        process.stdout.write(
          args.json
            ? JSON.stringify(trial) + '\n'
            : s
              ? `${trial.backend}: fault round trip median ${s.median.toFixed(2)} µs, p99 ${s.p99.toFixed(2)} µs (${s.min.toFixed(2)} … ${s.max.toFixed(2)}), ${trial.wp_faults} faults\n`
              : `${trial.backend}: skipped: ${trial.skipped}\n`,
        );
        setExit(0);
      },
    );
