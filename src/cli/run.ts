/** `cowbench run`: one verified point-in-time snapshot of a live region under writers. */
import cliProgress from 'cli-progress';
import { withValues } from '../argv.js';
import { removeOwnTemporaries } from '../clean.js';
import { runOptionsFromFlags, withRunOptions, type RunFlags } from '../options.js';
import { runSnapshot, type RunOptions } from '../orchestrator.js';
import { failedRunJson, renderRun, runVerdict } from '../report.js';
import { handleSignals } from '../signals.js';
import { afterStdout, writeStderr, writeStdout } from '../stdout.js';
import type { CliPlugin } from './main.js';

async function runFromFlags(
  flags: RunFlags & { json?: boolean; progress?: boolean; verbose?: boolean },
): Promise<number> {
  let options: RunOptions;
  try {
    options = runOptionsFromFlags(flags);
  } catch (e) {
    if (flags.json) writeStdout(JSON.stringify(failedRunJson(e, null, undefined), null, 2) + '\n');
    throw e;
  }
  const signals = handleSignals({
    stopping: 'stopping the snapshot, releasing writers…',
    onForcedExit: () => removeOwnTemporaries(options.out),
  });
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
      signal: signals.signal,
      onNotice: (message) => writeStderr(`cowbench: ${message}\n`),
      onPhase: flags.verbose ? (phase) => writeStderr(`cowbench: ${phase}\n`) : undefined,
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
    const printed = writeStdout(
      flags.json
        ? JSON.stringify(result, null, 2) + '\n'
        : renderRun(result, { verbose: flags.verbose === true }),
    );
    const kept = result.output ? { image: result.output, manifest: result.manifest! } : 'none';
    if (!printed.ok) return afterStdout(printed, signals.exitCode() ?? 0, kept);
    if (signals.received) return signals.exitCode()!;
    if (result.lost_writes) return runVerdict(result);
    if (!result.verified && result.verification.skipped === null) return 1;
    if (!result.region_writable_after.ok) {
      writeStderr(`cowbench: the region was left protected: ${result.region_writable_after.detail}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    bar?.stop();
    if (flags.json)
      writeStdout(JSON.stringify(failedRunJson(e, { ...options }, signals.received), null, 2) + '\n');
    if (signals.received) {
      writeStderr(
        `cowbench: interrupted by ${signals.received}: tracking disarmed, writers released, no image kept\n`,
      );
      return signals.exitCode()!;
    }
    throw e;
  } finally {
    signals.dispose();
  }
}

export const runCommand: CliPlugin = (y) =>
  y.command(
    'run',
    'take one verified point-in-time snapshot of a live region under writers',
    withValues((y) =>
      withRunOptions(y)
        .option('json', { type: 'boolean', default: false, describe: 'print the result object as JSON' })
        .option('progress', { type: 'boolean', default: true, describe: 'progress bar on a terminal' })
        .option('verbose', {
          type: 'boolean',
          default: false,
          describe: 'name each protocol step on stderr as it starts',
        }),
    ),
    async (args) => {
      process.exitCode = await runFromFlags(
        args as RunFlags & { json?: boolean; progress?: boolean; verbose?: boolean },
      );
    },
  );
