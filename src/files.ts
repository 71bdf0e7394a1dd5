/** Reading a file a user names: a regular file only, and never more than a stated size. */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { formatBytes } from './units.js';

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
  const tooLarge = () =>
    new UnreadableFile(file, `is larger than the ${formatBytes(maxBytes)} ${what} may be`);
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
