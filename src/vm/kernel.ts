/**
 * What `cowbench vm --kernel IMAGE` needs to know of a kernel before booting it: that IMAGE is
 * one (an x86 bzImage, or an ELF vmlinux with the PVH entry QEMU boots), its release, its config
 * (beside it as Debian ships it, or the .config of the build tree it came from), and where the
 * modules of the virtio console live when the config builds them as modules.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CowbenchError } from '../errors.js';

export interface KernelImage {
  /** The image QEMU's -kernel gets. */
  image: string;
  format: 'bzImage' | 'vmlinux';
  /** The release (`uname -r`), from the image's version string; null when it has none. */
  release: string | null;
  /** The whole version string, as /proc/version will print it. */
  version: string | null;
  /** The config file found for it, and its text. */
  configPath: string | null;
  config: string | null;
  /** A lib/modules/<release> directory (or a build tree) holding its modules, if found. */
  modulesDir: string | null;
}

function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The ELF note QEMU looks for to boot a vmlinux directly (XEN_ELFNOTE_PHYS32_ENTRY, CONFIG_PVH). */
function hasPvhNote(elf: Buffer): boolean {
  if (elf.readUInt8(4) !== 2 || elf.readUInt8(5) !== 1) return false; // 64-bit little-endian only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    const off = Number(elf.readBigUInt64LE(ph + 8));
    const size = Number(elf.readBigUInt64LE(ph + 32));
    let p = off;
    while (p + 12 <= off + size && p + 12 <= elf.length) {
      const namesz = elf.readUInt32LE(p);
      const descsz = elf.readUInt32LE(p + 4);
      const type = elf.readUInt32LE(p + 8);
      const name = elf.toString('latin1', p + 12, p + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === 18) return true;
      p += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
    }
  }
  return false;
}

/** Refuses what is not a bootable kernel, naming what was found instead. */
export function identifyKernel(image: string): KernelImage {
  let size: number;
  try {
    const st = statSync(image);
    if (!st.isFile()) throw new CowbenchError('EKERNEL', `--kernel ${image}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CowbenchError) throw e;
    throw new CowbenchError('EKERNEL', `--kernel ${image}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const head = readHead(image, 64 * 1024);
  let format: KernelImage['format'];
  let version: string | null = null;
  if (
    head.length >= 0x210 &&
    head.readUInt16LE(0x1fe) === 0xaa55 &&
    head.toString('latin1', 0x202, 0x206) === 'HdrS'
  ) {
    format = 'bzImage';
    // setup header: kernel_version (0x20e) points at the version string, relative to 0x200.
    const ptr = head.readUInt16LE(0x20e) + 0x200;
    if (ptr > 0x200 && ptr < head.length) {
      const end = head.indexOf(0, ptr);
      version = head.toString('latin1', ptr, end < 0 ? Math.min(head.length, ptr + 256) : end).trim() || null;
    }
  } else if (head.length >= 64 && head.toString('latin1', 0, 4) === '\x7fELF') {
    if (head.readUInt16LE(0x12) !== 62)
      throw new CowbenchError('EKERNEL', `--kernel ${image}: an ELF file, but not for x86-64`);
    const whole = size <= 512 * 1024 * 1024 ? readFileSync(image) : head;
    if (!hasPvhNote(whole))
      throw new CowbenchError(
        'EKERNEL',
        `--kernel ${image}: an ELF vmlinux without the PVH entry note; QEMU boots such a file only when built with CONFIG_PVH=y (use arch/x86/boot/bzImage instead)`,
      );
    format = 'vmlinux';
    const at = whole.indexOf('Linux version ');
    if (at >= 0) {
      const end = whole.indexOf(0, at);
      version = whole.toString('latin1', at + 'Linux version '.length, end).trim() || null;
    }
  } else {
    throw new CowbenchError(
      'EKERNEL',
      `--kernel ${image}: not a Linux kernel image (no x86 boot header "HdrS" at 0x202, not an ELF vmlinux)`,
    );
  }
  const release = version?.split(/\s+/)[0] ?? null;
  const dir = path.dirname(path.resolve(image));
  const configPath = findConfig(dir, release);
  let config: string | null = null;
  if (configPath) config = readFileSync(configPath, 'utf8');
  return {
    image: path.resolve(image),
    format,
    release,
    version,
    configPath,
    config,
    modulesDir: findModules(dir, release),
  };
}

/** config-<release> beside the image (/boot, a dpkg -x tree), a build tree's .config, /boot. */
function findConfig(dir: string, release: string | null): string | null {
  const candidates = [
    ...(release ? [path.join(dir, `config-${release}`), `/boot/config-${release}`] : []),
    path.resolve(dir, '../../../.config'), // arch/x86/boot/bzImage
    path.join(dir, '.config'), // vmlinux at the top of a build tree
  ];
  return candidates.find((f) => existsSync(f)) ?? null;
}

function findModules(dir: string, release: string | null): string | null {
  const candidates = [
    ...(release ? [path.resolve(dir, '../lib/modules', release), `/lib/modules/${release}`] : []),
    path.resolve(dir, '../../..'), // a build tree: drivers/virtio/*.ko beside arch/
    dir,
  ];
  return (
    candidates.find(
      (d) =>
        existsSync(path.join(d, 'kernel', 'drivers', 'virtio')) ||
        existsSync(path.join(d, 'drivers', 'virtio')),
    ) ?? null
  );
}

/** A config option's value (`y`, `m`, a string), `n` when unset, null without a config. */
export function configValue(config: string | null, key: string): string | null {
  if (config === null) return null;
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(config);
  return m ? m[1]!.replace(/^"|"$/g, '') : 'n';
}

export interface GuestModule {
  name: string;
  /** The module, decompressed. */
  data: Buffer;
}

function moduleFiles(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const m = /^(.+)\.ko(\.(xz|zst|gz))?$/.exec(n);
      if (m) found.set(m[1]!.replace(/-/g, '_'), p);
      else if (!n.startsWith('.') && n !== 'source' && n !== 'build') {
        try {
          if (statSync(p).isDirectory()) walk(p, depth + 1);
        } catch {
          /* a dangling link */
        }
      }
    }
  };
  walk(dir, 0);
  return found;
}

function decompress(file: string): Buffer {
  if (file.endsWith('.gz')) return gunzipSync(readFileSync(file));
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : null;
  if (tool === null) return readFileSync(file);
  return execFileSync(tool, ['-dc', file], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * The modules of `roots` and what they depend on (the `depends=` of each module's .modinfo), in
 * load order; null when one is missing or cannot be decompressed here.
 */
export function modulesFor(dir: string, roots: string[]): { modules: GuestModule[] } | { missing: string } {
  const files = moduleFiles(dir);
  const ordered: GuestModule[] = [];
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): string | null => {
    if (done.has(name)) return null;
    if (visiting.has(name)) return null;
    visiting.add(name);
    const file = files.get(name);
    if (!file) return name;
    let data: Buffer;
    try {
      data = decompress(file);
    } catch {
      return `${name} (${path.basename(file)} could not be decompressed here)`;
    }
    const dep = /\0depends=([^\0]*)\0/.exec(data.toString('latin1'));
    for (const d of (dep?.[1] ?? '').split(',').filter(Boolean)) {
      const missing = visit(d.replace(/-/g, '_'));
      if (missing) return missing;
    }
    done.add(name);
    ordered.push({ name, data });
    return null;
  };
  for (const r of roots) {
    const missing = visit(r);
    if (missing) return { missing };
  }
  return { modules: ordered };
}
