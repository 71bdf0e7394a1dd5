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
          // No default here: --json with an explicit other --format is a conflict to refuse.
          defaultDescription: 'table',
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
          describe: 'the gate accepts base metrics missing from NEW or too thin to judge (each still listed)',
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
      if (args.json === true && args.format !== undefined && args.format !== 'json')
        throw new UsageError(
          '--json',
          `conflicts with --format ${String(args.format)} (--json is --format json): give one of them`,
        );
      const alpha = Number(args.alpha);
      if (!(alpha > 0 && alpha < 1)) throw new UsageError('--alpha', 'must be within (0, 1)');
      setExit(
        compareCommand(
          {
            inputs: [String(args.base), ...(Array.isArray(args.new) ? args.new : [args.new]).map(String)],
            format: (args.json === true ? 'json' : String(args.format ?? 'table')) as Format,
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
  );
