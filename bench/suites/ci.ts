/**
 * `cowbench bench --ci`: a fixed preset for CI runners, a few minutes on a 2-core machine, with
 * the headline figure of every backend and enough samples per timing (8 by default) for the
 * Mann–Whitney U test of `cowbench compare` to reach p < 0.05 (with 8 vs 8 the smallest
 * two-sided exact p is 0.00016; 5 vs 5 could only reach 0.0079).
 *
 * Per trial, interleaved so that machine drift hits every case alike:
 *  - fault round trip per backend path (mprotect SIGSEGV, uffd thread and SIGBUS delivery,
 *    forkcow's kernel COW): one `fault-latency` child over 4096 pages;
 *  - one whole snapshot per backend of a 64 MiB region under one writer at 65,536 random page
 *    writes/s into a scratch image (verified): arm pause, writer throughput ratio, stall p99,
 *    extra memory, total time, bandwidth; verified runs counted (exact);
 *  - uffd snapshot bandwidth to /dev/null (the copy path without the disk);
 *  - one dirty-tracking collect over 256 MiB with 1 % written (PAGEMAP_SCAN and clear-refs):
 *    the pass time, and the pages reported (deterministic for the fixed seed: compared exactly).
 *
 * Test-only knob (the A/B check of the gate): COWBENCH_CI_SLOW_UFFD_SINK_US=N adds N µs per
 * page to the uffd thread-delivery trials' sink, which fills their copy buffer and slows their
 * fault round trip; nothing else changes.
 */
import {
  MiB,
  repeatRuns,
  runCowbenchChild,
  scratch,
  spread,
  summarize,
  type Row,
  type Suite,
} from '../runner.js';
import type { BenchContext } from '../runner.js';
import type { FaultLatencyTrial } from '../fault_latency.js';
import type { ScanTrialRep } from '../../src/native.js';
import type { RunResult } from '../../src/result.js';
import type { RunRequest } from '../runner.js';
import { flagsOf } from '../../src/options.js';
import type { RunOptions } from '../../src/run-options.js';

export const CI_REPEAT = 10;
const FAULT_PAGES = 4096;
// 64 MiB: 16,384 pages, so mprotect's per-page splits (at most ~2 mappings a page) stay below
// the default vm.max_map_count (65,530) however far the copier falls behind on a loaded runner;
// at 128 MiB one run in 100 of an A/A set hit ENOMEM there (C1's failure, not a measurement).
const RUN_BYTES = 64 * MiB;
const SCAN_BYTES = 256 * MiB;

interface FaultCase {
  mode: string;
  backend: string;
  /** The trial's options beyond the backend (its flags: flagsOf). */
  options: RunRequest;
}
const faultCases: FaultCase[] = [
  { mode: 'sigsegv', backend: 'mprotect', options: {} },
  { mode: 'thread', backend: 'uffd', options: {} },
  { mode: 'sigbus', backend: 'uffd', options: { delivery: 'sigbus' } },
  { mode: 'kernel-cow', backend: 'forkcow', options: {} },
];
const scanEngines = ['wp-async', 'clear-refs'] as const;

export function slowSinkUs(): number {
  const v = Number(process.env['COWBENCH_CI_SLOW_UFFD_SINK_US'] ?? 0);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

async function faultTrial(ctx: BenchContext, c: FaultCase, label: string): Promise<FaultLatencyTrial | null> {
  const delay = c.backend === 'uffd' && c.mode === 'thread' ? slowSinkUs() : 0;
  const r = await runCowbenchChild(
    [
      'fault-latency',
      '--json',
      '--backend',
      c.backend,
      '--pages',
      String(FAULT_PAGES),
      ...flagsOf(c.options as Partial<RunOptions>),
      ...(delay ? ['--inject-sink-delay-us', String(delay)] : []),
    ],
    120_000,
  );
  ctx.tick(label);
  if (r.code !== 0) {
    ctx.log(`  ${label}: failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return null;
  }
  const t = JSON.parse(r.stdout) as FaultLatencyTrial;
  if (!t.fault_us) {
    ctx.log(`  ${label}: skipped: ${t.skipped ?? 'no figure'}`);
    return null;
  }
  return t;
}

async function scanTrial(
  ctx: BenchContext,
  engine: string,
  label: string,
): Promise<ScanTrialRep[] | 'unsupported' | null> {
  const r = await runCowbenchChild([
    'scan-trial',
    '--engine',
    engine,
    '--size',
    String(SCAN_BYTES),
    '--fraction',
    '0.01',
    '--seed',
    '1',
  ]);
  ctx.tick(label);
  if (r.code !== 0) {
    ctx.log(`  ${label}: failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    // Exit 2: the kernel lacks what the engine needs; the same for every later trial.
    return r.code === 2 ? 'unsupported' : null;
  }
  const reps = (JSON.parse(r.stdout) as { reps: ScanTrialRep[] }).reps.slice(1); // first: warm-up
  if (!reps.every((x) => x.missed + x.duplicates + x.spurious === 0)) {
    ctx.log(`  ${label}: reported pages differ from the written ones: not a data point`);
    return null;
  }
  return reps;
}

const med = (xs: number[]) => summarize(xs).median;

export const ciSuite: Suite = {
  name: 'ci',
  claim: 'CI preset',
  description:
    'fixed CI preset: fault round trip per backend path, one 64 MiB snapshot per backend at 65,536 writes/s, uffd to /dev/null, scan pass cost; 10 trials, interleaved',
  plannedRuns: (c) =>
    c.repeat *
    (faultCases.filter((f) => c.backends.includes(f.backend)).length +
      c.backends.length +
      (c.backends.includes('uffd') ? 1 : 0) +
      (c.backends.includes('softdirty') ? scanEngines.length : 0)),
  async run(ctx) {
    const faults = faultCases.filter((f) => ctx.backends.includes(f.backend));
    const faultUs = new Map<string, number[]>(faults.map((f) => [f.mode, []]));
    const faultP99 = new Map<string, number[]>(faults.map((f) => [f.mode, []]));
    const runs = new Map<string, { results: RunResult[]; failures: string[] }>(
      ctx.backends.map((b) => [b, { results: [], failures: [] }]),
    );
    const devnull = { results: [] as RunResult[], failures: [] as string[] };
    let engines: string[] = ctx.backends.includes('softdirty') ? [...scanEngines] : [];
    const unsupported: string[] = [];
    const pass = new Map<string, number[]>(engines.map((e) => [e, []]));
    const reported = new Map<string, number[]>(engines.map((e) => [e, []]));
    const image = scratch(ctx, 'ci.img');
    const one = { ...ctx, repeat: 1 };
    const runFlags = (backend: string, out: string): RunRequest => ({
      backend,
      sizeBytes: RUN_BYTES,
      writerKinds: ['cpu'],
      ratePagesPerSec: 65536,
      baselineMs: 200,
      out,
      ...(out === '/dev/null' ? {} : { force: true }),
    });
    for (let t = 0; t < ctx.repeat; t++) {
      for (const f of faults) {
        const trial = await faultTrial(ctx, f, `fault ${f.backend} ${f.mode} #${t + 1}`);
        if (trial?.fault_us) {
          faultUs.get(f.mode)!.push(trial.fault_us.median);
          faultP99.get(f.mode)!.push(trial.fault_us.p99);
        }
      }
      for (const b of ctx.backends) {
        const r = await repeatRuns(one, runFlags(b, image), `snapshot ${b} #${t + 1}`);
        runs.get(b)!.results.push(...r.results);
        runs.get(b)!.failures.push(...r.failures);
      }
      if (ctx.backends.includes('uffd')) {
        const r = await repeatRuns(one, runFlags('uffd', '/dev/null'), `snapshot uffd → /dev/null #${t + 1}`);
        devnull.results.push(...r.results);
        devnull.failures.push(...r.failures);
      }
      for (const e of engines) {
        const reps = await scanTrial(ctx, e, `scan ${e} #${t + 1}`);
        if (reps === 'unsupported') unsupported.push(e);
        else if (reps) {
          pass.get(e)!.push(med(reps.map((x) => x.scan_ns / 1e6)));
          reported.get(e)!.push(med(reps.map((x) => x.reported)));
        }
      }
      engines = engines.filter((e) => !unsupported.includes(e));
    }
    const rows: Row[] = [];
    for (const f of faults)
      rows.push({
        part: 'fault',
        mode: f.mode,
        backend: f.backend,
        pages: FAULT_PAGES,
        ...spread('fault_us', summarize(faultUs.get(f.mode)!), 3),
        ...spread('fault_p99_us', summarize(faultP99.get(f.mode)!), 3),
      });
    const snapshotRow = (
      backend: string,
      sink: string,
      r: { results: RunResult[]; failures: string[] },
    ): Row => ({
      part: 'snapshot',
      mode: sink,
      backend,
      region_bytes: RUN_BYTES,
      rate: '65536',
      ...spread('pause_us', summarize(r.results.map((x) => x.pause_us)), 1),
      ...spread('total_ms', summarize(r.results.map((x) => x.total_ms)), 1),
      ...spread('throughput_MBps', summarize(r.results.map((x) => x.throughput_MBps)), 1),
      ...spread(
        'writer_throughput_ratio',
        summarize(r.results.map((x) => x.writers.throughput_ratio ?? NaN)),
        3,
      ),
      ...spread('stall_p99_us', summarize(r.results.map((x) => x.write_stall.p99_us)), 2),
      ...spread('extra_memory_peak_bytes', summarize(r.results.map((x) => x.extra_memory_peak_bytes)), 0),
      ...(sink === 'file' ? { verified_runs: r.results.filter((x) => x.verified).length } : {}),
      failures: r.failures.length,
      failure: r.failures[0] ?? null,
    });
    for (const b of ctx.backends) rows.push(snapshotRow(b, 'file', runs.get(b)!));
    if (ctx.backends.includes('uffd')) rows.push(snapshotRow('uffd', 'devnull', devnull));
    for (const e of [...engines, ...unsupported])
      rows.push({
        part: 'scan',
        engine: e,
        region_bytes: SCAN_BYTES,
        dirty_pct: 1,
        ...spread('pass_ms', summarize(pass.get(e)!), 3),
        ...spread('reported_pages', summarize(reported.get(e)!), 0),
      });
    const slow = slowSinkUs();
    return {
      rows,
      findings: [
        ...(slow
          ? [
              `test-only knob set: COWBENCH_CI_SLOW_UFFD_SINK_US=${slow} (uffd thread fault trials' sink slowed)`,
            ]
          : []),
        ...unsupported.map((e) => `scan engine ${e}: not supported by this kernel; no figure`),
      ],
    };
  },
};
