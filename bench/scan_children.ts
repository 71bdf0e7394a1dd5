/**
 * The scan suite's children (bench/suites/scan.ts spawns them through the hidden `scan-trial` and
 * `scan-micro` commands), beside the latency suite's (fault_latency.ts): each runs in a fresh
 * process and prints JSON.
 */
import { Bench } from 'tinybench';
import { CowbenchError } from '../src/errors.js';
import { native, type NativeScanMicro } from '../src/native.js';

/** Collects timed per child, after one warm-up collect; the child's figure is their median. */
export const COLLECTS_PER_CHILD = 3;
/** The micro-benchmarks' region: 512 pages, one page table. */
const MICRO_PAGES = 512;
const MICRO_TOUCHED = 16;

export type Engine = 'wp-async' | 'clear-refs' | 'clear-refs-unchecked';

export interface ScanTrialChildOptions {
  engine: Engine;
  bytes: number;
  fraction: number;
  seed: number;
}

/** `cowbench scan-trial`: one engine × size × fraction; JSON of every collect. */
export async function scanTrialChild(o: ScanTrialChildOptions): Promise<string> {
  const reps = await native.softdirty
    .scanTrial({
      engine: o.engine,
      pages: Math.floor(o.bytes / 4096),
      dirty: 'fraction',
      fraction: o.fraction,
      seed: o.seed,
      reps: COLLECTS_PER_CHILD + 1,
    })
    .catch((e: unknown) => {
      throw CowbenchError.fromNative(e);
    });
  return JSON.stringify({ ...o, reps }) + '\n';
}

export interface MicroFigure {
  operation: string;
  region_bytes: number;
  /** Latency per operation, µs. */
  p50_us: number;
  p99_us: number;
  mean_us: number;
  min_us: number;
  max_us: number;
  rme_pct: number;
  samples: number;
}

/** `cowbench scan-micro`: tinybench over single operations; JSON of the figures. */
export function scanMicroChild(timeMs: number): string {
  let micro: NativeScanMicro;
  try {
    micro = new native.softdirty.ScanMicro({ pages: MICRO_PAGES });
  } catch (e) {
    throw CowbenchError.fromNative(e);
  }
  const bench = new Bench({
    time: timeMs,
    warmupTime: Math.min(100, timeMs),
    timestampProvider: 'hrtimeNow',
    retainSamples: false,
    throws: true,
  });
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) throw new CowbenchError('EVERIFY', `${what}: reported ${got} pages, expected ${want}`);
  };
  const regionBytes = MICRO_PAGES * 4096;
  const tasks: { name: string; bytes: number }[] = [
    { name: 'native call, no syscall (baseline)', bytes: 0 },
    { name: 'UFFDIO_WRITEPROTECT protect+unprotect 4 KiB', bytes: 4096 },
    { name: 'PAGEMAP_SCAN 2 MiB, 0 pages written', bytes: regionBytes },
    { name: `PAGEMAP_SCAN 2 MiB, ${MICRO_TOUCHED} pages written`, bytes: regionBytes },
    { name: 'clear-refs pass 2 MiB (pagemap read + clear_refs)', bytes: regionBytes },
  ];
  let page = 0;
  bench.add(tasks[0]!.name, () => micro.touch(0));
  bench.add(tasks[1]!.name, () => micro.writeProtectPair(page++ % MICRO_PAGES), {
    // The pair leaves its pages writable; the scans below start from a clean (protected) region.
    afterAll: () => void micro.pagemapScan(),
  });
  bench.add(tasks[2]!.name, () => expect('clean scan', micro.pagemapScan(), 0));
  bench.add(tasks[3]!.name, () => expect('scan', micro.pagemapScan(), MICRO_TOUCHED), {
    beforeEach: () => micro.touch(MICRO_TOUCHED),
  });
  bench.add(tasks[4]!.name, () => micro.clearRefsPass());
  try {
    bench.runSync();
  } finally {
    micro.close();
  }
  const figures: MicroFigure[] = bench.tasks.map((t, i) => {
    const r = t.result;
    if (r.state !== 'completed')
      throw new CowbenchError('EINTERNAL', `micro-benchmark '${t.name}' did not complete (${r.state})`);
    const us = (ms: number) => Number((ms * 1000).toFixed(3));
    return {
      operation: t.name,
      region_bytes: tasks[i]!.bytes,
      p50_us: us(r.latency.p50),
      p99_us: us(r.latency.p99),
      mean_us: us(r.latency.mean),
      min_us: us(r.latency.min),
      max_us: us(r.latency.max),
      rme_pct: Number(r.latency.rme.toFixed(2)),
      samples: r.latency.samplesCount,
    };
  });
  return JSON.stringify(figures) + '\n';
}
