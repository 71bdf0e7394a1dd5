/** `cowbench compare <base> <new..>`: compare bench results; --fail-on-regression gates CI. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { UsageError } from '../../src/errors.js';
import { compareCommand, FORMATS, type Format } from '../compare.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const compareCliCommand: CliPlugin = (y) =>
  y.command(
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
          describe: 'exit 1 when a metric regresses significantly beyond its threshold',
        })
        .option('threshold', {
          type: 'string',
          array: true,
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
  );
