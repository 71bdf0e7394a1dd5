/**
 * A writer of the "newc" cpio format the kernel unpacks as its initramfs (Documentation/
 * driver-api/early-userspace/buffer-format.rst). Uncompressed: every kernel with initramfs
 * support reads it, and under an emulated CPU unpacking it costs less than any decompression.
 * Archives may be concatenated; the kernel unpacks them in order.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

export class CpioWriter {
  private ino = 1;
  private offset = 0;
  private readonly dirs = new Set<string>(['']);

  constructor(private readonly fd: number) {}

  private write(buf: Buffer): void {
    for (let off = 0; off < buf.length;) off += writeSync(this.fd, buf, off, buf.length - off);
    this.offset += buf.length;
  }

  private pad(): void {
    const n = (4 - (this.offset % 4)) % 4;
    if (n) this.write(Buffer.alloc(n));
  }

  private header(name: string, mode: number, size: number, rdev: [number, number] = [0, 0]): void {
    const rel = name.replace(/^\/+/, '');
    const fields = [
      this.ino++,
      mode,
      0,
      0,
      1,
      0,
      size,
      0,
      0,
      rdev[0],
      rdev[1],
      Buffer.byteLength(rel) + 1,
      0,
    ];
    this.write(
      Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + rel + '\0'),
    );
    this.pad();
  }

  /** The directory and its parents, once each (mode 0755). */
  dir(name: string): void {
    const parts = name.replace(/^\/+|\/+$/g, '').split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (this.dirs.has(d)) continue;
      this.dirs.add(d);
      this.header(d, S_IFDIR | 0o755, 0);
    }
  }

  private parentOf(name: string): void {
    const slash = name.replace(/^\/+/, '').lastIndexOf('/');
    if (slash > 0) this.dir(name.replace(/^\/+/, '').slice(0, slash));
  }

  file(name: string, data: Buffer | string, mode = 0o644): void {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.parentOf(name);
    this.header(name, S_IFREG | mode, bytes.length);
    this.write(bytes);
    this.pad();
  }

  /** A host file's contents under `name`, copied in chunks. */
  copy(name: string, hostPath: string, size: number, mode: number): void {
    this.parentOf(name);
    this.header(name, S_IFREG | (mode & 0o7777), size);
    const fd = openSync(hostPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let left = size;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n === 0)
          throw new Error(`${hostPath} changed while the initramfs was built (it shrank); run again`);
        this.write(buf.subarray(0, n));
        left -= n;
      }
      if (fstatSync(fd).size !== size)
        throw new Error(`${hostPath} changed while the initramfs was built; run again`);
    } finally {
      closeSync(fd);
    }
    this.pad();
  }

  symlink(name: string, target: string): void {
    this.parentOf(name);
    this.header(name, S_IFLNK | 0o777, Buffer.byteLength(target));
    this.write(Buffer.from(target));
    this.pad();
  }

  charDevice(name: string, major: number, minor: number): void {
    this.parentOf(name);
    this.header(name, S_IFCHR | 0o600, 0, [major, minor]);
  }

  /** The trailer; the archive is complete. Returns its size in bytes. */
  end(): number {
    this.header('TRAILER!!!', 0, 0);
    return this.offset;
  }
}

/** Writes one archive to `file` with `fill`; returns its size. */
export function writeCpio(file: string, fill: (w: CpioWriter) => void): number {
  const fd = openSync(file, 'w', 0o600);
  try {
    const w = new CpioWriter(fd);
    fill(w);
    return w.end();
  } finally {
    closeSync(fd);
  }
}
