/** Shared test helpers: small, fast runs of the real orchestrator and the real CLI. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import type { BackendCapabilities, BackendOption, BackendVariant, CowBackend } from '../src/backend.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../src/orchestrator.js';
import { backendNames, backends, type BackendName, type DeclaredOptionKey } from '../src/registry.js';
import { MiB } from '../src/page.js';

export function testOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return { ...DEFAULT_RUN_OPTIONS, sizeBytes: 64 * MiB, bufferBytes: 16 * MiB, baselineMs: 50, ...overrides };
}

/** One configuration of a backend to test: a variant (softdirty's engines), a delivery (uffd's), or the backend. */
export interface Configuration<N extends string = BackendName> {
  /** `backend`, `backend/variant`, `backend delivery`: `uffd sigbus`, `softdirty/wp-async`. */
  label: string;
  backend: N;
  /** The options that select it, backend included. */
  options: Partial<RunOptions> & { backend: N };
  capabilities: BackendCapabilities;
}

export interface ConfigurationFilter {
  /** Only configurations with this capability (true, or any value that is not false). */
  capability?: keyof BackendCapabilities;
  /** Only backends that declare this option. */
  option?: DeclaredOptionKey;
}

/**
 * Every configuration of every backend in `registry`: each variant × each delivery it declares,
 * filtered. Tests that loop over backends or deliveries take their list from here, so a new
 * backend or delivery is in every one of them without a hand-kept list.
 */
export function configurationsOf<N extends string>(
  registry: Readonly<Record<N, CowBackend>>,
  names: readonly N[],
  filter: ConfigurationFilter = {},
): Configuration<N>[] {
  const one: BackendVariant = { name: '', options: {} };
  return names.flatMap((name) => {
    const b = registry[name];
    if (filter.option && !(b.options as readonly BackendOption[]).some((s) => s.key === filter.option))
      return [];
    return (b.variants ?? [one])
      .flatMap((v) =>
        (b.deliveries ?? [one]).map((d) => ({
          label: `${name}${v.name ? `/${v.name}` : ''}${d.name ? ` ${d.name}` : ''}`,
          backend: name,
          options: { ...v.options, ...d.options, backend: name } as Partial<RunOptions> & { backend: N },
          capabilities: { ...b.capabilities, ...v.capabilities, ...d.capabilities },
        })),
      )
      .filter((c) => filter.capability === undefined || c.capabilities[filter.capability] !== false);
  });
}

/** configurationsOf the registered backends. */
export function configurations(filter: ConfigurationFilter = {}): Configuration[] {
  return configurationsOf(backends, backendNames, filter);
}

export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cowbench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/cowbench.js; `onSpawn` may signal the child. */
export function runCli(
  args: string[],
  opts: {
    onSpawn?: (child: ReturnType<typeof spawn>) => void;
    env?: NodeJS.ProcessEnv;
    uid?: number;
    gid?: number;
    cwd?: string;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const root = opts.uid === undefined ? packageRoot : checkoutReadableBy(opts.uid, opts.gid ?? opts.uid);
    const child = spawn(process.execPath, [path.join(root, 'bin', 'cowbench.js'), ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    opts.onSpawn?.(child);
  });
}

const readableCopies = new Map<number, string>();

/**
 * A package root that user `uid` can read: the checkout itself when it can (cloned somewhere
 * world-readable), else a private copy of what runs (bin, dist, the addon, node_modules) in a
 * 0755 directory, removed when the test process exits. A clone under /root or in a `mktemp -d`
 * directory is not readable by `nobody`.
 */
export function checkoutReadableBy(uid: number, gid: number): string {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)',
      path.join(packageRoot, 'bin', 'cowbench.js'),
    ],
    { uid, gid, stdio: 'ignore' },
  );
  if (probe.status === 0) return packageRoot;
  const cached = readableCopies.get(uid);
  if (cached) return cached;
  const copy = mkdtempSync(path.join('/tmp', 'cowbench-readable-'));
  chmodSync(copy, 0o755);
  for (const part of [
    'package.json',
    'bin',
    'dist',
    'node_modules',
    path.join('build', 'Release', 'cowbench.node'),
  ])
    cpSync(path.join(packageRoot, part), path.join(copy, part), { recursive: true });
  spawnSync('chmod', ['-R', 'a+rX', copy]);
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  readableCopies.set(uid, copy);
  return copy;
}

export { MiB };
