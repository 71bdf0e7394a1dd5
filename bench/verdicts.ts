/**
 * Claim and target verdicts decided by statistics, not range rules: the effect (a ratio of
 * medians, or one median) with a 95 % percentile-bootstrap confidence interval, n, and the
 * Mann–Whitney U p-value where two distributions are compared. A bound is met only when the
 * whole interval is on the right side of it, missed only when the whole interval is on the wrong
 * side; otherwise, or with fewer than MIN_SAMPLES a side, "not measurable here" with the reason.
 * A run that measured a smaller region than the target names (--quick) never marks it met.
 */
import type { ClaimVerdict, Verdict } from './runner.js';
import { mannWhitneyU, MIN_SAMPLES, ratioOfMediansCI, seededRandom, summarize } from './stats.js';
import { bytes, pValue } from '../src/format.js';

const r3 = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : 'n/a');

export interface RatioJudgement {
  claim: string;
  /** What the ratio is, e.g. "uffd fault ÷ mprotect fault". */
  what: string;
  /** Denominator and numerator samples (ratio = median(num) / median(den)). */
  den: number[];
  num: number[];
  /** The bound and which side is good. */
  bound: number;
  good: 'below' | 'above';
  /** 'target' → met/missed; 'claim' → confirmed/refuted. */
  kind: 'target' | 'claim';
  /** Set when this run measured less than the target names: never "met". */
  smallerThanNamed?: string | null;
  /** Evidence prefix (sizes, conditions). */
  context?: string;
}

function decided(kind: 'target' | 'claim', good: boolean): Verdict | 'met' | 'missed' {
  return kind === 'target' ? (good ? 'met' : 'missed') : good ? 'confirmed' : 'refuted';
}

export function judgeRatio(j: RatioJudgement): ClaimVerdict {
  const den = j.den.filter(Number.isFinite);
  const num = j.num.filter(Number.isFinite);
  const prefix = j.context ? `${j.context}: ` : '';
  if (den.length < MIN_SAMPLES || num.length < MIN_SAMPLES) {
    const ratio = summarize(num).median / summarize(den).median;
    return {
      claim: j.claim,
      verdict: 'not measurable here',
      evidence: `${prefix}${j.what} = ${r3(ratio)} (bound ${j.good === 'below' ? '≤' : '≥'} ${j.bound}), but n=${num.length} vs ${den.length}: fewer than ${MIN_SAMPLES} samples a side, no verdict (raise --repeat)`,
    };
  }
  const ci = ratioOfMediansCI(den, num);
  const u = mannWhitneyU(num, den);
  const inside = j.good === 'below' ? ci.hi <= j.bound : ci.lo >= j.bound;
  const outside = j.good === 'below' ? ci.lo > j.bound : ci.hi < j.bound;
  const stats = `${j.what} = ${r3(ci.ratio)} (95% CI ${r3(ci.lo)}–${r3(ci.hi)}, percentile bootstrap; n=${num.length} vs ${den.length}; Mann–Whitney ${pValue(u.p, 'p')}); bound ${j.good === 'below' ? '≤' : '≥'} ${j.bound}`;
  if (j.smallerThanNamed && inside)
    return {
      claim: j.claim,
      verdict: 'not measurable here',
      evidence: `${prefix}${stats}; ${j.smallerThanNamed}: not marked met`,
    };
  if (inside) return { claim: j.claim, verdict: decided(j.kind, true), evidence: `${prefix}${stats}` };
  if (outside) return { claim: j.claim, verdict: decided(j.kind, false), evidence: `${prefix}${stats}` };
  return {
    claim: j.claim,
    verdict: 'not measurable here',
    evidence: `${prefix}${stats}: the interval straddles the bound, no verdict at this n and spread`,
  };
}

/** 95 % percentile-bootstrap CI of one median (fixed seed). */
export function medianCI(xs: number[], resamples = 2000): { median: number; lo: number; hi: number } {
  const rand = seededRandom(0x5eed);
  const meds: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const r = xs.map(() => xs[Math.floor(rand() * xs.length)]!);
    meds.push(summarize(r).median);
  }
  meds.sort((a, b) => a - b);
  return {
    median: summarize(xs).median,
    lo: meds[Math.floor(0.025 * resamples)]!,
    hi: meds[Math.min(resamples - 1, Math.floor(0.975 * resamples))]!,
  };
}

/** One median against a bound (e.g. writer throughput ratio ≥ 0.8): met/missed by its CI. */
export function judgeMedian(j: {
  claim: string;
  what: string;
  xs: number[];
  bound: number;
  good: 'below' | 'above';
  smallerThanNamed?: string | null;
  context?: string;
}): ClaimVerdict {
  const xs = j.xs.filter(Number.isFinite);
  const prefix = j.context ? `${j.context}: ` : '';
  const rel = j.good === 'below' ? '≤' : '≥';
  if (xs.length < MIN_SAMPLES)
    return {
      claim: j.claim,
      verdict: 'not measurable here',
      evidence: `${prefix}${j.what} median ${r3(summarize(xs).median)} (bound ${rel} ${j.bound}), but n=${xs.length}: fewer than ${MIN_SAMPLES} samples, no verdict (raise --repeat)`,
    };
  const ci = medianCI(xs);
  const inside = j.good === 'below' ? ci.hi <= j.bound : ci.lo >= j.bound;
  const outside = j.good === 'below' ? ci.lo > j.bound : ci.hi < j.bound;
  const stats = `${j.what} median ${r3(ci.median)} (95% CI ${r3(ci.lo)}–${r3(ci.hi)}, percentile bootstrap; n=${xs.length}); bound ${rel} ${j.bound}`;
  if (j.smallerThanNamed && inside)
    return {
      claim: j.claim,
      verdict: 'not measurable here',
      evidence: `${prefix}${stats}; ${j.smallerThanNamed}: not marked met`,
    };
  if (inside) return { claim: j.claim, verdict: 'met', evidence: `${prefix}${stats}` };
  if (outside) return { claim: j.claim, verdict: 'missed', evidence: `${prefix}${stats}` };
  return {
    claim: j.claim,
    verdict: 'not measurable here',
    evidence: `${prefix}${stats}: the interval straddles the bound, no verdict at this n and spread`,
  };
}

/** "the quick run measured 256 MiB; the target names 1 GiB", or null when the sizes match. */
export function smallerThanNamed(measuredBytes: number, namedBytes: number): string | null {
  if (measuredBytes >= namedBytes) return null;
  return `this run measured ${bytes(measuredBytes)}, the target names ${bytes(namedBytes)}`;
}

/** Samples of a metric column of a row (the `_samples` array spread() adds), or []. */
export function samplesOf(row: Record<string, unknown> | undefined, metric: string): number[] {
  const v = row?.[`${metric}_samples`];
  return Array.isArray(v) ? (v as number[]) : [];
}

/**
 * Claims and targets decided by times or rates. Under QEMU's TCG the CPU is emulated: such a
 * verdict compares with nothing, so it becomes "not measurable here", the measured one kept in
 * the evidence. Behavioural claims (C1 mapping counts and ENOMEM, C2 compatibility, C4 and
 * target e bytes, C5 bytes copied per write, C7 consistency point) keep their verdicts.
 */
export const TIMING_CLAIMS: ReadonlySet<string> = new Set([
  'C3',
  'C6',
  'C8',
  'target a',
  'target b',
  'target c',
  'target d',
  'target f',
  'target g',
]);

export function underAccelerator(v: ClaimVerdict, accel: unknown): ClaimVerdict {
  if (accel !== 'tcg' || !TIMING_CLAIMS.has(v.claim)) return v;
  return {
    ...v,
    verdict: 'not measurable here',
    evidence: `not measurable here (emulated CPU: QEMU TCG, times compare with nothing); as measured: ${v.verdict}, ${v.evidence}`,
  };
}
