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

/**
 * yargs' .fail(msg, err): its own parse errors (YError) become a UsageError; others pass through.
 * `argv`, the words parsed, lets an unknown word be blamed on the switch before it.
 */
export function parseFailure(message: string | null | undefined, err: unknown, argv: string[] = []): unknown {
  if (err !== undefined && err !== null && (err as Error).name !== 'YError') return err;
  return usageErrorFromYargs(message || (err as Error | undefined)?.message || 'bad command line', argv);
}

/** yargs' own messages, with the flag they concern named like cowbench's (`--flag: …`). */
export function usageErrorFromYargs(message: string, argv: string[] = []): UsageError {
  const missing = /^Not enough arguments following: (\S+)$/.exec(message);
  if (missing) return new UsageError(`--${missing[1]}`, 'needs a value');
  // `--force yes`: a switch takes no value, so yargs left 'yes' as an unknown positional word.
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown)
    for (const word of unknown[1]!.split(', ')) {
      const i = argv.indexOf(word);
      const before = i > 0 ? /^--([a-z][a-z0-9-]*)$/.exec(argv[i - 1]!) : null;
      if (before && !word.startsWith('-'))
        return new UsageError(
          `--${before[1]}`,
          `is a switch and takes no value (got '${word}'): write --${before[1]} or --no-${before[1]}`,
        );
    }
  return new UsageError('usage', message);
}

/**
 * yargs middleware: a flag given twice (`--size 16M --size 32M`) is refused, naming it, unless it
 * is declared an array (compare's --threshold): the last or a joined value would be a guess.
 */
export function refuseRepeatedFlags(argv: Record<string, unknown>, y: Argv): void {
  const arrays = new Set((y as unknown as { getOptions(): { array: string[] } }).getOptions().array);
  for (const [key, value] of Object.entries(argv)) {
    // '_' holds the positionals and '--' the words after a `--` (vm passes them on as a command).
    if (key === '_' || key === '$0' || key === '--' || !Array.isArray(value) || arrays.has(key)) continue;
    // yargs keeps both spellings (handler-wait, handlerWait): name the flag as typed.
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (arrays.has(flag)) continue;
    throw new UsageError(
      `--${flag}`,
      `is given more than once (${value.map(String).join(', ')}); give it once`,
    );
  }
}

/** A command builder whose string flags all take a value (see requireValues). */
export function withValues<T, U>(builder: (y: Argv<T>) => Argv<U>): (y: Argv<T>) => Argv<U> {
  return (y) => requireValues(builder(y));
}
