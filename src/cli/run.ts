/** `cowbench run`: one verified point-in-time snapshot of a live region under writers. */
import cliProgress from 'cli-progress';
import { runOptionsFromFlags, withRunOptions, type RunFlags } from '../options.js';
import { runSnapshot } from '../orchestrator.js';
import { renderRun } from '../report.js';
import type { CliPlugin } from './main.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

async function runFromFlags(
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

export const runCommand: CliPlugin = (y) =>
  y.command(
    'run',
    'take one verified point-in-time snapshot of a live region under writers',
    (y) =>
      withRunOptions(y)
        .option('json', { type: 'boolean', default: false, describe: 'print the result object as JSON' })
        .option('progress', { type: 'boolean', default: true, describe: 'progress bar on a terminal' })
        .option('verbose', {
          type: 'boolean',
          default: false,
          describe: 'name each protocol step on stderr as it starts',
        }),
    async (args) => {
      process.exitCode = await runFromFlags(
        args as RunFlags & { json?: boolean; progress?: boolean; verbose?: boolean },
      );
    },
  );
