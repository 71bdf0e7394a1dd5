/**
 * The guest userspace of `cowbench vm`, built from the cowbench that runs it: busybox, this node
 * and the shared libraries `ldd` lists, the package (bin, dist, the addon, its runtime
 * dependencies) at the same paths as on the host, the kernel's config and the virtio modules it
 * needs, and an /init that starts the agent. One uncompressed initramfs: no disk image, no
 * modules needed to reach the files, so any kernel with initramfs support and a serial console
 * boots it. The job (the commands) is a second, small archive appended per run, so the large
 * one can be kept and reused (--keep).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CowbenchError } from '../errors.js';
import { CpioWriter, writeCpio } from './cpio.js';
import type { GuestJob } from './frames.js';
import type { GuestModule } from './kernel.js';

/** The package root (dist/src/vm/ -> ../../..), found without loading the addon. */
export const vmPackageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const AGENT_SCRIPT = path.join(vmPackageRoot, 'dist', 'src', 'vm', 'agent.js');
export const CLI_SCRIPT = path.join(vmPackageRoot, 'bin', 'cowbench.js');

interface HostFile {
  /** Path inside the guest (the host path, so node resolves modules as on the host). */
  guest: string;
  host: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

function hostFile(guest: string, host = guest): HostFile {
  const real = realpathSync(host);
  const st = statSync(real);
  return { guest, host: real, size: st.size, mode: st.mode & 0o777, mtimeMs: st.mtimeMs };
}

/** A binary's shared libraries and loader as `ldd` names them; [] for a static one. */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const text = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    if (/not a dynamic executable|statically linked/.test(text)) return [];
    throw new CowbenchError('EVMHOST', `ldd ${binary} failed: ${text.trim() || (e as Error).message}`);
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
    else if (/=>\s*not found/.test(line)) throw new CowbenchError('EVMHOST', `ldd ${binary}: ${line.trim()}`);
  }
  return libs;
}

/** The runtime dependency closure of the package, resolved as node does (walking up node_modules). */
function runtimePackages(root: string): string[] {
  const dirs = new Set<string>();
  const visit = (from: string) => {
    const pkg = JSON.parse(readFileSync(path.join(from, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    // Optional peers where installed (vega for report.html, the history database's drivers).
    const names = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
    for (const name of Object.keys(names)) {
      let dir = from;
      let found: string | null = null;
      for (;;) {
        const candidate = path.join(dir, 'node_modules', name);
        if (existsSync(path.join(candidate, 'package.json'))) {
          found = candidate;
          break;
        }
        const up = path.dirname(dir);
        if (up === dir) break;
        dir = up;
      }
      if (found === null) continue; // an optional dependency or peer not installed
      const real = realpathSync(found);
      if (dirs.has(real)) continue;
      dirs.add(real);
      visit(real);
    }
  };
  visit(root);
  return [...dirs];
}

/** Every regular file under `dir` (symlinks to files followed), skipping nested node_modules. */
function filesUnder(dir: string, keep: (rel: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (name !== 'node_modules') walk(p, r);
      } else if ((st.isFile() || (st.isSymbolicLink() && existsSync(p))) && keep(r)) out.push(p);
    }
  };
  walk(dir, '');
  return out;
}

/** What the guest needs of the host; `key` changes whenever one of the files does. */
export interface GuestPlan {
  files: HostFile[];
  busybox: string;
  node: string;
  key: string;
}

export function findBusybox(): string | null {
  for (const p of ['/bin/busybox', '/usr/bin/busybox', '/sbin/busybox', '/usr/sbin/busybox'])
    if (existsSync(p)) return p;
  return null;
}

export function planGuest(): GuestPlan {
  const busybox = findBusybox();
  if (busybox === null)
    throw new CowbenchError(
      'EUNSUPPORTED',
      'vm: busybox is not installed; the guest userspace is built from it (Debian: apt-get install busybox-static)',
      { exitCode: 2 },
    );
  const node = process.execPath;
  const root = vmPackageRoot;
  const files = new Map<string, HostFile>();
  const add = (f: HostFile) => files.set(f.guest, f);
  add(hostFile('/bin/busybox', busybox));
  add(hostFile(node));
  const addons: string[] = [];
  const built = path.join(root, 'build', 'Release', 'cowbench.node');
  const prebuilt = path.join(root, 'prebuilt', `linux-${process.arch}`, 'cowbench.node');
  for (const a of [built, prebuilt]) if (existsSync(a)) addons.push(a);
  if (addons.length === 0)
    throw new CowbenchError('EVMHOST', `vm: the native addon is not built (${built}); run npm install first`);
  for (const bin of [busybox, node, ...addons]) for (const lib of sharedLibraries(bin)) add(hostFile(lib));
  for (const a of addons) add(hostFile(a));
  add(hostFile(path.join(root, 'package.json')));
  const js = (rel: string) => !rel.endsWith('.map') && !rel.endsWith('.d.ts');
  for (const f of filesUnder(path.join(root, 'bin'))) add(hostFile(f));
  for (const sub of ['src', 'bench'])
    if (existsSync(path.join(root, 'dist', sub)))
      for (const f of filesUnder(path.join(root, 'dist', sub), js)) add(hostFile(f));
  for (const dir of runtimePackages(root)) {
    for (const f of filesUnder(dir)) add(hostFile(f));
  }
  const list = [...files.values()].sort((a, b) => a.guest.localeCompare(b.guest));
  const hash = createHash('sha256');
  for (const f of list) hash.update(`${f.guest}\0${f.host}\0${f.size}\0${f.mtimeMs}\n`);
  return { files: list, busybox, node, key: hash.digest('hex').slice(0, 16) };
}

/** The /init shell script: mounts, modules, the data channel's UART in raw mode, the agent. */
export function initScript(o: { node: string; hostname: string; modules: string[] }): string {
  return `#!/bin/busybox sh
# cowbench vm: the guest's init (written by src/vm/guest.ts).
B=/bin/busybox
$B mount -t proc proc /proc || { echo "cowbench-vm: cannot mount /proc (the kernel lacks CONFIG_PROC_FS)"; $B poweroff -f; }
$B mount -t sysfs sysfs /sys || echo "cowbench-vm: cannot mount /sys"
$B mount -t devtmpfs devtmpfs /dev || echo "cowbench-vm: no devtmpfs (CONFIG_DEVTMPFS); /dev is the initramfs's"
$B --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
hostname ${shellQuote(o.hostname)}
echo "cowbench-vm: init at $(cut -d' ' -f1 /proc/uptime) s"
${o.modules.map((m) => `insmod /cowbench/modules/${m}.ko || echo "cowbench-vm: insmod ${m} failed"`).join('\n')}
[ -e /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null
${shellQuote(o.node)} ${shellQuote(AGENT_SCRIPT)} /cowbench/job.json
echo "cowbench-vm: agent exited $?"
sync
$B poweroff -f
`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface GuestExtras {
  hostname: string;
  release: string | null;
  config: string | null;
  modules: GuestModule[];
}

/** Writes the large archive: everything but the job. Returns its size in bytes. */
export function writeBaseInitramfs(file: string, plan: GuestPlan, extras: GuestExtras): number {
  return writeCpio(file, (w: CpioWriter) => {
    for (const d of [
      'bin',
      'sbin',
      'usr/bin',
      'usr/sbin',
      'dev',
      'proc',
      'sys',
      'tmp',
      'root',
      'etc',
      'cowbench',
    ])
      w.dir(d);
    w.charDevice('dev/console', 5, 1);
    w.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    w.file('etc/group', 'root:x:0:\n');
    for (const f of plan.files) w.copy(f.guest, f.host, f.size, f.mode);
    // env.ts reads /boot/config-<release> where the kernel has no /proc/config.gz.
    if (extras.config !== null && extras.release !== null)
      w.file(`boot/config-${extras.release}`, extras.config);
    for (const m of extras.modules) w.file(`cowbench/modules/${m.name}.ko`, m.data);
    w.file(
      'init',
      initScript({ node: plan.node, hostname: extras.hostname, modules: extras.modules.map((m) => m.name) }),
      0o755,
    );
  });
}

/** A host file copied into the guest at its own path (an earlier bench results.json). */
export interface CarriedFile {
  path: string;
  size: number;
  mode: number;
}

/**
 * Writes the small archive with the job, the directories the commands run and write in, and the
 * host files `carry` names (at their host paths).
 */
export function writeJobInitramfs(file: string, job: GuestJob, carry: CarriedFile[] = []): number {
  return writeCpio(file, (w) => {
    w.dir(job.cwd);
    for (const d of job.dirs) w.dir(d);
    for (const c of carry) w.copy(c.path.replace(/^\//, ''), c.path, c.size, c.mode);
    w.file('cowbench/job.json', JSON.stringify(job));
  });
}
