/**
 * cowbench's own error codes, each with what it means. A failed syscall's code is its errno name
 * instead (`EPERM`, `ENOSPC`, `EACCES`, …), with `syscall` and `errno` set.
 */
export const ERROR_CODES = {
  EINVAL: 'an option value the rules refuse (the library names the option key, the CLI its flag)',
  EUSAGE: 'a bad command line (unknown flag, missing value, repeated flag)',
  EUNSUPPORTED: 'this kernel or machine lacks what was asked for; the message names what is missing',
  EABORTED:
    'aborted by an AbortSignal or a signal; nothing was kept (the library rejects with an AbortError)',
  EVERIFY: 'the image did not match the region at its consistency point: it was not kept',
  EBUFFER_FULL: 'the copy buffer filled under --buffer-policy fail',
  ENOMEM: 'not enough memory for the region, the buffer or a copy (the message says which)',
  ECHILD: "a backend's child process (forkcow) failed or was killed",
  EEXCEPTION: 'a C++ exception inside the native code, caught at the boundary',
  ESYS: 'a system facility failed in a way no errno names (the message says how)',
  ETIMEDOUT: 'waited too long for the commit lock another cowbench held on the output directory',
  EINTERNAL: 'a bug in cowbench: please report it with the message',
  ECLEAN: 'cowbench clean could not remove a leftover',
  EKERNEL: 'cowbench vm: the guest kernel failed (panic, hang, not a kernel)',
  EVMHOST: 'cowbench vm: the host cannot run the guest (no QEMU, a KVM that cannot boot it)',
  EFETCH: 'cowbench vm --fetch: the kernel package could not be fetched or verified',
} as const;

/** A code of ERROR_CODES, or the errno name of a failed syscall (`ENOSPC`). */
export type CowbenchErrorCode = keyof typeof ERROR_CODES | `E${string}`;

/** README.md with its error-code table (between the error-codes markers) made from ERROR_CODES. */
export function readmeWithErrorCodes(readme: string): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`);
  const table = ['| code | meaning |', '|---|---|', ...rows].join('\n');
  return readme.replace(
    /(<!-- error-codes:begin -->\n)[\s\S]*?(<!-- error-codes:end -->)/,
    (_, begin: string, end: string) => `${begin}${table}\n${end}`,
  );
}

/** An errno name (`EACCES`) as an error code; anything else (or nothing) as `fallback`. */
export function errnoCode(code: string | undefined, fallback: CowbenchErrorCode = 'EIO'): CowbenchErrorCode {
  return code !== undefined && /^E[A-Z0-9_]+$/.test(code) ? (code as CowbenchErrorCode) : fallback;
}

/** The one error type of cowbench: a code, the syscall and errno where one failed, and an exit code. */
export class CowbenchError extends Error {
  readonly code: CowbenchErrorCode;
  readonly exitCode: number;
  readonly syscall: string | undefined;
  readonly errno: number | undefined;
  /** Where a run failed (preflight, prepare, …, commit), when it was a run. */
  phase: string | undefined;
  /** What a failed run cleaned up (writers released, temporary removed, …). */
  cleanup: Record<string, unknown> | undefined;

  constructor(
    code: CowbenchErrorCode,
    message: string,
    opts: { exitCode?: number; syscall?: string; errno?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CowbenchError';
    this.code = code;
    this.exitCode = opts.exitCode ?? 1;
    this.syscall = opts.syscall;
    this.errno = opts.errno;
  }

  /** Wraps an error thrown by the native addon ({code, syscall, errno, message}). */
  static fromNative(err: unknown): CowbenchError {
    if (err instanceof CowbenchError) return err;
    const e = err as { code?: unknown; message?: unknown; syscall?: unknown; errno?: unknown };
    const code: CowbenchErrorCode =
      typeof e?.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code)
        ? (e.code as CowbenchErrorCode)
        : 'EINTERNAL';
    const message = typeof e?.message === 'string' ? e.message : String(err);
    const wrapped = new CowbenchError(code, message, {
      // A missing kernel feature or a bad option is a refusal (2), like a usage error.
      exitCode: code === 'EUNSUPPORTED' || code === 'EINVAL' || code === 'EPERM' ? 2 : 1,
      syscall: typeof e?.syscall === 'string' ? e.syscall : undefined,
      errno: typeof e?.errno === 'number' ? e.errno : undefined,
      cause: err,
    });
    // An unexpected error keeps its own stack (printed as an internal error).
    if (code === 'EINTERNAL' && err instanceof Error && err.stack) wrapped.stack = err.stack;
    return wrapped;
  }

  /** The `error` object of a failed run's JSON. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      syscall: this.syscall ?? null,
      errno: this.errno ?? null,
      phase: this.phase ?? null,
      exit_code: this.exitCode,
    };
  }
}

/** Bad input on the command line: names the flag; exit code 2. */
export class UsageError extends CowbenchError {
  /** The flag (`--buffer`) and what is wrong with its value, apart. */
  readonly flag: string;
  readonly problem: string;
  constructor(flag: string, message: string) {
    super('EUSAGE', `${flag}: ${message}`, { exitCode: 2 });
    this.name = 'UsageError';
    this.flag = flag;
    this.problem = message;
  }
}

/** One option value a rule refuses: the option's key and flag, and the rule's message. */
export interface OptionProblem {
  /** The RunOptions key: `bufferBytes`. */
  key: string;
  /** The command-line flag: `--buffer`. */
  flag: string;
  message: string;
}

/**
 * Bad options given to the library: names the option key (`bufferBytes: …`), code EINVAL, exit
 * code 2. The CLI prints the same message naming the flag instead (cliError).
 */
export class InvalidOptionError extends CowbenchError {
  readonly problem: OptionProblem;
  constructor(problem: OptionProblem, phase?: string) {
    super('EINVAL', `${problem.key}: ${problem.message}`, { exitCode: 2 });
    this.name = 'InvalidOptionError';
    this.problem = problem;
    this.phase = phase;
  }
}

/** An error as the command line says it: a refused option names its flag (a UsageError). */
export function cliError(e: unknown): unknown {
  if (!(e instanceof InvalidOptionError)) return e;
  const usage = new UsageError(e.problem.flag, e.problem.message);
  usage.phase = e.phase;
  usage.cleanup = e.cleanup;
  return usage;
}

/**
 * An aborted snapshot, as Node's own APIs reject on an AbortSignal: `name` 'AbortError', `cause`
 * the signal's reason; still a CowbenchError (code EABORTED) with the phase it stopped in.
 */
export class AbortError extends CowbenchError {
  constructor(message: string, cause: unknown) {
    super('EABORTED', message, { exitCode: 130, cause });
    this.name = 'AbortError';
  }

  /** `e` as an AbortError when it is an abort (code EABORTED), else `e` unchanged. */
  static from(e: unknown, signal: AbortSignal | undefined): unknown {
    if (e instanceof AbortError || !(e instanceof CowbenchError) || e.code !== 'EABORTED') return e;
    const abort = new AbortError(e.message, signal?.aborted ? signal.reason : e);
    abort.phase = e.phase;
    abort.cleanup = e.cleanup;
    return abort;
  }
}
