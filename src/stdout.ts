/**
 * Results go to stdout synchronously, and a stdout that cannot be written (a full disk, a
 * closed pipe, a descriptor not open for writing) is an outcome with one line on stderr, never
 * a stack trace.
 */
import { writeSync } from 'node:fs';

/** Why a write to stdout failed, by errno: these end the output cleanly. */
const STDOUT_ERRORS: Record<string, string> = {
  EPIPE: 'the reader closed the pipe',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EBADF: 'stdout is not open for writing',
  EIO: 'I/O error',
  EROFS: 'read-only file system',
  ECONNRESET: 'connection reset',
  EINVAL: 'stdout does not accept writes',
};

export type WriteOutcome = { ok: true } | { ok: false; code: string; reason: string };

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Writes all of `text` to `fd` now; EINTR/EAGAIN retried, a stdout error returned, others thrown. */
export function writeAll(fd: number, text: string): WriteOutcome {
  const bytes = Buffer.from(text);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EAGAIN' || code === 'EINTR') {
        sleepMs(1); // a non-blocking pipe whose reader is behind
        continue;
      }
      const reason = STDOUT_ERRORS[code];
      if (reason === undefined) throw e;
      return { ok: false, code, reason };
    }
  }
  return { ok: true };
}

/** Writes a command's result to stdout. */
export function writeStdout(text: string): WriteOutcome {
  return writeAll(1, text);
}

/** Writes to stderr, ignoring failure: there is nowhere left to report it. */
export function writeStderr(text: string): void {
  try {
    writeAll(2, text);
  } catch {
    /* stderr is gone too */
  }
}

/**
 * The exit code once a result was (or was not) written: `exitCode` when stdout took it, or
 * when the reader closed the pipe (`cowbench probe | head`); else 1 (or `exitCode` if already
 * non-zero) with one line on stderr saying what happened to the output (`kept`: an image that
 * was committed before and stays valid).
 */
export function afterStdout(
  outcome: WriteOutcome,
  exitCode: number,
  kept?: { image: string; manifest: string } | 'none',
): number {
  if (outcome.ok || outcome.code === 'EPIPE') return exitCode;
  const what =
    kept === undefined
      ? ''
      : kept === 'none'
        ? '; no image was kept'
        : `; the image ${kept.image} and its manifest ${kept.manifest} are committed and valid`;
  writeStderr(`cowbench: could not write the result to stdout: ${outcome.code} (${outcome.reason})${what}\n`);
  return exitCode !== 0 ? exitCode : 1;
}

/**
 * For process.stdout's 'error' event (output written through the stream, e.g. by a bench
 * suite): the same clean ending, exiting now with the code set so far (or 1).
 */
export function onStdoutError(err: NodeJS.ErrnoException): void {
  const code = err?.code ?? '';
  const reason = STDOUT_ERRORS[code];
  if (reason === undefined) throw err;
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exit(afterStdout({ ok: false, code, reason }, exitCode));
}

/**
 * Whether to colour output for a terminal: `NO_COLOR` (any non-empty value) turns colour off,
 * `FORCE_COLOR` (anything but `0` or `false`) turns it on even into a pipe; otherwise only a TTY.
 */
export function useColour(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isTTY;
}
