/** The environment block every result carries: which machine and kernel a figure came from. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from './native.js';

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
  virtualized: string;
  node_version: string;
  cowbench_version: string;
  git_commit: string;
  date: string;
}

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

function gitCommit(): string {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.toString().trim() + (dirty.toString().trim() ? '-dirty' : '');
  } catch {
    return 'unknown';
  }
}

function virtualization(): string {
  const cpuinfo = readText('/proc/cpuinfo') ?? '';
  return /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)
    ? 'guest (hypervisor flag set)'
    : 'bare metal or unknown';
}

let cached: Environment | undefined;

export function environment(): Environment {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
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
    virtualized: virtualization(),
    node_version: process.version,
    cowbench_version: pkg.version,
    git_commit: gitCommit(),
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
