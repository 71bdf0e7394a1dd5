/** Runs the CLI as a process: the exit code is main()'s, and never 0 without a result. */

/** Exit code when the event loop empties while the command's promise is still pending. */
export const NO_RESULT_EXIT = 1;

/**
 * Sets process.exitCode from `run()`. If the event loop empties first (a native step whose
 * promise never settled), prints one line and exits 1 instead of node's silent 0.
 */
export function runEntry(run: () => Promise<number>): void {
  let settled = false;
  const onBeforeExit = () => {
    if (settled) return;
    settled = true;
    process.stderr.write(
      'cowbench: internal error: the command ended without a result (a native step never completed); no image was kept\n',
    );
    process.exitCode = NO_RESULT_EXIT;
  };
  process.on('beforeExit', onBeforeExit);
  run().then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      settled = true;
      const e = err as { stack?: string } | undefined;
      process.stderr.write(`cowbench: internal error: ${e?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
