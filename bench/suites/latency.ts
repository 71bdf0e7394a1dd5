/**
 * C3, C8 and performance target (c).
 *
 * Part 1, per-fault round trip (C3, target (c): uffd <= 1.5x mprotect): each trial of each mode
 * is one `cowbench fault-latency --json` child (a fresh process: signal handlers, uffd
 * registrations and fork are process-wide) timing one first write per page through the
 * backend's real fault path (bench/fault_latency.ts). Modes are interleaved across trials so
 * machine noise hits them alike; a figure is the median of the per-trial medians with min–max,
 * and ratios to mprotect are paired by trial. The uffd handler knobs (--handler-wait,
 * --handler-cpu, --drain-wake, --handler-batch) each get a row, so what each buys comes from the
 * same run; mprotect and SIGBUS delivery also get a --drain-wake batch row, for a like-for-like
 * ratio.
 *
 * Part 2, whole snapshots under unthrottled writers (C8): write stall per backend, uffd with
 * 1/2/4 handler threads, and uffd with the fault-path knobs.
 */
import { flagsOf } from '../../src/options.js';
import { optionOwners, type BackendName } from '../../src/registry.js';
import type { RunOptions } from '../../src/run-options.js';
import {
  runCowbenchChild,
  MiB,
  repeatRuns,
  scratch,
  spread,
  summarize,
  type Row,
  type Suite,
} from '../runner.js';
import type { BenchContext, ClaimVerdict } from '../runner.js';
import type { FaultLatencyTrial } from '../fault_latency.js';
import { judgeRatio, samplesOf } from '../verdicts.js';
import { traceOf, type RunTrace } from '../charts/traces.js';

/** Options of a mode, as a run or a fault-latency trial takes them (its flags: flagsOf). */
type ModeOptions = Omit<Partial<RunOptions>, 'backend'>;

interface FaultMode {
  label: string;
  backend: 'uffd' | 'mprotect' | 'forkcow';
  options: ModeOptions;
  /** Label of the mprotect mode with the same drain wake-up policy, for like-for-like ratios. */
  sameDrainBaseline?: string;
}

const MPROTECT = 'mprotect (SIGSEGV)';
/** Options with an explicit drain wake-up (early unless the mode names one), for backends that have it. */
export const withDrain = (backend: BackendName, options: ModeOptions): ModeOptions =>
  options.drainWake !== undefined || !optionOwners('drainWake').includes(backend)
    ? options
    : { ...options, drainWake: 'early' };
const MPROTECT_BATCH = 'mprotect (SIGSEGV), drain-wake batch';

export const faultModes: FaultMode[] = [
  { label: MPROTECT, backend: 'mprotect', options: {} },
  { label: MPROTECT_BATCH, backend: 'mprotect', options: { drainWake: 'batch' } },
  { label: 'uffd SIGBUS', backend: 'uffd', options: { delivery: 'sigbus' }, sameDrainBaseline: MPROTECT },
  {
    label: 'uffd SIGBUS, drain-wake batch',
    backend: 'uffd',
    options: { delivery: 'sigbus', drainWake: 'batch' },
    sameDrainBaseline: MPROTECT_BATCH,
  },
  { label: 'uffd thread (poll, any cpu)', backend: 'uffd', options: {}, sameDrainBaseline: MPROTECT },
  {
    label: 'uffd thread spin',
    backend: 'uffd',
    options: { handlerWait: 'spin' },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread, handler-cpu same',
    backend: 'uffd',
    options: { handlerCpu: 'same' },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread, handler-cpu other',
    backend: 'uffd',
    options: { handlerCpu: 'other' },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread spin, handler-cpu other',
    backend: 'uffd',
    options: { handlerWait: 'spin', handlerCpu: 'other' },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread, handler-batch',
    backend: 'uffd',
    options: { handlerBatch: true },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread, drain-wake late',
    backend: 'uffd',
    options: { drainWake: 'late' },
    sameDrainBaseline: MPROTECT,
  },
  {
    label: 'uffd thread, drain-wake batch',
    backend: 'uffd',
    options: { drainWake: 'batch' },
    sameDrainBaseline: MPROTECT_BATCH,
  },
  {
    label: 'uffd thread, drain-wake batch, handler-cpu same',
    backend: 'uffd',
    options: { drainWake: 'batch', handlerCpu: 'same' },
    sameDrainBaseline: MPROTECT_BATCH,
  },
  {
    label: 'uffd thread spin, drain-wake batch, handler-cpu other',
    backend: 'uffd',
    options: { drainWake: 'batch', handlerWait: 'spin', handlerCpu: 'other' },
    sameDrainBaseline: MPROTECT_BATCH,
  },
  { label: 'forkcow (kernel COW)', backend: 'forkcow', options: {} },
];

const handlerCounts = [1, 2, 4];
/** Whole-run uffd variants (1 handler) next to the default, for the fault-path knobs under writers. */
const runVariants: { label: string; options: ModeOptions }[] = [
  { label: 'drain-wake batch', options: { drainWake: 'batch' } },
  { label: 'handler-batch', options: { handlerBatch: true } },
  { label: 'handler-cpu same', options: { handlerCpu: 'same' } },
  { label: 'handler-wait spin', options: { handlerWait: 'spin' } },
];

const usableModes = (backends: string[]) => faultModes.filter((m) => backends.includes(m.backend));
const faultPages = (quick: boolean) => (quick ? 4096 : 16384);

interface TrialOutcome {
  trial?: FaultLatencyTrial;
  error?: string;
}

async function faultTrial(
  ctx: BenchContext,
  mode: FaultMode,
  pages: number,
  label: string,
): Promise<TrialOutcome> {
  const r = await runCowbenchChild(
    // The baseline rows mean the original wake-up order, whatever the default is today.
    [
      'fault-latency',
      '--json',
      ...flagsOf({ backend: mode.backend }),
      '--pages',
      String(pages),
      ...flagsOf(withDrain(mode.backend, mode.options)),
    ],
    120_000,
  );
  ctx.tick(label);
  if (r.code !== 0) {
    const error = r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`;
    ctx.log(`  ${label}: failed (exit ${r.code}): ${error}`);
    return { error };
  }
  const trial = JSON.parse(r.stdout) as FaultLatencyTrial;
  // Every timed write must have been a fault on the backend's path (forkcow's COW is the kernel's).
  if (trial.fault_us && mode.backend !== 'forkcow' && (trial.wp_faults ?? 0) < pages) {
    const error = `only ${trial.wp_faults} of ${pages} writes faulted: not a fault round trip`;
    ctx.log(`  ${label}: ${error}`);
    return { error };
  }
  return { trial };
}

async function faultLatencyRows(ctx: BenchContext): Promise<{ rows: Row[]; findings: string[] }> {
  const modes = usableModes(ctx.backends);
  const pages = faultPages(ctx.quick);
  const perMode = new Map<string, TrialOutcome[]>(modes.map((m) => [m.label, []]));
  for (let t = 0; t < ctx.repeat; t++)
    for (const m of modes)
      perMode.get(m.label)!.push(await faultTrial(ctx, m, pages, `fault ${m.label} #${t + 1}`));
  // Per-trial medians, NaN where a trial failed, so ratios stay paired by trial.
  const medians = new Map<string, number[]>(
    modes.map((m) => [m.label, perMode.get(m.label)!.map((o) => o.trial?.fault_us?.median ?? NaN)]),
  );
  const ratio = (label: string, base: string) => {
    const a = medians.get(label);
    const b = medians.get(base);
    return summarize(a && b ? a.map((v, i) => v / (b[i] ?? NaN)) : []);
  };
  const rows: Row[] = [];
  for (const m of modes) {
    const outcomes = perMode.get(m.label)!;
    const ok = outcomes.filter((o) => o.trial?.fault_us).map((o) => o.trial!);
    const skipped = outcomes.find((o) => o.trial?.skipped)?.trial?.skipped;
    rows.push({
      part: 'fault',
      mode: m.label,
      backend: m.backend,
      flags: flagsOf(withDrain(m.backend, m.options)).join(' '),
      pages,
      ...spread('fault_us', summarize(medians.get(m.label)!), 2),
      ...spread('fault_p99_us', summarize(ok.map((t) => t.fault_us!.p99)), 2),
      ...spread('ratio_to_mprotect', ratio(m.label, MPROTECT), 3),
      ...(m.sameDrainBaseline
        ? spread('ratio_to_mprotect_same_drain', ratio(m.label, m.sameDrainBaseline), 3)
        : {}),
      ...(m.backend === 'uffd'
        ? { handler_repins_median: summarize(ok.map((t) => t.extra?.['handler_repins'] ?? NaN)).median }
        : {}),
      failures: outcomes.filter((o) => o.error).length,
      ...(skipped ? { skipped } : {}),
    });
  }
  const findings: string[] = [];
  const fig = (label: string) => rows.find((r) => r.mode === label);
  const f = (label: string, col: string) => {
    const v = fig(label)?.[col];
    return typeof v === 'number' ? v : NaN;
  };
  const uffdDefault = 'uffd thread (poll, any cpu)';
  if (fig(MPROTECT) && fig(uffdDefault)) {
    const r0 = f(uffdDefault, 'ratio_to_mprotect_median');
    findings.push(
      `C3: uffd handler-thread fault ${f(uffdDefault, 'fault_us_median')} µs vs mprotect SIGSEGV ${f(MPROTECT, 'fault_us_median')} µs: ` +
        `ratio ${r0} (${f(uffdDefault, 'ratio_to_mprotect_min')} … ${f(uffdDefault, 'ratio_to_mprotect_max')}) with early drain wake-ups; ` +
        `uffd SIGBUS ${f('uffd SIGBUS', 'ratio_to_mprotect_median')} (verdict with its CI: see the claims table)`,
    );
    const uffdRows = rows.filter((r) => r.backend === 'uffd' && String(r.mode).startsWith('uffd thread'));
    const best = uffdRows
      .filter((r) => typeof r['fault_us_median'] === 'number')
      .sort((a, b) => Number(a['fault_us_median']) - Number(b['fault_us_median']))[0];
    if (best) {
      const rAbs = Number(best['ratio_to_mprotect_median']);
      const rSame = Number(best['ratio_to_mprotect_same_drain_median']);
      findings.push(
        `target (c) uffd thread <= 1.5x mprotect: fastest variant here '${best.mode}' ${best['fault_us_median']} µs = ${rAbs}x mprotect (early drain wake-ups), ` +
          `${rSame}x mprotect with the same drain wake-up (the verdict compares the default drain-wake batch on both, with its CI)`,
      );
      for (const r of uffdRows)
        if (r.mode !== uffdDefault)
          findings.push(
            `  ${r.mode}: ${r['fault_us_median']} µs vs ${f(uffdDefault, 'fault_us_median')} µs early-drain baseline (${(Number(r['fault_us_median']) / f(uffdDefault, 'fault_us_median')).toFixed(2)}x)`,
          );
    }
  }
  return { rows, findings };
}

export const latencySuite: Suite = {
  name: 'latency',
  claim: 'C3, C8, target (c)',
  description:
    'per-fault round trip per backend and uffd knob (fresh process per trial); write stall under writers, uffd handlers 1/2/4',
  plannedRuns: (c) =>
    usableModes(c.backends).length * c.repeat +
    (c.backends.length + (c.backends.includes('uffd') ? handlerCounts.length + runVariants.length : 0)) *
      c.repeat,
  async run(ctx) {
    const { rows, findings } = await faultLatencyRows(ctx);
    const size = ctx.quick ? 128 * MiB : 512 * MiB;
    const image = scratch(ctx, 'latency.img');
    const traces: Record<string, RunTrace> = {}; // one run per backend, for the timeline and stall-curve charts
    const measure = async (
      backend: BackendName,
      extra: ModeOptions,
      label: string,
      handlers: number | null,
    ) => {
      const { results, failures } = await repeatRuns(
        ctx,
        {
          backend,
          sizeBytes: size,
          writerKinds: ['cpu', 'cpu'],
          ratePagesPerSec: 0,
          out: image,
          force: true,
          ...extra,
        },
        label,
      );
      const trace = Object.keys(extra).length === 0 ? traceOf(results) : null;
      if (trace) traces[backend] = trace;
      rows.push({
        part: 'run',
        mode: label,
        backend,
        flags: flagsOf(extra).join(' ') || null,
        handlers,
        ...spread('stall_p50_us', summarize(results.map((r) => r.write_stall.p50_us)), 2),
        ...spread('stall_p99_us', summarize(results.map((r) => r.write_stall.p99_us)), 2),
        ...spread('stall_p999_us', summarize(results.map((r) => r.write_stall.p999_us)), 2),
        ...spread('faults', summarize(results.map((r) => r.wp_faults)), 0),
        ...spread('total_ms', summarize(results.map((r) => r.total_ms)), 1),
        ...spread(
          'writer_throughput_ratio',
          summarize(results.map((r) => r.writers.throughput_ratio ?? NaN)),
          3,
        ),
        failures: failures.length,
      });
    };
    for (const backend of ctx.backends) await measure(backend as BackendName, {}, `${backend} stall`, null);
    if (ctx.backends.includes('uffd')) {
      for (const h of handlerCounts) await measure('uffd', { handlers: h }, `uffd ${h} handlers`, h);
      for (const v of runVariants) await measure('uffd', v.options, `uffd 1 handler, ${v.label}`, 1);
      const run = (label: string) => rows.find((r) => r.mode === label);
      const num = (label: string, col: string) => {
        const v = run(label)?.[col];
        return typeof v === 'number' ? v : NaN;
      };
      const one = 'uffd 1 handlers';
      // "More handlers raise throughput": only if a larger count beats 1 handler beyond its spread.
      const raised = handlerCounts
        .slice(1)
        .some(
          (h) =>
            num(`uffd ${h} handlers`, 'writer_throughput_ratio_min') >
            num(one, 'writer_throughput_ratio_max'),
        );
      findings.push(
        `C8: writer throughput during the uffd snapshot (ratio to before) with 1/2/4 handlers: ${handlerCounts
          .map(
            (h) =>
              `${num(`uffd ${h} handlers`, 'writer_throughput_ratio_median')} (${num(`uffd ${h} handlers`, 'writer_throughput_ratio_min')} … ${num(`uffd ${h} handlers`, 'writer_throughput_ratio_max')})`,
          )
          .join(' / ')}; stall p99 ${handlerCounts
          .map((h) => num(`uffd ${h} handlers`, 'stall_p99_us_median'))
          .join(
            ' / ',
          )} µs (${raised ? 'a larger handler count beat 1 handler beyond its spread' : 'no handler count beat 1 handler beyond its spread'}; the verdict tests it, with its CI)`,
      );
    }
    return { rows, findings, verdicts: latencyVerdicts(rows), raw: { traces } };
  },
};

/** C3, C8 and target (c) from the rows, like for like (same drain wake-up on both sides). */
export function latencyVerdicts(rows: Row[]): ClaimVerdict[] {
  const verdicts: ClaimVerdict[] = [];
  const row = (mode: string) => rows.find((r) => r.mode === mode);
  const faults = (mode: string) => samplesOf(row(mode), 'fault_us');
  if (row('uffd thread (poll, any cpu)') && row(MPROTECT)) {
    // C3: the uffd fault round trip (handler thread) below the SIGSEGV one, like for like.
    const early = judgeRatio({
      claim: 'C3',
      what: 'uffd thread fault ÷ mprotect SIGSEGV fault (drain-wake early on both)',
      den: faults(MPROTECT),
      num: faults('uffd thread (poll, any cpu)'),
      bound: 1,
      good: 'below',
      kind: 'claim',
    });
    const sigbus = judgeRatio({
      claim: 'C3',
      what: 'uffd SIGBUS fault ÷ mprotect SIGSEGV fault',
      den: faults(MPROTECT),
      num: faults('uffd SIGBUS'),
      bound: 1,
      good: 'below',
      kind: 'claim',
    });
    verdicts.push({ ...early, evidence: `${early.evidence}; ${sigbus.evidence} (${sigbus.verdict})` });
    // Target c, like for like with the default drain wake-up (batch) on both sides.
    const batchBase = row(MPROTECT_BATCH) ? MPROTECT_BATCH : MPROTECT;
    const batchUffd = row('uffd thread, drain-wake batch')
      ? 'uffd thread, drain-wake batch'
      : 'uffd thread (poll, any cpu)';
    verdicts.push(
      judgeRatio({
        claim: 'target c',
        what: `${batchUffd} ÷ ${batchBase}`,
        den: faults(batchBase),
        num: faults(batchUffd),
        bound: 1.5,
        good: 'below',
        kind: 'target',
      }),
    );
  }
  const handlers = (k: number) => samplesOf(row(`uffd ${k} handlers`), 'writer_throughput_ratio');
  if (row('uffd 1 handlers')) {
    // C8: more handlers raise the writers' throughput during the snapshot (ratio > 1 vs one).
    const judged = [2, 4]
      .filter((k) => row(`uffd ${k} handlers`))
      .map((k) =>
        judgeRatio({
          claim: 'C8',
          what: `writer throughput ratio with ${k} handlers ÷ with 1`,
          den: handlers(1),
          num: handlers(k),
          bound: 1,
          good: 'above',
          kind: 'claim',
        }),
      );
    const vs = judged.map((j) => j.verdict);
    verdicts.push({
      claim: 'C8',
      verdict: vs.includes('confirmed')
        ? 'confirmed'
        : vs.every((v) => v === 'refuted')
          ? 'refuted'
          : 'not measurable here',
      evidence: judged.map((j) => j.evidence).join('; '),
    });
  }
  return verdicts;
}
