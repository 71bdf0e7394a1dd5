/**
 * The signals a terminal, a session manager or a user sends (SIGINT, SIGTERM, SIGHUP, SIGQUIT)
 * stop a long command cleanly: the first aborts the work (tracking disarmed, writers released,
 * temporaries removed) and the command exits 128 + signal number; a second exits at once,
 * removing what `onForcedExit` names first.
 */
import { constants } from 'node:os';
import { writeStderr } from './stdout.js';

export const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
export type HandledSignal = (typeof HANDLED_SIGNALS)[number];

/** 129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM. */
export function signalExitCode(sig: string): number {
  const n = (constants.signals as Record<string, number>)[sig];
  return n === undefined ? 1 : 128 + n;
}

export interface SignalScope {
  /** Aborted with the signal's name as reason on the first signal. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: HandledSignal | undefined;
  /** 128 + the first signal's number, or undefined. */
  exitCode(): number | undefined;
  /** Stops handling the signals (default actions again). */
  dispose(): void;
}

export interface SignalOptions {
  /** Said on stderr at the first signal, after "cowbench: SIGxxx: ". */
  stopping?: string;
  /** Cleanup that must happen even when the process exits at once (second signal, or `immediate`). */
  onForcedExit?: () => void;
  /** Exit at the first signal (after onForcedExit): for work that cannot be aborted midway. */
  immediate?: boolean;
}

let stderrGuarded = false;

export function handleSignals(opts: SignalOptions = {}): SignalScope {
  const controller = new AbortController();
  let received: HandledSignal | undefined;
  if (!stderrGuarded) {
    // After SIGHUP the terminal is gone: a write to it fails (EIO), and must not crash cleanup.
    process.stderr.on('error', () => {});
    stderrGuarded = true;
  }
  const exitNow = (sig: HandledSignal, why: string) => {
    try {
      opts.onForcedExit?.();
    } catch {
      /* exiting anyway */
    }
    writeStderr(`cowbench: ${why}\n`);
    process.exit(signalExitCode(sig));
  };
  const onSignal = (sig: HandledSignal) => {
    if (received) return exitNow(sig, `second ${sig}: exiting now (writers end with the process)`);
    received = sig;
    if (opts.immediate) return exitNow(sig, `interrupted by ${sig}`);
    writeStderr(`\ncowbench: ${sig}: ${opts.stopping ?? 'stopping…'}\n`);
    controller.abort(sig);
  };
  for (const sig of HANDLED_SIGNALS) process.on(sig, onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    exitCode: () => (received ? signalExitCode(received) : undefined),
    dispose: () => {
      for (const sig of HANDLED_SIGNALS) process.off(sig, onSignal);
    },
  };
}
