/** Hidden `cowbench scan-trial`: the scan suite's child, one dirty-tracking trial per process. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { UsageError } from '../../src/errors.js';
import { parseCount, parseSize } from '../../src/units.js';
import { scanTrialChild } from '../scan_children.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const scanTrialCommand: CliPlugin = (y) =>
  y.command(
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
  );
