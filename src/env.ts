/** The environment block every result carries: which machine and kernel a figure came from. */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { native, packageRoot } from './native.js';

export interface Environment {
  hostname: string;
  kernel: string;
  kernel_version: string;
  arch: string;
  cpu_model: string;
  cores: number;
  memory_bytes: number;
  thp_mode: string;
  thp_defrag: string;
  vm_max_map_count: number | null;
  vm_unprivileged_userfaultfd: number | null;
  /**
   * Which userfaultfd this process gets, probed by opening one: `full` (faults raised in the kernel
   * are served too), `user-mode-only` (unprivileged with vm.unprivileged_userfaultfd=0: kernel-side
   * writers fail with EFAULT), or `unavailable`.
   */
  uffd_mode: 'full' | 'user-mode-only' | 'unavailable';
  virtualized: string;
  node_version: string;
  cowbench_version: string;
  git_commit: string;
  /** Kernel config options that change what the backends can do or cost (from /proc/config.gz). */
  kernel_config: Record<string, string>;
  /** The CPU frequency governor of cpu0, where cpufreq exists. */
  cpu_governor: string;
  /** none: this kernel ran the command; kvm or tcg: `cowbench vm` ran it in QEMU (tcg: emulated CPU, times not comparable). */
  accel?: 'none' | 'kvm' | 'tcg';
  date: string;
}

/** Config options the fingerprint records (value `y`/`m`/a number, or `n` when unset). */
export const KERNEL_CONFIG_KEYS = [
  'CONFIG_USERFAULTFD',
  'CONFIG_HAVE_ARCH_USERFAULTFD_WP',
  'CONFIG_PTE_MARKER_UFFD_WP',
  'CONFIG_MEM_SOFT_DIRTY',
  'CONFIG_TRANSPARENT_HUGEPAGE',
  'CONFIG_PREEMPT_NONE',
  'CONFIG_PREEMPT_VOLUNTARY',
  'CONFIG_PREEMPT',
  'CONFIG_PREEMPT_DYNAMIC',
  'CONFIG_HZ',
  'CONFIG_KVM',
  'CONFIG_IO_URING',
  'CONFIG_PAGE_SIZE_4KB',
] as const;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function bracketed(file: string): string {
  const text = readText(file);
  const m = text ? /\[([^\]]+)\]/.exec(text) : null;
  return m?.[1] ?? 'unavailable';
}

function readInt(file: string): number | null {
  const text = readText(file);
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : null;
}

/**
 * The commit of cowbench's own checkout: only when the package root is the top of a git work
 * tree (a cowbench clone); an installed copy inside some other repository (node_modules of a
 * user's project, a vendored directory) is 'not a git checkout', never that repository's HEAD.
 */
export function gitCommitOf(root: string): string {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  let top: string;
  try {
    top = git(['rev-parse', '--show-toplevel']);
  } catch {
    return 'not a git checkout';
  }
  try {
    if (realpathSync(top) !== realpathSync(root)) return 'not a git checkout';
    const head = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']);
    return head + (dirty ? '-dirty' : '');
  } catch {
    return 'unknown';
  }
}

/**
 * The checkout's commit; without a checkout (an installed package, a CI cache), the commit the CI
 * says it is building (GitHub's GITHUB_SHA, GitLab's CI_COMMIT_SHA), marked as such.
 */
export function commitFor(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromCheckout = gitCommitOf(root);
  if (fromCheckout !== 'not a git checkout') return fromCheckout;
  for (const name of ['GITHUB_SHA', 'CI_COMMIT_SHA']) {
    const sha = env[name];
    if (sha && /^[0-9a-f]{7,40}$/i.test(sha)) return `${sha} (from ${name})`;
  }
  return fromCheckout;
}

function gitCommit(): string {
  return commitFor(packageRoot);
}

/** The userfaultfd mode, from the native probe (it opens one, as a run would). */
function uffdMode(): Environment['uffd_mode'] {
  try {
    const entries = native.probe();
    const opens = entries.find((e) => e.name === 'userfaultfd')?.ok === true;
    if (!opens) return 'unavailable';
    return entries.find((e) => e.name === 'uffd.kernel_faults')?.ok === true ? 'full' : 'user-mode-only';
  } catch {
    return 'unavailable';
  }
}

/** The recorded kernel config options, or {} where the kernel exposes no config. */
export function kernelConfig(): Record<string, string> {
  let text: string | undefined;
  try {
    text = gunzipSync(readFileSync('/proc/config.gz')).toString();
  } catch {
    text = readText(`/boot/config-${os.release()}`);
  }
  if (text === undefined) return {};
  const out: Record<string, string> = {};
  for (const key of KERNEL_CONFIG_KEYS) {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    out[key] = m ? m[1]!.replace(/^"|"$/g, '') : 'n';
  }
  return out;
}

function virtualization(): string {
  const cpuinfo = readText('/proc/cpuinfo') ?? '';
  return /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)
    ? 'guest (hypervisor flag set)'
    : 'bare metal or unknown';
}

/** What `cowbench vm` tells the guest it runs in (COWBENCH_VM): the accelerator, the host's commit. */
function vmFacts(): { accel?: string; git_commit?: string } {
  try {
    return JSON.parse(process.env['COWBENCH_VM'] ?? '{}') as { accel?: string; git_commit?: string };
  } catch {
    return {};
  }
}

let cached: Environment | undefined;

export function environment(): Environment {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const vm = vmFacts();
  cached = {
    hostname: os.hostname(),
    kernel: os.release(),
    kernel_version: os.version(),
    arch: os.arch(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_bytes: os.totalmem(),
    thp_mode: bracketed('/sys/kernel/mm/transparent_hugepage/enabled'),
    thp_defrag: bracketed('/sys/kernel/mm/transparent_hugepage/defrag'),
    vm_max_map_count: readInt('/proc/sys/vm/max_map_count'),
    vm_unprivileged_userfaultfd: readInt('/proc/sys/vm/unprivileged_userfaultfd'),
    uffd_mode: uffdMode(),
    virtualized: virtualization(),
    node_version: process.version,
    cowbench_version: pkg.version,
    git_commit: vm.git_commit ?? gitCommit(),
    kernel_config: kernelConfig(),
    cpu_governor: readText('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor') ?? 'unavailable',
    accel: vm.accel === 'kvm' || vm.accel === 'tcg' ? vm.accel : 'none',
    date: new Date().toISOString(),
  };
  return cached;
}

/** Bytes the kernel says can be allocated without swapping (MemAvailable). */
export function memAvailableBytes(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '');
  return m ? Number(m[1]) * 1024 : os.freemem();
}

/** Mappings of this process: the count vm.max_map_count limits. */
export function mappingCount(): number {
  const text = readText('/proc/self/maps') ?? '';
  return text === '' ? 0 : text.split('\n').length;
}

/** Resident set size of this process, in bytes (cheap: /proc/self/statm). */
export function rssBytes(): number {
  const fields = (readText('/proc/self/statm') ?? '').split(' ');
  return Number(fields[1] ?? 0) * 4096;
}
