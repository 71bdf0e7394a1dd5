/** Where images and manifests go: checked before any work, created 0600, never through a symlink. */
import {
  accessSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  unlinkSync,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { CowbenchError, UsageError, errnoCode } from './errors.js';
import { fileKind, stillAt } from './files.js';
import { native } from './native.js';

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
  // Not a file named "-": the image is verified by reading it back, so it cannot stream.
  if (out === '-')
    throw new UsageError(
      flag,
      "'-' (stdout) is not supported: the image is verified by reading it back from its file; name a file, or /dev/null for an unverified overhead run",
    );
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
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      flag,
      code === 'ENOENT'
        ? `directory ${dir} does not exist`
        : `directory ${dir} cannot be reached: ${code} (${(e as Error).message.replace(/^[A-Z]+: ([^,]+).*$/, '$1')})`,
    );
  }
  if (!st.isDirectory()) throw new UsageError(flag, `${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(flag, `directory ${dir} is not writable`);
  }
  checkTarget(flag, out, force);
  if (!isOrphanManifest(manifestPathFor(out), out)) checkTarget(flag, manifestPathFor(out), force);
}

/**
 * A manifest whose image is absent, and which is empty or a cowbench image manifest (perhaps
 * truncated): what an interrupted commit of an older cowbench left. Not a blocker: a leftover.
 */
export function isOrphanManifest(manifest: string, image: string): boolean {
  try {
    lstatSync(image);
    return false; // the image (or something) is there: the manifest belongs to it
  } catch {
    /* no image */
  }
  let st;
  try {
    st = lstatSync(manifest);
  } catch {
    return false;
  }
  if (!st.isFile() || st.size > 1 << 20) return false;
  if (st.size === 0) return true;
  try {
    return /^\s*\{\s*"format"\s*:\s*"cowbench\.image\//.test(readFileSync(manifest, 'utf8'));
  } catch {
    return false;
  }
}

/** `.NAME.cowbench-PID-RAND.tmp` beside `file`: the temporary naming of native/common/sink.cc. */
export function tempNameBeside(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.cowbench-${process.pid}-${randomInt(1_000_000)}.tmp`,
  );
}

function errnoError(what: string, e: unknown): CowbenchError {
  const err = e as NodeJS.ErrnoException;
  const code = errnoCode(typeof err?.code === 'string' ? err.code : undefined);
  const hint = code === 'ENOSPC' ? ' (the file system is full)' : '';
  return new CowbenchError(
    code,
    `${what}: ${err?.message?.startsWith(code) ? err.message : `${code}: ${err?.message ?? String(e)}`}${hint}`,
    {
      syscall: err?.syscall,
      errno: typeof err?.errno === 'number' ? -err.errno : undefined,
      cause: e,
    },
  );
}

/** Writes `text` to a new 0600 temporary beside `file` (O_EXCL|O_NOFOLLOW), fsynced; returns its path. */
export function writeTempBeside(file: string, text: string): string {
  for (let attempt = 0; ; attempt++) {
    const tmp = tempNameBeside(file);
    let fd: number;
    try {
      fd = openSync(
        tmp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 16) continue;
      throw e;
    }
    try {
      const bytes = Buffer.from(text);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off, off);
      fsyncSync(fd);
      closeSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    return tmp;
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort: some file systems refuse fsync on a directory */
  }
}

/** Puts `tmp` at `file` unless something is there (link(2) is atomic no-replace); removes `tmp`. */
function placeNoReplace(tmp: string, file: string): void {
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A file system without hard links: rename, having checked the slot is free.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    try {
      lstatSync(file);
    } catch {
      renameSync(tmp, file);
      return;
    }
    throw Object.assign(new Error(`${file} exists`), { code: 'EEXIST' });
  }
  unlinkSync(tmp);
}

/** How long a commit waits for another cowbench's commit into the same directory. */
const COMMIT_LOCK_WAIT_MS = 60_000;

/**
 * Takes an exclusive flock(2) on the open `fd`, waiting up to `waitMs` (0: one try); false when
 * another process still holds it. The lock dies with the fd, and with the process.
 */
export function lockExclusive(fd: number, waitMs: number): boolean {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + waitMs;
  while (!native.tryLockExclusive(fd)) {
    if (Date.now() >= deadline) return false;
    Atomics.wait(sleeper, 0, 0, 2);
  }
  return true;
}

/**
 * Opens the lock file `file` (created 0600, never through a link planted at its name) and tries an
 * exclusive flock(2) on it once: the fd when this process now holds the file that is still at that
 * name, else null (closed). A holder that ended may have unlinked the file this process opened, and
 * another process made a new one. Throws the open's error.
 */
export function tryLockFileAt(file: string): number | null {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if (native.tryLockExclusive(fd) && stillAt(fd, file)) return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  closeSync(fd);
  return null;
}

/**
 * Runs `fn` holding an exclusive flock(2) on `dir`: commits into one directory are serialised, so
 * two runs never interleave their image and manifest renames. The lock dies with its fd (and
 * with the process), so a killed run leaves no stale lock behind.
 */
function withDirectoryLock<T>(dir: string, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw errnoError(`could not open ${dir} to lock it for the commit`, e);
  }
  try {
    if (!lockExclusive(fd, COMMIT_LOCK_WAIT_MS))
      throw new CowbenchError(
        'ETIMEDOUT',
        `another process held the commit lock on ${dir} for ${COMMIT_LOCK_WAIT_MS / 1000} s; image not kept`,
      );
    return fn();
  } finally {
    closeSync(fd); // drops the lock
  }
}

/** Removes `file` only if it is still the file identified by `id` (st_dev, st_ino). */
function unlinkIfSame(file: string, id: { dev: number; ino: number } | undefined): void {
  if (!id) return;
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st && st.dev === id.dev && st.ino === id.ino) unlinkSync(file);
}

/**
 * Commits a verified image and its manifest together, or neither: the manifest is written to a
 * temporary and fsynced first (a full disk fails here, before anything is visible); then, holding
 * the directory's commit lock, the manifest slot is emptied (a leftover, or with --force the old
 * manifest), the image is renamed into place (`commitImage`), then the manifest. An image is
 * therefore never seen beside a manifest that is not its own, concurrent runs on one path commit
 * one after the other (the last one wins whole), and a failure removes only what this commit
 * created: the image it renamed into place, identified by (st_dev, st_ino), never by its path.
 */
export function commitWithManifest(
  out: string,
  manifestText: string,
  force: boolean,
  commitImage: () => void,
): void {
  const manifest = manifestPathFor(out);
  const dir = path.dirname(path.resolve(out));
  let tmp: string;
  try {
    tmp = writeTempBeside(manifest, manifestText);
  } catch (e) {
    throw errnoError(`could not write the manifest ${manifest}; image and manifest removed`, e);
  }
  try {
    withDirectoryLock(dir, () => {
      try {
        if (force || isOrphanManifest(manifest, out)) {
          const st = lstatSync(manifest, { throwIfNoEntry: false });
          if (st?.isFile()) unlinkSync(manifest);
        }
      } catch (e) {
        throw errnoError(`could not replace the manifest ${manifest}; image and manifest removed`, e);
      }
      // Checked up front too; again here, as the run took a while: --force replaces regular files only.
      const existing = lstatSync(out, { throwIfNoEntry: false });
      if (existing && !existing.isFile())
        throw new CowbenchError(
          'EEXIST',
          `${out} became a ${fileKind(existing)} during the run; not replaced`,
          { exitCode: 2 },
        );
      commitImage();
      // Ours: renamed into place under the lock, which every cowbench commit here takes.
      const placed = lstatSync(out, { throwIfNoEntry: false });
      const ours = placed ? { dev: placed.dev, ino: placed.ino } : undefined;
      try {
        placeNoReplace(tmp, manifest);
      } catch (e) {
        unlinkIfSame(out, ours); // an image without its manifest does not pass for complete
        throw errnoError(`could not put the manifest at ${manifest}; image and manifest removed`, e);
      }
    });
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
}

/** A private (0700) scratch directory for runs that do not keep their image. */
export function scratchImagePath(): { file: string; cleanup: () => void } {
  // The PID in the name lets a later run or `cowbench clean` remove it if this process is killed.
  const tmp = os.tmpdir();
  let dir: string;
  try {
    dir = mkdtempSync(path.join(tmp, `cowbench-${process.pid}-`));
  } catch (e) {
    // The environment is input too: one line naming TMPDIR (where the scratch image goes).
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(
      'TMPDIR',
      `${tmp} ${err.code === 'ENOENT' ? 'does not exist' : `is not writable: ${err.code ?? 'EIO'}`}; set TMPDIR to a writable directory, or keep the image with --out FILE`,
    );
  }
  return { file: path.join(dir, 'image'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
