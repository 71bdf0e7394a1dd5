/** Command-line parsing details that hold for every flag of every command. */
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';

/**
 * Every string-valued flag takes the next word as its value even when it starts with '-':
 * `--buffer -1M` is the value '-1M' (refused by the size parser, naming --buffer), not the
 * short flags -1 and -M. Call at the end of a command's builder, after its options.
 */
export function requireValues<T>(y: Argv<T>): Argv<T> {
  // getOptions() is yargs' public API but missing from its type declarations.
  const keys = (y as unknown as { getOptions(): { string: string[] } }).getOptions().string;
  return keys.length ? y.requiresArg(keys) : y;
}

/** yargs' .fail(msg, err): its own parse errors (YError) become a UsageError; others pass through. */
export function parseFailure(message: string | null | undefined, err: unknown): unknown {
  if (err !== undefined && err !== null && (err as Error).name !== 'YError') return err;
  return usageErrorFromYargs(message || (err as Error | undefined)?.message || 'bad command line');
}

/** yargs' own messages, with the flag they concern named like cowbench's (`--flag: …`). */
export function usageErrorFromYargs(message: string): UsageError {
  const missing = /^Not enough arguments following: (\S+)$/.exec(message);
  if (missing) return new UsageError(`--${missing[1]}`, 'needs a value');
  return new UsageError('usage', message);
}

/** A command builder whose string flags all take a value (see requireValues). */
export function withValues<T, U>(builder: (y: Argv<T>) => Argv<U>): (y: Argv<T>) => Argv<U> {
  return (y) => requireValues(builder(y));
}
