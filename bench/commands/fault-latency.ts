/** Hidden `cowbench fault-latency`: one trial of the latency suite, in a fresh process per trial. */
import type { CliPlugin } from '../../src/cli/plugin.js';
import { withValues } from '../../src/argv.js';
import { runOptionsFromFlags, withDeclaredOptions } from '../../src/options.js';
import { optionOwners, type BackendName } from '../../src/registry.js';
import { parseCount } from '../../src/units.js';
import { count, quantity, value } from '../../src/format.js';
import { faultLatencyTrial } from '../fault_latency.js';

const setExit = (code: number) => {
  process.exitCode = code;
};

export const faultLatencyCommand: CliPlugin = (y) =>
  y.command(
    'fault-latency',
    false, // hidden: one trial of the latency suite, run in a fresh process per trial
    // Every backend option from its declaration, without defaults: one left unset is not refused
    // for a backend without it.
    withValues((a) =>
      withDeclaredOptions(
        a
          .option('backend', { type: 'string', default: 'uffd' })
          .option('pages', { type: 'string', default: '16384', describe: 'faults timed (one per page)' })
          .option('inject-sink-delay-us', {
            type: 'string',
            default: '0',
            describe:
              'test-only: delay per page the sink writes (slows the copy path; the A/B check of compare)',
          })
          .option('json', { type: 'boolean', default: false }),
      ),
    ),
    async (args) => {
      const pages = parseCount('--pages', args.pages, 1, 1 << 24);
      const options = runOptionsFromFlags({
        ...args,
        size: String(pages * 4096),
        // Unset: 0 where the backend has it (each timed write one fault); left unset for the others.
        faultAround:
          args.faultAround ??
          (optionOwners('faultAroundPages').includes(String(args.backend) as BackendName) ? '0' : undefined),
        // A small buffer recycles warm slots, as a steady-state snapshot does.
        buffer: String(Math.min(pages * 4096, 1 << 20)),
      });
      const delay = parseCount('--inject-sink-delay-us', args['inject-sink-delay-us'], 0, 1_000_000);
      const trial = await faultLatencyTrial({ ...options, inject: { sinkDelayUs: delay } });
      const s = trial.fault_us;
      process.stdout.write(
        args.json
          ? JSON.stringify(trial) + '\n'
          : s
            ? `${trial.backend}: fault round trip median ${quantity(s.median, 'µs')}, p99 ${quantity(s.p99, 'µs')} (${value(s.min)} … ${value(s.max)}), ${count(trial.wp_faults ?? NaN)} faults\n`
            : `${trial.backend}: skipped: ${trial.skipped}\n`,
      );
      setExit(0);
    },
  );
