/**
 * Issue 23's matrix (target f): what each fault-around choice costs each kind of writer. Rows are
 * workloads (unthrottled random, sequential and hotset writers over 256 MiB; 65,536 random
 * writes/s over 1 GiB and over a filled 16 GiB region; the paced KVM guest), each with the image
 * on tmpfs, rows 1 and 4 also on disk; columns are uffd with --fault-around K = 0, 16, 64, 512 and
 * auto, and forkcow. Every cell of every round runs in one shuffled order (a fresh child per run),
 * so a slow minute of the machine spreads over all columns instead of landing on one. Per cell:
 * the writers' throughput ratio, stall p99.9, snapshot MB/s, extra memory (median, bootstrap 95%
 * interval, min…max; every raw sample in results.json), and the fault path's counts.
 */
import { rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytes } from '../../src/format.js';
import { native } from '../../src/native.js';
import type { RunResult } from '../../src/result.js';
import {
  GiB,
  MiB,
  runSnapshotChild,
  spread,
  summarize,
  type BenchContext,
  type ClaimVerdict,
  type Row,
  type RunRequest,
  type Suite,
} from '../runner.js';
import { seededRandom, shuffleInPlace } from '../stats.js';
import { judgeMedian, judgeRatio, medianCI, smallerThanNamed } from '../verdicts.js';

/** The rate for the paced rows: QEMU's background-snapshot figures were taken at it. */
const PACED_RATE = 65536;

type SinkKind = 'tmpfs' | 'disk' | 'null';

interface Workload {
  row: number;
  what: string;
  /** For the chart's axis. */
  short: string;
  /** The size the issue names, and the one --quick measures. */
  sizeBytes: number;
  quickBytes: number;
  request: RunRequest;
  sinks: SinkKind[];
  /** Paced rows: the default must also stay within 5% of K=0. */
  paced: boolean;
  /** The writer kind this row needs beyond cpu (probed; the row is skipped without it). */
  needsWriter?: string;
}

const WORKLOADS: Workload[] = [
  {
    row: 1,
    what: '2 unthrottled random writers',
    short: 'unthrottled random',
    sizeBytes: 256 * MiB,
    quickBytes: 64 * MiB,
    request: { writerKinds: ['cpu', 'cpu'], pattern: 'random', ratePagesPerSec: 0 },
    sinks: ['tmpfs', 'disk'],
    paced: false,
  },
  {
    row: 2,
    what: '2 unthrottled sequential writers',
    short: 'unthrottled sequential',
    sizeBytes: 256 * MiB,
    quickBytes: 64 * MiB,
    request: { writerKinds: ['cpu', 'cpu'], pattern: 'sequential', ratePagesPerSec: 0 },
    sinks: ['tmpfs'],
    paced: false,
  },
  {
    row: 3,
    what: '2 unthrottled hotset writers',
    short: 'unthrottled hotset',
    sizeBytes: 256 * MiB,
    quickBytes: 64 * MiB,
    request: { writerKinds: ['cpu', 'cpu'], pattern: 'hotset', ratePagesPerSec: 0 },
    sinks: ['tmpfs'],
    paced: false,
  },
  {
    row: 4,
    what: `${PACED_RATE} random writes/s`,
    short: '65,536 random/s',
    sizeBytes: GiB,
    quickBytes: 256 * MiB,
    request: { writerKinds: ['cpu', 'cpu'], pattern: 'random', ratePagesPerSec: PACED_RATE },
    sinks: ['tmpfs', 'disk'],
    paced: true,
  },
  {
    row: 5,
    what: `filled, ${PACED_RATE} random writes/s`,
    short: 'filled, 65,536 random/s',
    sizeBytes: 16 * GiB,
    quickBytes: 2 * GiB,
    request: { writerKinds: ['cpu', 'cpu'], pattern: 'random', ratePagesPerSec: PACED_RATE, fill: 'all' },
    sinks: ['tmpfs'],
    paced: true,
  },
  {
    row: 6,
    what: `paced KVM guest, ${PACED_RATE} writes/s, 4k pages`,
    short: 'KVM guest, 65,536/s',
    sizeBytes: GiB,
    quickBytes: 256 * MiB,
    request: { writerKinds: ['kvm'], ratePagesPerSec: PACED_RATE },
    sinks: ['tmpfs'],
    paced: true,
    needsWriter: 'kvm',
  },
];

interface Column {
  label: string;
  backend: string;
  /** uffd's --fault-around; null for a backend without it. */
  faultAround: number | 'auto' | null;
}

/** The columns: fixed K, the default, and fork. */
const COLUMNS: Column[] = [
  ...[0, 16, 64, 512].map((k) => ({ label: `K=${k}`, backend: 'uffd', faultAround: k })),
  { label: 'auto', backend: 'uffd', faultAround: 'auto' as const },
  { label: 'forkcow', backend: 'forkcow', faultAround: null },
];
const FIXED_K = COLUMNS.filter((c) => typeof c.faultAround === 'number').map((c) => c.label);

const TMPFS_MAGIC = 0x01021994;
const isTmpfs = (dir: string) => {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
};

/** Where a sink kind puts the image, or why it cannot here; a region too big to sit beside its
 * tmpfs image in memory writes to /dev/null instead (unverified, like the issue's own 16 GiB runs). */
function sinkFor(
  ctx: BenchContext,
  kind: SinkKind,
  sizeBytes: number,
): { dir: string | null; label: string } | { skip: string } {
  if (kind === 'null') return { dir: null, label: '/dev/null' };
  if (kind === 'disk') {
    if (isTmpfs(ctx.scratchDir))
      return { skip: `the results directory ${ctx.scratchDir} is on tmpfs, not a disk` };
    return { dir: ctx.scratchDir, label: 'disk' };
  }
  if (!isTmpfs('/dev/shm')) return { skip: '/dev/shm is not a tmpfs' };
  // The region, its tmpfs image and the rest of the machine: with less than 10% of RAM spare the
  // image goes to /dev/null.
  if (2 * sizeBytes > 0.9 * os.totalmem())
    return {
      dir: null,
      label: `/dev/null (a ${sizeBytes / GiB} GiB tmpfs image beside the region exceeds 90% of ${Math.round(os.totalmem() / GiB)} GiB RAM)`,
    };
  return { dir: '/dev/shm', label: 'tmpfs' };
}

interface Cell {
  part: string;
  workload: Workload;
  sink: string;
  sinkDir: string | null;
  sizeBytes: number;
  column: Column;
}

/**
 * The figures of each run, with their digits in the table; `ci`: the row also gets the 95%
 * bootstrap interval of its median (`_lo`, `_hi`). The one list: samples, rows and the CSV follow it.
 */
const FIGURES = [
  {
    key: 'writer_throughput_ratio',
    digits: 3,
    ci: true,
    of: (r: RunResult) => r.writers.throughput_ratio ?? NaN,
  },
  { key: 'stall_p999_us', digits: 1, ci: true, of: (r: RunResult) => r.write_stall.p999_us },
  { key: 'throughput_MBps', digits: 0, ci: true, of: (r: RunResult) => r.throughput_MBps },
  { key: 'extra_memory_peak_bytes', digits: 0, ci: false, of: (r: RunResult) => r.extra_memory_peak_bytes },
  { key: 'wp_faults', digits: 0, ci: false, of: (r: RunResult) => r.wp_faults },
  {
    key: 'pages_copied_before_write',
    digits: 0,
    ci: false,
    of: (r: RunResult) => r.pages_copied_before_write,
  },
  {
    key: 'fault_around_dense_faults',
    digits: 0,
    ci: false,
    of: (r: RunResult) => r.backend_metrics['fault_around_dense_faults'],
  },
  {
    key: 'fault_around_region_hot_faults',
    digits: 0,
    ci: false,
    of: (r: RunResult) => r.backend_metrics['fault_around_region_hot_faults'],
  },
  {
    key: 'fault_around_sequential_faults',
    digits: 0,
    ci: false,
    of: (r: RunResult) => r.backend_metrics['fault_around_sequential_faults'],
  },
  {
    key: 'baseline_writes_per_s',
    digits: 0,
    ci: false,
    of: (r: RunResult) => r.writers.baseline_writes_per_s,
  },
] as const;
type FigureKey = (typeof FIGURES)[number]['key'];

/** One run's figures, in the order they were measured (kept whole in results.json's raw). */
type Sample = {
  round: number;
  part: string;
  column: string;
  ok: boolean;
  error?: string;
  loadavg_1m: number;
  verified?: boolean | null;
} & Partial<Record<FigureKey, number>>;

function sampleOf(round: number, cell: Cell, r: RunResult): Sample {
  const sample: Sample = {
    round,
    part: cell.part,
    column: cell.column.label,
    ok: true,
    loadavg_1m: os.loadavg()[0]!,
    verified: r.verification.skipped === null ? r.verified : null,
  };
  for (const f of FIGURES) {
    const x = f.of(r);
    if (x !== undefined) sample[f.key] = x;
  }
  return sample;
}

/** The finite values of one figure over a cell's successful runs. */
const valuesOf = (samples: Sample[], key: FigureKey) =>
  samples.map((s) => s[key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

const partOf = (w: Workload, sizeBytes: number, sink: string) =>
  `row ${w.row} (${sink.startsWith('/dev/null') ? '/dev/null' : sink}): ${bytes(sizeBytes)}, ${w.what}`;

function plannedCells(ctx: Pick<BenchContext, 'quick' | 'backends'>): number {
  const columns = COLUMNS.filter((c) => ctx.backends.includes(c.backend)).length;
  return WORKLOADS.reduce((n, w) => n + w.sinks.length * columns, 0);
}

export const faultAroundSuite: Suite = {
  name: 'fault-around',
  claim: 'target f',
  description:
    'issue 23 matrix: rows 1–6 (unthrottled random, sequential, hotset over 256 MiB; 65,536 random writes/s over 1 GiB and a filled 16 GiB; the paced KVM guest) × uffd --fault-around 0/16/64/512/auto and forkcow, one shuffled order per round',
  plannedRuns: (c) => plannedCells(c) * c.repeat,
  async run(ctx) {
    const rows: Row[] = [];
    const findings: string[] = [];
    const verdicts: ClaimVerdict[] = [];
    const columns = COLUMNS.filter((c) => ctx.backends.includes(c.backend));
    const missing = COLUMNS.filter((c) => !ctx.backends.includes(c.backend)).map((c) => c.label);
    if (missing.length) findings.push(`columns not run (backend not usable here): ${missing.join(', ')}`);

    // The cells, and the rows that cannot run here with their reason.
    const cells: Cell[] = [];
    for (const w of WORKLOADS) {
      const sizeBytes = ctx.quick ? w.quickBytes : w.sizeBytes;
      const writer = w.needsWriter ? await native.probeWriter(w.needsWriter) : { ok: true };
      for (const kind of w.sinks) {
        const sink = sinkFor(ctx, kind, sizeBytes);
        const part = partOf(w, sizeBytes, 'skip' in sink ? kind : sink.label);
        if ('skip' in sink || !writer.ok) {
          const reason = !writer.ok
            ? `the ${w.needsWriter} writer cannot run here: ${writer.detail ?? 'unsupported'}`
            : 'skip' in sink
              ? sink.skip
              : '';
          rows.push({ part, row: w.row, sink: kind, skipped: reason });
          for (let i = 0; i < columns.length * ctx.repeat; i++) ctx.tick(`${part} skipped`);
          continue;
        }
        if (sink.dir === null) findings.push(`${part}: image to ${sink.label}, so not verified`);
        for (const column of columns)
          cells.push({ part, workload: w, sink: sink.label, sinkDir: sink.dir, sizeBytes, column });
      }
    }

    // Rounds: every cell once per round, in a fresh shuffled order (seeded, recorded).
    const seed = Date.now() % 2 ** 31;
    const rand = seededRandom(seed);
    const samples: Sample[] = [];
    /** Each cell's successful runs' samples, and its failures. */
    const okOf = new Map<Cell, Sample[]>(cells.map((c) => [c, []]));
    const failures = new Map<Cell, string[]>(cells.map((c) => [c, []]));
    for (let round = 1; round <= ctx.repeat; round++) {
      for (const cell of shuffleInPlace([...cells], rand)) {
        const image = cell.sinkDir
          ? path.join(cell.sinkDir, `cowbench-fault-around-${process.pid}.img`)
          : '/dev/null';
        const request: RunRequest = {
          ...cell.workload.request,
          backend: cell.column.backend,
          sizeBytes: cell.sizeBytes,
          out: image,
          force: image !== '/dev/null',
          ...(cell.column.faultAround !== null ? { faultAroundPages: cell.column.faultAround } : {}),
        };
        const o = await runSnapshotChild(ctx, request, `${cell.part} ${cell.column.label} #${round}`);
        if (cell.sinkDir) {
          rmSync(image, { force: true });
          rmSync(`${image}.json`, { force: true });
        }
        if (o.ok && o.result) {
          const sample = sampleOf(round, cell, o.result);
          okOf.get(cell)!.push(sample);
          samples.push(sample);
        } else {
          failures.get(cell)!.push(o.error ?? 'failed');
          samples.push({
            round,
            part: cell.part,
            column: cell.column.label,
            ok: false,
            error: o.error ?? 'failed',
            loadavg_1m: os.loadavg()[0]!,
          });
        }
      }
    }

    // One table row per cell.
    const rowOf = new Map<Cell, Row>();
    for (const cell of cells) {
      const sampled = okOf.get(cell)!;
      const row: Row = {
        part: cell.part,
        row: cell.workload.row,
        sink: cell.sink,
        region_bytes: cell.sizeBytes,
        workload: cell.workload.short,
        rate: cell.workload.request.ratePagesPerSec ? String(cell.workload.request.ratePagesPerSec) : 'max',
        backend: cell.column.backend,
        fault_around: cell.column.faultAround === null ? null : String(cell.column.faultAround),
        column: cell.column.label,
      };
      for (const { key, digits, ci } of FIGURES) {
        const xs = valuesOf(sampled, key);
        if (xs.length === 0) continue;
        Object.assign(row, spread(key, summarize(xs), digits));
        if (ci) {
          const interval = medianCI(xs);
          row[`${key}_lo`] = Number(interval.lo.toFixed(digits));
          row[`${key}_hi`] = Number(interval.hi.toFixed(digits));
        }
      }
      row['verified_runs'] = sampled.filter((s) => s.verified === true).length;
      row['failures'] = failures.get(cell)!.length;
      row['failure'] = failures.get(cell)![0] ?? null;
      rows.push(row);
      rowOf.set(cell, row);
    }

    // Per row: the targets for the default, judged by bootstrap intervals.
    const parts = [...new Set(cells.map((c) => c.part))];
    for (const part of parts) {
      const inPart = cells.filter((c) => c.part === part);
      const w = inPart[0]!.workload;
      // Each column's writer ratios in this row, gathered once.
      const byLabel = new Map(
        inPart.map((c) => [c.column.label, valuesOf(okOf.get(c)!, 'writer_throughput_ratio')]),
      );
      const ratios = (label: string) => byLabel.get(label) ?? [];
      const named = smallerThanNamed(inPart[0]!.sizeBytes, w.sizeBytes);
      const auto = ratios('auto');
      const bestK = FIXED_K.map((k) => ({ k, xs: ratios(k) }))
        .filter((c) => c.xs.length > 0)
        .map((c) => ({ k: c.k, median: summarize(c.xs).median }))
        .sort((a, b) => b.median - a.median)[0]?.k;
      if (bestK)
        verdicts.push(
          judgeRatio({
            claim: 'target f',
            what: `auto ÷ best fixed K (${bestK}, by median) writer ratio`,
            den: ratios(bestK),
            num: auto,
            bound: 0.9,
            good: 'above',
            kind: 'target',
            smallerThanNamed: named,
            context: part,
          }),
        );
      if (w.paced && ratios('K=0').length)
        verdicts.push(
          judgeRatio({
            claim: 'target f',
            what: 'auto ÷ K=0 writer ratio',
            den: ratios('K=0'),
            num: auto,
            bound: 0.95,
            good: 'above',
            kind: 'target',
            smallerThanNamed: named,
            context: part,
          }),
        );
      if (w.row === 1 && part.includes('(tmpfs)') && ratios('forkcow').length)
        verdicts.push(
          judgeRatio({
            claim: 'target f',
            what: 'auto ÷ forkcow writer ratio',
            den: ratios('forkcow'),
            num: auto,
            bound: 2,
            good: 'above',
            kind: 'target',
            smallerThanNamed: named,
            context: part,
          }),
        );
      if (w.row === 4 || w.row === 5)
        verdicts.push(
          judgeMedian({
            claim: 'target f',
            what: "auto's writer throughput ratio",
            xs: auto,
            bound: 0.9,
            good: 'above',
            smallerThanNamed: named,
            context: part,
          }),
        );
      const fmt = (label: string) => {
        const row = rowOf.get(inPart.find((c) => c.column.label === label)!);
        if (!row || row['writer_throughput_ratio_median'] === undefined) return `${label} n/a`;
        return `${label} ${String(row['writer_throughput_ratio_median'])} [${String(row['writer_throughput_ratio_lo'])}–${String(row['writer_throughput_ratio_hi'])}]`;
      };
      findings.push(
        `${part}: writer ratio median [95% CI], n=${auto.length}: best fixed ${bestK ? fmt(bestK) : 'n/a'}; ${fmt('auto')}; ${fmt('forkcow')}`,
      );
    }
    findings.push(
      `run order: ${ctx.repeat} rounds of ${cells.length} cells, each round shuffled (seed ${seed})`,
    );
    return { rows, findings, verdicts, raw: { seed, samples } };
  },
};
