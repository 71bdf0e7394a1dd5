/**
 * The charts' narrow input: parsed results.json objects, one per machine (today's shape; the
 * `samples` and `fingerprint` fields a newer bench adds are tolerated and used where present).
 */
import path from 'node:path';
import { MiB } from '../../src/page.js';
import { backendNames } from '../../src/registry.js';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface ResultVerdict {
  claim: string;
  verdict: string;
  evidence: string;
  [more: string]: unknown;
}

export interface SuiteResults {
  claim?: string;
  description?: string;
  seconds?: number;
  date?: string;
  git_commit?: string;
  rows: Row[];
  skipped?: string;
  findings?: string[];
  verdicts?: ResultVerdict[];
  raw?: unknown;
  samples?: unknown;
}

export interface BenchResults {
  schema?: string;
  env: Record<string, unknown>;
  fingerprint?: Record<string, unknown>;
  calibration?: Record<string, number>;
  options?: Record<string, unknown>;
  backends?: string[];
  suites: Record<string, SuiteResults>;
}

/** One results directory: a machine (or kernel) the report shows side by side with the others. */
export interface Machine {
  /** Short name for legends and column heads: the directory's name. */
  label: string;
  dir: string;
  results: BenchResults;
}

export function machineOf(dir: string, results: BenchResults): Machine {
  return { label: path.basename(path.resolve(dir)), dir, results };
}

export function rows(m: Machine, suite: string): Row[] {
  return m.results.suites[suite]?.rows ?? [];
}

export function num(r: Row, key: string): number | null {
  const v = r[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function str(r: Row, key: string): string | null {
  const v = r[key];
  return v === null || v === undefined ? null : String(v);
}

export interface HostFacts {
  host: string;
  kernel: string;
  cpu: string;
  thp: string;
  max_map_count: string;
  virtualized: string;
  cowbench: string;
  date: string;
}

/** The host facts a column head shows: the fingerprint where the bench recorded one, else env. */
export function hostFacts(m: Machine): HostFacts {
  const f = { ...m.results.env, ...(m.results.fingerprint ?? {}) } as Record<string, unknown>;
  const s = (k: string) => (f[k] === undefined || f[k] === null ? '' : String(f[k]));
  const commit = s('cowbench_commit') || s('git_commit');
  return {
    host: s('hostname'),
    // cowbench vm: the accelerator beside the kernel (tcg: an emulated CPU, no timing verdicts).
    kernel: `${s('kernel') || s('kernel_release')}${s('accel') === 'kvm' || s('accel') === 'tcg' ? ` (QEMU ${s('accel')})` : ''}`,
    cpu: `${s('cores')} × ${s('cpu_model')}`,
    thp: s('thp_mode'),
    max_map_count: s('vm_max_map_count'),
    virtualized: s('virtualized'),
    cowbench: `${s('cowbench_version')}${commit ? ` (${commit.slice(0, 10)})` : ''}`,
    date: s('date').slice(0, 10),
  };
}

/** Colours in the order backends are registered (category10, the first four as they always were). */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#9467bd',
  '#d62728',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Each backend's colour, by its place in `names` (the registry's order): every backend gets one. */
export function backendColours(names: readonly string[] = backendNames): Map<string, string> {
  return new Map(names.map((b, i) => [b, PALETTE[i % PALETTE.length]!]));
}

/** Backends in the registry's order: the colour domain and the facet order of every chart. */
export const BACKEND_DOMAIN: readonly string[] = backendNames;

/** Colour by backend, the same colour for a backend in every chart; the legend lists only those drawn. */
export function backendColor(points: { backend?: string | null }[], names: readonly string[] = backendNames) {
  const present = new Set(points.map((p) => p.backend));
  const known = [...backendColours(names)].filter(([b]) => present.has(b));
  return {
    field: 'backend',
    type: 'nominal' as const,
    title: 'backend',
    scale: { domain: known.map(([b]) => b), range: known.map(([, c]) => c) },
  };
}

/** How many machines these points come from: a machine channel only when more than one. */
const machinesIn = (points: { machine: string }[]) => new Set(points.map((p) => p.machine)).size;

export function machineShape(points: { machine: string }[]) {
  return machinesIn(points) > 1
    ? { shape: { field: 'machine', type: 'nominal' as const, title: 'machine' } }
    : {};
}

export function machineDash(points: { machine: string }[]) {
  return machinesIn(points) > 1
    ? { strokeDash: { field: 'machine', type: 'nominal' as const, title: 'machine' } }
    : {};
}

export function severalMachines(points: { machine: string }[]): boolean {
  return machinesIn(points) > 1;
}

export const GiB = 1024 * MiB;

export { MiB };
