/** `cowbench probe`: which kernel features this machine has, and which backends can run. */
import { environment } from '../env.js';
import { probeFor } from '../run-options.js';
import { probeKernel } from '../probe.js';
import { backendNames } from '../registry.js';
import { renderProbe } from '../report.js';
import { withValues } from '../argv.js';
import { afterStdout, writeStdout } from '../stdout.js';
import type { CliPlugin } from './plugin.js';
import { columns } from '../table.js';

function printProbe(json: boolean): number {
  const rows = probeKernel();
  if (json)
    return afterStdout(writeStdout(JSON.stringify({ probes: rows, env: environment() }, null, 2) + '\n'), 0);
  const env = environment();
  let text = `Kernel features on ${env.hostname} (Linux ${env.kernel}, ${env.cores} cores):\n\n`;
  text += renderProbe(rows);
  text += '\nBackends:\n';
  text += columns(
    backendNames.map((name) => {
      const p = probeFor({ backend: name });
      return [name, p.ok ? `available${p.detail ? ` (${p.detail})` : ''}` : `unavailable: ${p.reason}`];
    }),
    { indent: '  ' },
  );
  return afterStdout(writeStdout(text), 0);
}

export const probeCommand: CliPlugin = (y) =>
  y.command(
    'probe',
    'show which kernel features this machine has (tested by behaviour)',
    withValues((y) => y.option('json', { type: 'boolean', default: false })),
    (args) => {
      process.exitCode = printProbe(args.json === true);
    },
  );
