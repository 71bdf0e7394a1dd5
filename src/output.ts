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

/** What a non-regular file is, in words. */
function fileKind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
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
  // --force replaces a regular file only: never a FIFO, a device node, a socket or a directory.
  if (!st.isFile())
    throw new UsageError(
      flag,
      `${file} is a ${fileKind(st)}, not a regular file; refusing to replace it${force ? ' even with --force' : ''}`,
    );
  if (!force) throw new UsageError(flag, `${file} exists; pass --force to replace it`);
}

/** NAME_MAX of every Linux file system cowbench writes to. */
export const NAME_MAX = 255;
/**
 * The longest name written beside an image is the manifest's temporary,
 * `.NAME.json.cowbench-PID-RAND.tmp` (PID ≤ 7 digits, RAND ≤ 6): NAME plus this many bytes.
 */
export const TEMP_NAME_OVERHEAD =
  '.'.length + '.json'.length + '.cowbench-'.length + 7 + 1 + 6 + '.tmp'.length;

/** The longest --out file name (bytes) whose temporaries still fit in NAME_MAX. */
export const MAX_OUT_NAME_BYTES = NAME_MAX - TEMP_NAME_OVERHEAD;

/** Throws UsageError naming `flag` if the image (and its manifest) cannot be written at `out`. */
export function checkOutput(out: string, force: boolean, flag = '--out'): void {
  if (out === NULL_SINK) return;
  const nameBytes = Buffer.byteLength(path.basename(out));
  if (nameBytes > MAX_OUT_NAME_BYTES)
    throw new UsageError(
      flag,
      `the file name is ${nameBytes} bytes; at most ${MAX_OUT_NAME_BYTES} fit (NAME_MAX ${NAME_MAX} less ${TEMP_NAME_OVERHEAD} for the temporary .NAME.json.cowbench-PID-RAND.tmp)`,
    );
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
