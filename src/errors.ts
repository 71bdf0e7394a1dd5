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

/** Bad input: names the flag; exit code 2. */
export class UsageError extends CowbenchError {
  constructor(flag: string, message: string) {
    super('EUSAGE', `${flag}: ${message}`, { exitCode: 2 });
    this.name = 'UsageError';
  }
}
