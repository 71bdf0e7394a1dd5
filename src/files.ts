/**
 * Files a user names: read a regular file only, and never more than a stated size; write a new
 * file beside the target and rename it over the target, so nothing is written through a symlink
 * (or into a FIFO or device) planted where an output goes.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { CowbenchError, UsageError, errnoCode } from './errors.js';
import { bytes } from './format.js';

/** What a non-regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

/** Why a file was not read: `reason` completes "FILE …" ("is a FIFO, not a regular file"). */
export class UnreadableFile extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} ${reason}`);
    this.name = 'UnreadableFile';
  }
}

/**
 * The text of `file` (symlinks followed), refusing anything but a regular file of at most
 * `maxBytes` (`what` names the kind of file in that message). Opened O_NONBLOCK so a FIFO cannot
 * block the open, checked with fstat on the descriptor that is read (no race with a swap of the
 * path), and read no further than the cap: a file that grows past it meanwhile is refused too.
 */
export function readRegularFile(file: string, maxBytes: number, what = 'such a file'): string {
  const cannot = (e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    return new UnreadableFile(file, `cannot be read: ${err.code ?? 'EIO'} (${err.message})`);
  };
  const tooLarge = () => new UnreadableFile(file, `is larger than the ${bytes(maxBytes)} ${what} may be`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw cannot(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableFile(file, `is a ${fileKind(st)}, not a regular file`);
    if (st.size > maxBytes) throw tooLarge();
    let buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        // Grew since fstat: read on, never past the cap.
        if (got > maxBytes) throw tooLarge();
        const bigger = Buffer.alloc(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(bigger);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) return buf.subarray(0, got).toString('utf8');
      got += n;
    }
  } catch (e) {
    throw e instanceof UnreadableFile ? e : cannot(e);
  } finally {
    closeSync(fd);
  }
}

/** A file-system failure as one line with its errno name: "cannot read DIR: EACCES (permission denied)". */
/**
 * Whether the open `fd` is still the file at `file` (same device and inode, not a link): a lock
 * taken on a file another process has since removed or replaced locks nothing.
 */
export function stillAt(fd: number, file: string): boolean {
  const held = fstatSync(fd);
  const now = lstatSync(file, { throwIfNoEntry: false });
  return now !== undefined && now.dev === held.dev && now.ino === held.ino;
}

export function fsError(what: string, err: NodeJS.ErrnoException, exitCode = 1): CowbenchError {
  const code = errnoCode(err.code);
  const reason = /^[A-Z]+: ([^,]+)/.exec(err.message ?? '')?.[1] ?? err.message;
  return new CowbenchError(code, `${what}: ${code} (${reason})`, {
    exitCode,
    syscall: err.syscall,
    errno: typeof err.errno === 'number' ? -err.errno : undefined,
  });
}

/**
 * Writes `data` to `file`: a new temporary beside it (O_EXCL|O_NOFOLLOW, named as cowbench names
 * its temporaries, so `clean` knows a leftover), renamed over it. Whatever was at `file` (a
 * symlink, a FIFO, an older file) is replaced, never written through; a directory there fails.
 */
export function replaceFile(file: string, data: string | Buffer, mode = 0o644): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.cowbench-${process.pid}-${randomInt(1_000_000)}.tmp`,
  );
  let fd: number;
  try {
    fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
  } catch (e) {
    throw fsError(`cannot write ${file}`, e as NodeJS.ErrnoException);
  }
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
    closeSync(fd);
    fd = -1;
    renameSync(temp, file);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      /* not there */
    }
    throw fsError(`cannot write ${file}`, e as NodeJS.ErrnoException);
  }
}

/**
 * A directory outputs go into, named by `flag`: an existing directory, or one created now whose
 * parent exists (never a whole missing path). A file there is exit 2, like a missing parent.
 */
export function outputDirectory(flag: string, dir: string): void {
  try {
    if (statSync(dir).isDirectory()) return;
    throw new UsageError(flag, `${dir} is not a directory`);
  } catch (e) {
    if (e instanceof CowbenchError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw fsError(`cannot reach ${dir}`, err);
  }
  const parent = path.dirname(path.resolve(dir));
  try {
    if (!statSync(parent).isDirectory()) throw new UsageError(flag, `${parent} is not a directory`);
  } catch (e) {
    if (e instanceof CowbenchError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UsageError(flag, `directory ${parent} does not exist`);
    throw fsError(`cannot reach ${parent}`, err);
  }
  try {
    mkdirSync(dir);
  } catch (e) {
    throw fsError(`cannot create ${dir}`, e as NodeJS.ErrnoException);
  }
}

/** A subdirectory outputs go into (charts/): created if missing; a symlink or a file there is exit 2. */
export function outputSubdirectory(dir: string): void {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw fsError(`cannot reach ${dir}`, err);
    try {
      mkdirSync(dir);
    } catch (e2) {
      throw fsError(`cannot create ${dir}`, e2 as NodeJS.ErrnoException);
    }
    return;
  }
  if (st.isSymbolicLink())
    throw new CowbenchError('EUSAGE', `${dir} is a symbolic link; refusing to write through it`, {
      exitCode: 2,
    });
  if (!st.isDirectory())
    throw new CowbenchError('EUSAGE', `${dir} is a ${fileKind(st)}, not a directory`, { exitCode: 2 });
}
