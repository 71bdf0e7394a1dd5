/**
 * forkcow's costs (claim C4 and the fork pause): (1) the extra memory a fork snapshot costs at
 * two writer rates — the kernel copies every page the parent writes while the child still holds
 * the original — measured by the backend from /proc/<pid>/smaps_rollup (parent + child PSS over
 * the pre-fork PSS); (2) the fork pause at 0.25, 1 and 4 GiB regions, reported apart from the
 * writer quiesce. Every case runs in a fresh child process; medians with min–max over trials.
 *
 *   node dist/bench/forkcow.js [--trials 3] [--rates 5000,50000] [--sizes 0.25,1,4] [--out results/forkcow.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment } from '../src/env.js';
import { DEFAULT_RUN_OPTIONS, runSnapshot, type RunOptions } from '../src/orchestrator.js';
import { fmt, summarize } from './stats.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface CaseResult {
  verified?: boolean;
  pause_us?: number;
  quiesce_us?: number;
  fork_us?: number;
  extra_memory_peak_bytes?: number;
  extra_memory_samples?: number;
  total_ms?: number;
  writes_per_s?: number;
  error?: string;
}

async function child(json: string): Promise<void> {
  const o = { ...DEFAULT_RUN_OPTIONS, ...(JSON.parse(json) as Partial<RunOptions>) };
  const r = await runSnapshot(o);
  const out: CaseResult = {
    verified: r.verified || r.verification.skipped !== null,
    pause_us: r.pause_us,
    quiesce_us: r.quiesce_us,
    fork_us: r.backend_metrics.fork_us ?? NaN,
    extra_memory_peak_bytes: r.extra_memory_peak_bytes,
    extra_memory_samples: r.backend_metrics.extra_memory_samples ?? 0,
    total_ms: r.total_ms,
    writes_per_s: r.writers.snapshot_writes_per_s,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runCase(self: string, options: Partial<RunOptions>): CaseResult {
  const run = spawnSync(process.execPath, [self, '--child', JSON.stringify(options)], {
    encoding: 'utf8',
    timeout: 600000,
  });
  try {
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as CaseResult;
  } catch {
    const error = `exit ${run.status ?? run.signal}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`;
    process.stderr.write(`warning: case ${JSON.stringify(options)} failed: ${error}\n`);
    return { error };
  }
}

function main(): void {
  const trials = Number(arg('--trials', '3'));
  const rates = arg('--rates', '5000,50000').split(',').map(Number);
  const sizes = arg('--sizes', '0.25,1,4').split(',').map(Number);
  const out = arg('--out', 'results/forkcow.json');
  const self = fileURLToPath(import.meta.url);
  const env = environment();
  process.stderr.write(
    `forkcow: ${env.kernel}, ${env.cpu_model}, ${env.cores} cores, ${trials} trials per case\n`,
  );
  const memory: Record<string, CaseResult[]> = {};
  const pause: Record<string, CaseResult[]> = {};
  const save = () => {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ bench: 'forkcow', env, memory, pause }, null, 2) + '\n');
  };
  // Interleave the cases across trials so machine noise spreads over all of them.
  for (let t = 0; t < trials; t++) {
    for (const rate of rates) {
      // A real file sink: the child lives as long as writing 1 GiB takes, the parent writes meanwhile.
      (memory[rate] ??= []).push(
        runCase(self, { backend: 'forkcow', sizeBytes: GiB, ratePagesPerSec: rate, bufferBytes: 64 * MiB }),
      );
      save();
    }
    for (const size of sizes) {
      (pause[size] ??= []).push(
        runCase(self, {
          backend: 'forkcow',
          sizeBytes: Math.round((size * GiB) / (2 * MiB)) * 2 * MiB,
          ratePagesPerSec: 10000,
          bufferBytes: 64 * MiB,
          out: '/dev/null',
        }),
      );
      save();
    }
  }

  const ok = (rs: CaseResult[]) => rs.filter((r) => r.error === undefined && r.verified);
  console.log('\nextra memory of a 1 GiB fork snapshot vs writer rate (random writes, file sink)');
  console.log(
    'rate (pages/s)   extra MiB: median (min … max)   child life ms   MiB per s of child life   bound MiB   N',
  );
  for (const rate of rates) {
    const rs = ok(memory[rate] ?? []);
    const mem = summarize(rs.map((r) => r.extra_memory_peak_bytes! / MiB));
    const life = summarize(rs.map((r) => r.total_ms!));
    const perSec = summarize(rs.map((r) => r.extra_memory_peak_bytes! / MiB / (r.total_ms! / 1000)));
    // Upper bound: every write during the child's life hit a page not yet copied.
    const bound = summarize(rs.map((r) => Math.min(1024, (rate * r.total_ms! * 4096) / 1000 / MiB)));
    console.log(
      `${String(rate).padStart(14)}   ${fmt(mem.median, 1).padStart(7)} (${fmt(mem.min, 1)} … ${fmt(mem.max, 1)})`.padEnd(
        48,
      ) +
        `${fmt(life.median, 0).padStart(13)}   ${fmt(perSec.median, 1).padStart(23)}   ${fmt(bound.median, 1).padStart(9)}   ${rs.length}`,
    );
  }
  console.log('\nfork pause vs region size (writers at 10000 pages/s, /dev/null sink)');
  console.log('region GiB   fork µs: median (min … max)      pause µs: median   quiesce µs: median   N');
  for (const size of sizes) {
    const rs = ok(pause[size] ?? []);
    const fork = summarize(rs.map((r) => r.fork_us!));
    const p = summarize(rs.map((r) => r.pause_us!));
    const q = summarize(rs.map((r) => r.quiesce_us!));
    console.log(
      `${String(size).padStart(10)}   ${fmt(fork.median, 0).padStart(8)} (${fmt(fork.min, 0)} … ${fmt(fork.max, 0)})`.padEnd(
        48,
      ) + `${fmt(p.median, 0).padStart(8)}   ${fmt(q.median, 1).padStart(18)}   ${rs.length}`,
    );
  }
  console.log(`\nraw results: ${out}`);
}

if (process.argv.includes('--child')) {
  await child(arg('--child', '{}'));
} else {
  main();
}
