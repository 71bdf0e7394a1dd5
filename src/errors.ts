/** The one error type of cowbench: a code, the syscall and errno where one failed, and an exit code. */
export class CowbenchError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly syscall: string | undefined;
  readonly errno: number | undefined;
  /** Where a run failed (preflight, prepare, …, commit), when it was a run. */
  phase: string | undefined;
  /** What a failed run cleaned up (writers released, temporary removed, …). */
  cleanup: Record<string, unknown> | undefined;

  constructor(
    code: string,
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
    const code = typeof e?.code === 'string' && e.code !== '' ? e.code : 'EINTERNAL';
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
