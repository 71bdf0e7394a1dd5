/** Where images and manifests go: checked before any work, created 0600, never through a symlink. */
import {
  accessSync,
  constants,
  lstatSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  statSync,
  writeSync,
  unlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';

export const NULL_SINK = '/dev/null';

export function manifestPathFor(imagePath: string): string {
  return `${imagePath}.json`;
}

function checkTarget(flag: string, file: string, force: boolean): void {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return; // does not exist: fine
  }
  if (st.isSymbolicLink())
    throw new UsageError(flag, `${file} is a symbolic link; refusing to write memory contents through it`);
  if (st.isDirectory()) throw new UsageError(flag, `${file} is a directory; name a file`);
  if (!force) throw new UsageError(flag, `${file} exists; pass --force to replace it`);
}

/** Throws UsageError naming `flag` if the image (and its manifest) cannot be written at `out`. */
export function checkOutput(out: string, force: boolean, flag = '--out'): void {
  if (out === NULL_SINK) return;
  const dir = path.dirname(path.resolve(out));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(flag, `directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(flag, `${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(flag, `directory ${dir} is not writable`);
  }
  checkTarget(flag, out, force);
  checkTarget(flag, manifestPathFor(out), force);
}

/** Writes `text` to `file`: 0600, O_EXCL|O_NOFOLLOW (an existing file is unlinked first only if `force`). */
export function writePrivateFile(file: string, text: string, force: boolean): void {
  if (force) {
    try {
      if (!lstatSync(file).isDirectory()) unlinkSync(file);
    } catch {
      /* absent */
    }
  }
  const fd = openSync(
    file,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** A private (0700) scratch directory for runs that do not keep their image. */
export function scratchImagePath(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cowbench-'));
  return { file: path.join(dir, 'image'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
