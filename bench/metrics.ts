/**
 * The metric registry: every figure bench writes has a stable key `suite/case/metric`, and the
 * (suite, metric) pair names its unit, polarity, kind and default regression threshold here, in
 * one place. compare reads polarity and thresholds from it, docs/metrics.md is generated from it
 * (`node dist/bench/metrics-doc.js`, checked by a test), and results.json carries the samples.
 *
 * Kinds: time, rate, bytes and ratio are measured, noisy and compared statistically (Mann–Whitney
 * U test, and the change must exceed the threshold); count metrics that are deterministic for the
 * case (`exact: true`: pages reported by a scan, verified runs) are compared exactly — any change
 * in the bad direction beyond the (usually zero) threshold is a regression, no test needed.
 */

export type Kind = 'time' | 'rate' | 'count' | 'bytes' | 'ratio';
export type Polarity = 'lower' | 'higher';

export interface MetricDef {
  suite: string;
  metric: string;
  unit: string;
  polarity: Polarity;
  kind: Kind;
  /** Relative change (0.25 = 25 %) a significant regression must exceed to fail the gate. */
  threshold: number;
  /** Deterministic for its case: compared exactly (no statistical test). */
  exact?: boolean;
  /** Describes the machine the run was on, not the code under test: compared, never gated. */
  context?: boolean;
  description: string;
}

/** Row columns that identify a case (the configuration a figure was measured under), in order. */
export const CASE_COLUMNS = [
  'part',
  'case',
  'mode',
  'backend',
  'fault_around',
  'writer',
  'engine',
  'operation',
  'consistency_point',
  'flags',
  'handlers',
  'granularity',
  'thp',
  'region',
  'region_bytes',
  'buffer_bytes',
  'rate',
  'pages',
  'dirty_pct',
] as const;

// Default thresholds. The gate compares the *cost* change: new/base for lower-is-better figures,
// base/new for higher-is-better ones (so halving a rate is +100 %, like doubling a time), and a
// significant regression fails only beyond the threshold. By kind 30 %; figures that this 2-core
// shared VM moves far more between two runs of the same build get wider defaults, set from a
// first A/A set of `bench --ci` (5 pairs, results/2026-12-01-vm-ci-aa1): 1.5× the largest cost
// change of the metric in any case there, rounded up to 50 %, at least 30 %; a second A/A set
// (results/2026-12-01-vm-ci-aa2) checks them. Whole-snapshot figures swing with the other load
// and the page cache, tails (p99) with every preemption; the per-fault medians and the writers'
// throughput ratio stay within a few %. A dedicated runner should tighten (--threshold KEY=PCT).
const T = { time: 0.3, rate: 0.3, bytes: 0.3, ratio: 0.3, count: 0 } as const;
const BY_METRIC: Record<string, number> = {
  // ci A/A set 1, worst cost change → threshold
  fault_p99_us: 3, // +182 %
  pause_us: 11, // +706 %
  total_ms: 4, // +247 %
  throughput_MBps: 4.5, // +276 %
  extra_memory_peak_bytes: 7.5, // +471 %
  stall_p99_us: 6, // +377 %
  // the same kinds of figure in the full suites (no A/A set of their own yet)
  arm_pause_us: 11,
  arm_pause_quiesce_us: 11,
  arm_pause_expected_us: 11,
  arm_pause_backend_us: 11,
  arm_pause_resume_us: 11,
  final_pause_us: 11,
  quiesce_us: 11,
  plain_write_MBps: 4.5,
  uffd_snapshot_MBps: 4.5,
  buffer_peak_bytes: 7.5,
  throttled_ms: 4,
  stall_p999_us: 6,
  stall_max_us: 6,
  no_snapshot_p99_us: 6,
};

type Def = Omit<MetricDef, 'suite' | 'threshold'> & { threshold?: number };
const time = (metric: string, unit: string, description: string): Def => ({
  metric,
  unit,
  polarity: 'lower',
  kind: 'time',
  description,
});
const rate = (metric: string, unit: string, description: string): Def => ({
  metric,
  unit,
  polarity: 'higher',
  kind: 'rate',
  description,
});
const bytes = (metric: string, description: string): Def => ({
  metric,
  unit: 'B',
  polarity: 'lower',
  kind: 'bytes',
  description,
});
const ratio = (metric: string, polarity: Polarity, description: string): Def => ({
  metric,
  unit: '×',
  polarity,
  kind: 'ratio',
  description,
});
const count = (metric: string, polarity: Polarity, description: string, exact = false): Def => ({
  metric,
  unit: '1',
  polarity,
  kind: 'count',
  description,
  ...(exact ? { exact } : { threshold: 0.3 }),
});

const stall = [
  time('stall_p50_us', 'µs', 'median writer write stall during the snapshot'),
  time('stall_p99_us', 'µs', 'p99 writer write stall during the snapshot'),
  time('stall_max_us', 'µs', 'worst writer write stall during the snapshot'),
];
const throughputRatio = ratio(
  'writer_throughput_ratio',
  'higher',
  'writer writes/s during the snapshot ÷ before it (1 = unaffected)',
);

const perSuite: Record<string, Def[]> = {
  ci: [
    time('fault_us', 'µs', 'per-fault round trip (median of one trial), fresh process per trial'),
    time('fault_p99_us', 'µs', 'per-fault round trip p99 of one trial'),
    time('pause_us', 'µs', 'arm pause: writers stopped while tracking is armed'),
    time('total_ms', 'ms', 'snapshot wall time'),
    rate('throughput_MBps', 'MB/s', 'snapshot bandwidth to /dev/null'),
    throughputRatio,
    time('stall_p99_us', 'µs', 'p99 writer write stall during the snapshot'),
    bytes('extra_memory_peak_bytes', 'peak memory the snapshot cost beyond the region'),
    time('pass_ms', 'ms', 'one dirty-tracking collect pass (PAGEMAP_SCAN or clear-refs)'),
    count('reported_pages', 'higher', 'pages the scan reported (deterministic: the written ones)', true),
    count('verified_runs', 'higher', 'snapshots that verified, of the runs made', true),
  ],
  calibration: [
    rate('memcpy_MBps', 'MB/s', 'same-run calibration (repeated through the run): memcpy bandwidth'),
    time('page_fault_ns', 'ns', 'same-run calibration: one plain page fault'),
    rate('sink_MBps', 'MB/s', 'same-run calibration: sequential file write bandwidth'),
  ].map((d) => ({ ...d, context: true })),
  latency: [
    time('fault_us', 'µs', 'per-fault round trip (median of per-trial medians)'),
    time('fault_p99_us', 'µs', 'per-fault round trip p99 per trial'),
    ratio('ratio_to_mprotect', 'lower', "fault round trip ÷ mprotect's, paired by trial"),
    ratio('ratio_to_mprotect_same_drain', 'lower', "÷ mprotect's with the same drain wake-up"),
    ...stall,
    time('stall_p999_us', 'µs', 'p99.9 writer write stall during the snapshot'),
    count('faults', 'lower', 'write-protect faults taken'),
    time('total_ms', 'ms', 'snapshot wall time'),
    throughputRatio,
  ],
  vma: [count('vma_count_peak', 'lower', 'peak number of mappings of the process during the snapshot')],
  memory: [
    bytes('extra_memory_peak_bytes', 'peak memory the snapshot cost beyond the region'),
    bytes('buffer_peak_bytes', "peak bytes held in uffd's copy buffer"),
    time('throttled_ms', 'ms', 'time writers were throttled by a full buffer'),
    ...stall,
    throughputRatio,
  ],
  thp: [
    bytes('copied_bytes_per_write', 'bytes copied per page write'),
    ...stall,
    bytes('extra_memory_peak_bytes', 'peak memory the snapshot cost beyond the region'),
  ],
  consistency: [
    count('verified_runs', 'higher', 'runs whose image verified', true),
    count('failed_runs', 'lower', 'runs that failed', true),
    time('final_pause_us', 'µs', 'final stop-and-copy pause'),
  ],
  scale: [
    time('pause_us', 'µs', 'arm pause'),
    time('arm_pause_quiesce_us', 'µs', 'arm pause step: holding the writers'),
    time('arm_pause_expected_us', 'µs', 'arm pause step: the expected state (the logged pages reread)'),
    time('arm_pause_backend_us', 'µs', "arm pause step: the backend's arm"),
    time('arm_pause_resume_us', 'µs', 'arm pause step: releasing the writers'),
    time('total_ms', 'ms', 'snapshot wall time'),
    rate('throughput_MBps', 'MB/s', 'snapshot bandwidth'),
    throughputRatio,
    time('stall_p99_us', 'µs', 'p99 writer write stall during the snapshot'),
  ],
  bandwidth: [
    rate('plain_write_MBps', 'MB/s', 'plain sequential write of the region bytes to a file'),
    rate('uffd_snapshot_MBps', 'MB/s', 'uffd snapshot of the idle region to a file'),
  ],
  writers: [
    time('no_snapshot_p50_us', 'µs', 'median write latency with no snapshot'),
    time('no_snapshot_p99_us', 'µs', 'p99 write latency with no snapshot'),
    ...stall,
    rate('no_snapshot_writes_per_s', 'writes/s', 'writer rate with no snapshot'),
    rate('snapshot_writes_per_s', 'writes/s', 'writer rate during the snapshot'),
    throughputRatio,
    time('quiesce_us', 'µs', 'writer quiesce before the arm'),
    count('wp_faults', 'lower', 'write-protect faults taken'),
    time('total_ms', 'ms', 'snapshot wall time'),
    rate('throughput_MBps', 'MB/s', 'snapshot bandwidth to the scratch image (paced kvm guest)'),
    time('throttled_ms', 'ms', 'time writers were throttled by a full buffer (paced kvm guest)'),
  ],
  'fault-around': [
    throughputRatio,
    time('stall_p999_us', 'µs', 'p99.9 writer write stall during the snapshot'),
    rate('throughput_MBps', 'MB/s', 'snapshot bandwidth to the image (tmpfs, disk or /dev/null)'),
    bytes('extra_memory_peak_bytes', 'peak memory the snapshot cost beyond the region'),
    count('wp_faults', 'lower', 'write faults taken'),
    count(
      'pages_copied_before_write',
      'lower',
      'pages copied on the fault path (fault-around neighbours included)',
    ),
    count(
      'fault_around_dense_faults',
      'lower',
      'faults --fault-around auto sent whole: the region faulted above its bar, the writer went forward, or the extent was dense (they ask for the whole extent, within half the free copy buffer)',
    ),
    count(
      'fault_around_region_hot_faults',
      'lower',
      'of those, the faults the region rule sent (the region faulted faster than 50 times a second per extent still to be saved)',
    ),
    count(
      'fault_around_sequential_faults',
      'lower',
      'of those, the faults the sequential rule sent (the second fault in a row continuing one of two runs tracked in the extent)',
    ),
    rate(
      'baseline_writes_per_s',
      'writes/s',
      "the writers' rate before the snapshot (the ratio's denominator)",
    ),
  ],
  scan: [
    time('pass_ms', 'ms', 'one dirty-tracking collect pass'),
    count('reported_pages', 'higher', 'pages the collect reported (deterministic: the written ones)', true),
    time('pause_us', 'µs', 'softdirty final stop-and-copy pause, by write rate'),
    time('arm_pause_us', 'µs', 'softdirty arm pause, by write rate'),
    count('verified_runs', 'higher', 'softdirty runs whose image verified', true),
    time('op_us', 'µs', 'single-operation latency (tinybench)'),
  ],
};

export const METRICS: readonly MetricDef[] = Object.entries(perSuite).flatMap(([suite, defs]) =>
  defs.map((d) => ({ ...d, suite, threshold: d.threshold ?? BY_METRIC[d.metric] ?? T[d.kind] })),
);

const index = new Map(METRICS.map((m) => [`${m.suite}/${m.metric}`, m]));

export interface MetricKey {
  suite: string;
  case: string;
  metric: string;
}

/** `suite/case/metric`; the case may itself hold '/' (the metric and suite never do). */
export function parseKey(key: string): MetricKey | null {
  const first = key.indexOf('/');
  const last = key.lastIndexOf('/');
  if (first <= 0 || last <= first) return null;
  return { suite: key.slice(0, first), case: key.slice(first + 1, last), metric: key.slice(last + 1) };
}

export function metricKey(suite: string, caseName: string, metric: string): string {
  return `${suite}/${caseName}/${metric}`;
}

/** The registry entry of a key, or undefined for a figure the registry does not know. */
/** Whether a metric can fail the gate: registered, and about the code under test (not context). */
export function isGated(def: MetricDef | undefined): def is MetricDef {
  return def !== undefined && def.context !== true;
}

export function lookupMetric(key: string): MetricDef | undefined {
  const k = parseKey(key);
  return k ? index.get(`${k.suite}/${k.metric}`) : undefined;
}

export function metricDef(suite: string, metric: string): MetricDef | undefined {
  return index.get(`${suite}/${metric}`);
}

/** The case name of a suite row: its identifying columns as k=v, comma-separated. */
export function caseOfRow(row: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const c of CASE_COLUMNS) {
    const v = row[c];
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${c}=${String(v)}`);
  }
  return parts.length ? parts.join(',') : 'all';
}

const fmtThreshold = (m: MetricDef) =>
  m.exact
    ? m.threshold === 0
      ? 'exact'
      : `exact ±${m.threshold * 100}%`
    : `${Math.round(m.threshold * 100)}%`;

/** docs/metrics.md, generated from the registry. */
export function renderMetricsDoc(): string {
  const out = [
    '# Metrics',
    '',
    '<!-- generated from bench/metrics.ts by `node dist/bench/metrics-doc.js`; test/metrics.test.ts checks it -->',
    '',
    'Every figure `cowbench bench` writes to results.json has the key `suite/case/metric`; the case',
    'names the configuration (`backend=uffd,region_bytes=268435456`). `cowbench compare` reads the',
    'polarity and the default regression threshold from this table; `--threshold KEY=PCT` overrides',
    'one (KEY is a full key, `suite/metric`, or a metric name). Timings, rates, bytes and ratios are',
    'compared with the Mann–Whitney U test (p < 0.05); the gate fails when such a regression also',
    'changes the cost by more than the threshold (cost: new/base when lower is better, base/new when',
    'higher is better). `exact` counts are deterministic for their case and compared exactly.',
    'Thresholds above 30 % were set from A/A runs on a shared 2-core VM (see bench/metrics.ts):',
    'tighten them on a quiet runner.',
    '',
    '| suite | metric | unit | better | kind | threshold | what |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const m of METRICS)
    out.push(
      `| ${m.suite} | ${m.metric} | ${m.unit} | ${m.polarity} | ${m.kind} | ${fmtThreshold(m)} | ${m.description} |`,
    );
  return out.join('\n') + '\n';
}
