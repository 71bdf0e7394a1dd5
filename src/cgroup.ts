/**
 * The memory a container lets this process use: the tightest memory limit of the cgroups it is in
 * (its own and every ancestor up to the hierarchy's root), less what each already uses. cgroup v2
 * (`memory.max`, `memory.current`) and v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes`),
 * found through /proc/self/cgroup and /proc/self/mountinfo; a hybrid machine is read on both.
 * Above it the kernel's OOM killer ends the run with SIGKILL: no message, no JSON, a temporary left.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bytes } from './format.js';

export interface CgroupMemory {
  /** The cgroup directory whose limit is the tightest. */
  dir: string;
  version: 1 | 2;
  limitBytes: number;
  usageBytes: number;
  /** limit − usage, at least 0. */
  availableBytes: number;
}

/** v1 writes "no limit" as a page-aligned LONG_MAX; anything this large is no limit. */
const UNLIMITED = 2 ** 62;

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function bytesOf(text: string | null): number | null {
  if (text === null || text === 'max') return null;
  const n = Number(text);
  return Number.isFinite(n) && n < UNLIMITED ? n : null;
}

interface Mount {
  /** The mount's root within the hierarchy (mountinfo field 4). */
  root: string;
  mountPoint: string;
}

/** cgroup mounts from mountinfo: the v2 one, and the v1 one holding the memory controller. */
function cgroupMounts(mountinfo: string): { v1?: Mount; v2?: Mount } {
  const found: { v1?: Mount; v2?: Mount } = {};
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, , superOpts] = right.split(' ');
    const mount = { root: unescape(f[3] ?? '/'), mountPoint: unescape(f[4] ?? '') };
    if (fstype === 'cgroup2') found.v2 ??= mount;
    else if (fstype === 'cgroup' && (superOpts ?? '').split(',').includes('memory')) found.v1 ??= mount;
  }
  return found;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The directory of cgroup `cgPath` under `mount` (a cgroup namespace shows paths from its own root). */
function dirOf(mount: Mount, cgPath: string, root: string): string {
  const rel =
    mount.root !== '/' && (cgPath === mount.root || cgPath.startsWith(`${mount.root}/`))
      ? cgPath.slice(mount.root.length)
      : cgPath;
  return path.join(root, mount.mountPoint, rel);
}

/**
 * The tightest memory limit over this process's cgroups, or null where none is set (or cgroups
 * cannot be read). `root` prefixes every path read (tests point it at a fake /proc and /sys).
 */
export function cgroupMemory(root = '/'): CgroupMemory | null {
  const cgroups = read(path.join(root, 'proc/self/cgroup'));
  const mountinfo = read(path.join(root, 'proc/self/mountinfo'));
  if (cgroups === null || mountinfo === null) return null;
  const mounts = cgroupMounts(mountinfo);
  const levels: { dir: string; top: string; version: 1 | 2 }[] = [];
  for (const line of cgroups.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, hierarchy, controllers, cgPath] = m;
    if (hierarchy === '0' && controllers === '' && mounts.v2)
      levels.push({
        dir: dirOf(mounts.v2, cgPath!, root),
        top: path.join(root, mounts.v2.mountPoint),
        version: 2,
      });
    else if (controllers!.split(',').includes('memory') && mounts.v1)
      levels.push({
        dir: dirOf(mounts.v1, cgPath!, root),
        top: path.join(root, mounts.v1.mountPoint),
        version: 1,
      });
  }
  let tightest: CgroupMemory | null = null;
  for (const { dir: start, top, version } of levels) {
    // Every ancestor limits too: walk up to the hierarchy's root.
    for (let dir = start; ; dir = path.dirname(dir)) {
      const limit = bytesOf(read(path.join(dir, version === 2 ? 'memory.max' : 'memory.limit_in_bytes')));
      const usage = bytesOf(read(path.join(dir, version === 2 ? 'memory.current' : 'memory.usage_in_bytes')));
      if (limit !== null) {
        const availableBytes = Math.max(0, limit - (usage ?? 0));
        if (!tightest || availableBytes < tightest.availableBytes)
          tightest = { dir, version, limitBytes: limit, usageBytes: usage ?? 0, availableBytes };
      }
      if (dir === top || !dir.startsWith(top) || dir === path.dirname(dir)) break;
    }
  }
  return tightest;
}

/** What a run can allocate: MemAvailable, or less in a memory cgroup; `source` says which, for messages. */
export function availableMemory(memAvailable: number, root = '/'): { bytes: number; source: string } {
  const cg = cgroupMemory(root);
  if (cg && cg.availableBytes < memAvailable)
    return {
      bytes: cg.availableBytes,
      source: `cgroup v${cg.version} ${cg.dir} ${cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'} ${bytes(cg.limitBytes)}, ${bytes(cg.usageBytes)} in use`,
    };
  return { bytes: memAvailable, source: `MemAvailable ${bytes(memAvailable)}` };
}
