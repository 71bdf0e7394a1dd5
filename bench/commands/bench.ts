/** `cowbench bench [suites..]`: runs benchmark suites into a results directory. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { UsageError } from '../../src/errors.js';
import { parseCount } from '../../src/units.js';
import { runBench, suites } from '../index.js';
import { CI_REPEAT } from '../suites/ci.js';
import { addRuns, defaultDb } from '../history/command.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const benchCommand: CliPlugin = (y) =>
  y
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
            quiet: args.quiet === true,
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
    );
