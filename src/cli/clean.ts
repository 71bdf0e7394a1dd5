/** `cowbench clean [DIR | --out FILE]`: lists and removes what killed runs left behind. */
import { statSync } from 'node:fs';
import path from 'node:path';
import { fsError } from '../files.js';
import { leftoversFor, leftoversIn, removeLeftovers, type Leftover } from '../clean.js';
import { CowbenchError, UsageError, errnoCode } from '../errors.js';
import { writeStdout } from '../stdout.js';
import type { CliPlugin } from './plugin.js';

export interface CleanFlags {
  dir?: string;
  out?: string;
  dryRun?: boolean;
}

/** Finds and (unless dryRun) removes the leftovers; returns the lines to print. */
export function clean(flags: CleanFlags): { lines: string[]; failed: number } {
  if (flags.dir !== undefined && flags.out !== undefined)
    throw new UsageError('--out', 'name a directory or --out FILE, not both');
  if (flags.out === '') throw new UsageError('--out', 'is empty');
  // The directory to clean (or --out's) must exist (else exit 2); one that cannot be reached or
  // read is an error naming its errno (exit 1), never "nothing to clean".
  const flag = flags.out !== undefined ? '--out' : 'dir';
  const dir = flags.out !== undefined ? path.dirname(path.resolve(flags.out)) : (flags.dir ?? '.');
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT')
      throw new UsageError(flag, `${flags.out !== undefined ? 'directory ' : ''}${dir} does not exist`);
    if (err.code !== 'ENOTDIR') throw fsError(`cannot reach ${dir}`, err);
  }
  if (!isDir) throw new UsageError(flag, `${dir} is not a directory`);
  const where = flags.out !== undefined ? `--out ${flags.out}` : (flags.dir ?? '.');
  const found: Leftover[] = flags.out !== undefined ? leftoversFor(flags.out) : leftoversIn(flags.dir ?? '.');
  if (found.length === 0) return { lines: [`nothing to clean for ${where}`], failed: 0 };
  if (flags.dryRun) return { lines: found.map((l) => `would remove ${l.path} (${l.reason})`), failed: 0 };
  const failed = removeLeftovers(found);
  const failedPaths = new Map(failed.map((f) => [f.leftover.path, f.error]));
  const lines = found.map((l) =>
    failedPaths.has(l.path)
      ? `could not remove ${l.path} (${l.reason}): ${failedPaths.get(l.path)}`
      : `removed ${l.path} (${l.reason})`,
  );
  return { lines, failed: failed.length };
}

export const cleanCommand: CliPlugin = (y) =>
  y.command(
    'clean [dir]',
    'remove what killed runs left: hidden temporaries (.NAME.cowbench-PID-N.tmp), manifests without their image, scratch directories',
    (c) =>
      c
        .positional('dir', { type: 'string', describe: 'directory to clean [default: .]' })
        .option('out', {
          type: 'string',
          requiresArg: true,
          describe: 'only the leftovers of this --out file',
        })
        .option('dry-run', { type: 'boolean', default: false, describe: 'list, do not remove' }),
    (args) => {
      const { lines, failed } = clean({
        dir: args.dir as string | undefined,
        out: args.out as string | undefined,
        dryRun: args.dryRun === true,
      });
      const printed = writeStdout(lines.join('\n') + '\n');
      if (failed > 0) throw new CowbenchError('ECLEAN', `${failed} leftover(s) could not be removed`);
      if (!printed.ok && printed.code !== 'EPIPE')
        throw new CowbenchError(
          errnoCode(printed.code),
          `could not write to stdout: ${printed.code} (${printed.reason})`,
        );
    },
  );
