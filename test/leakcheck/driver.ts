/**
 * The leak check's workload (scripts/leakcheck.sh runs it under AddressSanitizer + LeakSanitizer):
 * snapshots of every registered backend, their variants, failure and abort paths, the softdirty
 * scan hooks, probes and calibration, in one process with GC between cases so that wrapped
 * native objects are finalized; plus one `cowbench run` child per backend (the CLI's exit path).
 * LeakSanitizer reports at each process's exit; report.ts reads those reports afterwards.
 *
 *   node --expose-gc dist/test/leakcheck/driver.js   (under the sanitizer: scripts/leakcheck.sh)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { native, packageRoot } from '../../src/native.js';
import { DEFAULT_RUN_OPTIONS, runSnapshot, type RunOptions } from '../../src/orchestrator.js';
import { type BackendName } from '../../src/registry.js';
import { probeFor } from '../../src/run-options.js';
import { flagsOf } from '../../src/options.js';
import { configurations, type Configuration } from '../helpers.js';
import { MiB } from '../../src/page.js';

interface Case {
  label: string;
  options: Partial<RunOptions>;
  /** A failure is the point of the case (the error path is what is checked). */
  mayFail?: boolean;
  /** Abort the snapshot as soon as its copy starts. */
  abort?: boolean;
}

/**
 * Knobs worth a pass per backend beyond its configurations (variants and deliveries, which
 * configurations() lists): each takes another native path.
 */
const VARIANTS: Partial<Record<BackendName, Case[]>> = {
  uffd: [
    { label: '2 handlers, 2 arm threads, no prearm', options: { handlers: 2, armThreads: 2, prearm: false } },
    {
      label: 'buffer full (fail policy)',
      options: { bufferBytes: 8192, bufferPolicy: 'fail', inject: { sinkDelayUs: 2000 } },
      mayFail: true,
    },
  ],
  softdirty: [
    { label: 'one pass', options: { maxPasses: 1 } },
    {
      label: 'engine clear-refs (refused where soft-dirty does not work)',
      options: { engine: 'clear-refs' },
      mayFail: true,
    },
  ],
};

async function gc(): Promise<void> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    collect();
    await tick();
  }
}

/** Runs one case; `problem` is set when it ended in a way the case did not allow. */
async function snapshot(
  config: Configuration,
  c: Case,
): Promise<{ outcome: string; problem: string | null }> {
  const backend = config.label;
  const o: RunOptions = {
    ...DEFAULT_RUN_OPTIONS,
    ...config.options,
    sizeBytes: 8 * MiB,
    bufferBytes: 2 * MiB,
    baselineMs: 20,
    ...c.options,
  };
  const controller = new AbortController();
  try {
    const r = await runSnapshot(o, {
      signal: controller.signal,
      onPhase: (phase) => {
        if (c.abort && phase === 'copy') controller.abort('leak check');
      },
    });
    if (!r.verified)
      return { outcome: 'not verified', problem: `${backend} ${c.label}: image did not verify` };
    return { outcome: 'verified', problem: null };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const outcome = `failed: ${err.code ?? 'error'}`;
    return { outcome, problem: c.mayFail || c.abort ? null : `${backend} ${c.label}: ${err.message}` };
  }
}

async function workload(): Promise<number> {
  const problems: string[] = [];
  const note = (line: string) => process.stderr.write(`leakcheck: ${line}\n`);
  native.probe();
  for (const config of configurations()) {
    const backend = config.label;
    const p = probeFor(config.options);
    if (!p.ok) {
      note(`${backend}: skipped (${p.reason})`);
      continue;
    }
    const cases: Case[] = [
      { label: 'snapshot 1', options: { seed: 1 } },
      { label: 'snapshot 2', options: { seed: 2, pattern: 'sequential' } },
      { label: 'snapshot 3', options: { seed: 3, fill: 'half' } },
      { label: 'aborted in copy', options: {}, abort: true },
      ...(VARIANTS[config.backend] ?? []),
    ];
    for (const c of cases) {
      const { outcome, problem } = await snapshot(config, c);
      note(`${backend} ${c.label}: ${outcome}${problem ? ' (NOT EXPECTED)' : ''}`);
      if (problem) problems.push(problem);
      await gc();
    }
    // The CLI path: a process that exits with whatever it still holds.
    const cli = spawnSync(
      process.execPath,
      [
        path.join(packageRoot, 'bin', 'cowbench.js'),
        'run',
        ...flagsOf(config.options),
        '--size',
        '4M',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    note(`${backend} cowbench run child: exit ${cli.status}`);
    if (cli.status !== 0) problems.push(`${backend} cowbench run: exit ${cli.status}: ${cli.stderr.trim()}`);
  }
  // softdirty's scan hooks, including an object left to the garbage collector.
  await native.softdirty
    .scanTrial({ engine: 'wp-async', pages: 2048, dirty: 'fraction', fraction: 0.1, reps: 3 })
    .catch((e: unknown) => note(`scanTrial: ${(e as Error).message}`));
  await native.softdirty
    .scanTrial({ engine: 'clear-refs', pages: 256, dirty: 'alternate' })
    .catch(() => undefined);
  try {
    const m = new native.softdirty.ScanMicro({ pages: 64 });
    m.touch(8);
    m.pagemapScan();
    m.writeProtectPair(3);
    m.clearRefsPass();
    m.close();
    new native.softdirty.ScanMicro({ pages: 64 }).touch(1); // never closed: the finalizer frees it
  } catch (e) {
    note(`ScanMicro: ${(e as Error).message}`);
  }
  native.softdirty.decodePagemap(new BigUint64Array([1n << 55n, 0n, 1n << 55n]), 0);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cowbench-leakcheck-'));
  try {
    await native.calibrate(4 * MiB, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await gc();
  for (const p of problems) note(`problem: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await workload();
