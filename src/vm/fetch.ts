/**
 * Debian's kernels for `cowbench vm`, fetched into a cache: `cowbench vm --fetch debian-6.1`
 * finds the newest linux-image-6.1*-cloud-amd64-unsigned package apt knows, downloads it with
 * `apt-get download` (apt checks it against the signed archive index), checks its SHA-256 against
 * that index once more and its name and version inside the .deb, unpacks it with `dpkg -x`
 * (nothing is installed) and records what it found in kernel.json. `--kernel debian-6.1` then
 * boots it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CowbenchError } from '../errors.js';

export interface CachedKernel {
  name: string;
  package: string;
  version: string;
  sha256: string;
  release: string;
  /** Paths relative to the entry's directory. */
  image: string;
  config: string | null;
  modules: string | null;
  fetched: string;
}

/** $COWBENCH_CACHE, else $XDG_CACHE_HOME/cowbench, else ~/.cache/cowbench. */
export function cacheDir(): string {
  if (process.env['COWBENCH_CACHE']) return path.resolve(process.env['COWBENCH_CACHE']);
  const base = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(base, 'cowbench');
}

export const kernelsDir = () => path.join(cacheDir(), 'kernels');

const NAME = /^debian-(\d+)\.(\d+)$/;

export function isCachedKernelName(s: string): boolean {
  return NAME.test(s);
}

/** The cached kernel `name` (debian-6.1), with absolute paths; refuses with the fetch command. */
export function cachedKernel(name: string): CachedKernel {
  const dir = path.join(kernelsDir(), name);
  let entry: CachedKernel;
  try {
    entry = JSON.parse(readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as CachedKernel;
  } catch {
    throw new CowbenchError(
      'ENOKERNEL',
      `--kernel ${name}: not in the cache (${kernelsDir()}); fetch it with: cowbench vm --fetch ${name}`,
      { exitCode: 2 },
    );
  }
  const abs = (p: string | null) => (p === null ? null : path.join(dir, p));
  return { ...entry, image: abs(entry.image)!, config: abs(entry.config), modules: abs(entry.modules) };
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error)
    throw new CowbenchError(
      'EUNSUPPORTED',
      `vm --fetch: ${cmd} is not available here (${(r.error as NodeJS.ErrnoException).code}); fetching Debian kernels needs apt (a Debian or Ubuntu host)`,
      { exitCode: 2 },
    );
  if (r.status !== 0)
    throw new CowbenchError(
      'EFETCH',
      `vm --fetch: ${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`,
    );
  return r.stdout;
}

/** The newest `linux-image-<major>.<minor>…-cloud-amd64-unsigned` apt can download. */
export function resolvePackage(name: string): { pkg: string; version: string; sha256: string } {
  const m = NAME.exec(name);
  if (!m)
    throw new CowbenchError(
      'EUSAGE',
      `--fetch: '${name}' is not debian-<major>.<minor> (debian-6.1, debian-6.12)`,
      { exitCode: 2 },
    );
  const prefix = `linux-image-${m[1]}.${m[2]}`;
  const pattern = new RegExp(
    `^linux-image-${m[1]}\\.${m[2]}(\\.\\d+)?(-\\d+|\\+deb\\d+)*-cloud-amd64-unsigned$`,
  );
  const names = run('apt-cache', ['pkgnames', prefix])
    .split('\n')
    .filter((n) => pattern.test(n));
  let best: { pkg: string; version: string; sha256: string } | null = null;
  for (const pkg of names) {
    const show = run('apt-cache', ['show', '--no-all-versions', pkg]);
    const version = /^Version: (.+)$/m.exec(show)?.[1];
    const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(show)?.[1];
    if (!version || !sha256) continue;
    if (best === null || spawnSync('dpkg', ['--compare-versions', version, 'gt', best.version]).status === 0)
      best = { pkg, version, sha256 };
  }
  if (best === null)
    throw new CowbenchError(
      'EFETCH',
      `vm --fetch ${name}: apt knows no ${prefix}*-cloud-amd64-unsigned package (run apt-get update; on a Debian bookworm host with security updates both 6.1 and 6.12 are there)`,
    );
  return best;
}

/** Fetches (or finds up to date) the kernel `name`; returns it with absolute paths. */
export function fetchKernel(name: string, log: (line: string) => void): CachedKernel {
  const want = resolvePackage(name);
  const dest = path.join(kernelsDir(), name);
  try {
    const have = cachedKernel(name);
    if (have.package === want.pkg && have.version === want.version && existsSync(have.image)) {
      log(`${name}: ${want.pkg} ${want.version} is already in ${dest}`);
      return have;
    }
  } catch {
    /* not cached yet */
  }
  mkdirSync(kernelsDir(), { recursive: true });
  const work = path.join(kernelsDir(), `.${name}.cowbench-${process.pid}-fetch`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    log(`${name}: apt-get download ${want.pkg}=${want.version}`);
    // apt's download sandbox user cannot write a root-owned 0700 directory: let it.
    run('chmod', ['0755', work]);
    run('apt-get', ['download', `${want.pkg}=${want.version}`], work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new CowbenchError('EFETCH', `vm --fetch ${name}: apt-get download left no .deb`);
    const debPath = path.join(work, deb);
    const sha256 = createHash('sha256').update(readFileSync(debPath)).digest('hex');
    if (sha256 !== want.sha256)
      throw new CowbenchError(
        'EFETCH',
        `vm --fetch ${name}: ${deb} has SHA-256 ${sha256}, the archive index says ${want.sha256}; not used`,
      );
    const fields = run('dpkg-deb', ['-f', debPath, 'Package', 'Version']);
    if (!fields.includes(`Package: ${want.pkg}`) || !fields.includes(`Version: ${want.version}`))
      throw new CowbenchError(
        'EFETCH',
        `vm --fetch ${name}: ${deb} is not ${want.pkg} ${want.version}: ${fields.trim()}`,
      );
    const tree = path.join(work, 'tree');
    run('dpkg', ['-x', debPath, tree]);
    rmSync(debPath);
    const boot = readdirSync(path.join(tree, 'boot'));
    const image = boot.find((f) => f.startsWith('vmlinuz-'));
    if (!image) throw new CowbenchError('EFETCH', `vm --fetch ${name}: ${deb} holds no boot/vmlinuz-*`);
    const release = image.slice('vmlinuz-'.length);
    const config = boot.includes(`config-${release}`) ? `tree/boot/config-${release}` : null;
    const modules = existsSync(path.join(tree, 'lib', 'modules', release))
      ? `tree/lib/modules/${release}`
      : null;
    const entry: CachedKernel = {
      name,
      package: want.pkg,
      version: want.version,
      sha256,
      release,
      image: `tree/boot/${image}`,
      config,
      modules,
      fetched: new Date().toISOString(),
    };
    writeFileSync(path.join(work, 'kernel.json'), JSON.stringify(entry, null, 2) + '\n');
    rmSync(dest, { recursive: true, force: true });
    renameSync(work, dest);
    log(
      `${name}: ${want.pkg} ${want.version} (sha256 ${sha256.slice(0, 16)}…, checked) unpacked into ${dest}`,
    );
    return cachedKernel(name);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
