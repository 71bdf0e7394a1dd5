/** Hidden `cowbench scan-micro`: the scan suite's single-operation micro-benchmarks (tinybench). */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { parseCount } from '../../src/units.js';
import { scanMicroChild } from '../scan_children.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const scanMicroCommand: CliPlugin = (y) =>
  y.command(
    'scan-micro',
    false, // hidden: the scan suite's single-operation micro-benchmarks (tinybench)
    withValues((a) => a.option('time-ms', { type: 'string', default: '500' })),
    (args) => {
      process.stdout.write(scanMicroChild(parseCount('--time-ms', args['time-ms'], 1, 60_000)));
      setExit(0);
    },
  );
