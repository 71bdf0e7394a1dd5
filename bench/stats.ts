/**
 * The statistics of bench and compare, in one place: one summary type (medians with min/max and
 * the raw samples, never a lone mean), the Mann–Whitney U test, a bootstrap confidence interval
 * for the ratio of two medians, and the geometric mean of ratios.
 *
 * simple-statistics supplies the rank sum (wilcoxonRankSum, ties get mid-ranks), the normal CDF,
 * the median, the standard deviation and the geometric mean; it has no U-test p-value (its
 * permutationTest compares means with a random resampling, so it is neither rank-based nor
 * deterministic), so the p-value is computed here: the exact null distribution of U when a sample
 * is small and nothing is tied, else the normal approximation with the tie correction and a
 * continuity correction — the same choice as scipy.stats.mannwhitneyu(method='auto'), whose
 * values the tests reproduce.
 */
import {
  cumulativeStdNormalProbability,
  geometricMean,
  mean as ssMean,
  median as ssMedian,
  sampleStandardDeviation,
  wilcoxonRankSum,
} from 'simple-statistics';

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (0 when n = 1). */
  stdev: number;
  p90: number;
  p99: number;
  /** The finite samples in measurement order (omitted for large per-fault distributions). */
  samples?: number[];
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/** Summary of the finite values; `keepSamples: false` for distributions of thousands of points. */
export function summarize(values: ArrayLike<number>, opts: { keepSamples?: boolean } = {}): Summary {
  const finite = Array.from(values).filter((x) => Number.isFinite(x));
  const sorted = Float64Array.from(finite).sort();
  const keep = opts.keepSamples ?? true;
  if (finite.length === 0)
    return {
      n: 0,
      median: NaN,
      min: NaN,
      max: NaN,
      mean: NaN,
      stdev: NaN,
      p90: NaN,
      p99: NaN,
      ...(keep ? { samples: [] } : {}),
    };
  return {
    n: finite.length,
    median: ssMedian(finite),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: ssMean(finite),
    stdev: finite.length > 1 ? sampleStandardDeviation(finite) : 0,
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    ...(keep ? { samples: finite } : {}),
  };
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Below this many samples per side, compare and the report refuse a verdict. */
export const MIN_SAMPLES = 5;

export interface UTest {
  /** U of the first sample (number of pairs where x > y, ties counting ½). */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'asymptotic';
}

/** Number of ways to get each U in 0..n1*n2 for samples of n1 and n2 with no ties (exact null). */
function exactUCounts(n1: number, n2: number): number[] {
  // f[i][j][u]: arrangements of i x's and j y's with statistic u; built with one row per i.
  // Recurrence: f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u).
  let prev: number[][] = []; // prev[j] = counts for i-1
  for (let i = 0; i <= n1; i++) {
    const cur: number[][] = [];
    for (let j = 0; j <= n2; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      if (i === 0 || j === 0) row[0] = 1;
      else {
        const a = prev[j]!; // i-1, j: add an x that beats all j y's → u + j
        for (let u = 0; u < a.length; u++) row[u + j]! += a[u]!;
        const b = cur[j - 1]!; // i, j-1: add a y below, u unchanged
        for (let u = 0; u < b.length; u++) row[u]! += b[u]!;
      }
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n2]!;
}

/**
 * Two-sided Mann–Whitney U test of x against y. Exact when a sample has at most 8 values and no
 * value is tied (as scipy's method='auto'), else normal approximation with the tie correction and
 * continuity correction. Throws on an empty sample.
 */
export function mannWhitneyU(x: number[], y: number[]): UTest {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new Error('mannWhitneyU: both samples need values');
  const u1 = wilcoxonRankSum(x, y) - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const pooled = [...x, ...y].sort((a, b) => a - b);
  const ties: number[] = [];
  for (let i = 0; i < pooled.length;) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1] === pooled[i]) j++;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  if (ties.length === 0 && Math.min(n1, n2) <= 8) {
    const counts = exactUCounts(n1, n2);
    const total = counts.reduce((a, b) => a + b, 0);
    const k = Math.max(u1, u2);
    // P(U >= k) doubled (the null distribution is symmetric).
    let tail = 0;
    for (let u = Math.ceil(k); u < counts.length; u++) tail += counts[u]!;
    return { u: u1, p: Math.min(1, (2 * tail) / total), method: 'exact' };
  }
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const tieTerm = ties.reduce((s, t) => s + (t * t * t - t), 0) / (n * (n - 1));
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm));
  if (sigma === 0) return { u: u1, p: 1, method: 'asymptotic' };
  const z = (Math.max(u1, u2) - mu - 0.5) / sigma;
  const p = 2 * (1 - normalCdf(z));
  return { u: u1, p: Math.min(1, Math.max(0, p)), method: 'asymptotic' };
}

/**
 * Standard normal CDF. simple-statistics' cumulativeStdNormalProbability reads a 2-decimal table,
 * too coarse for p-values; this is the complementary error function (W. J. Cody's rational
 * approximation as in Numerical Recipes erfc, |error| < 1.2e-7), checked against the table.
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}
/** Fisher–Yates: `xs` in a uniformly random order drawn from `rand`, in place; returns `xs`. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(
  xs: T,
  rand: () => number,
): T {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** The table-based CDF of simple-statistics, for the cross-check in the tests. */
export const tableNormalCdf = cumulativeStdNormalProbability;

/** A small seeded PRNG (mulberry32): the bootstrap gives the same interval for the same input. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RatioCI {
  /** median(y) / median(x). */
  ratio: number;
  lo: number;
  hi: number;
  level: number;
  method: 'percentile bootstrap';
  resamples: number;
}

/** The k-th smallest of a[0, n) (rearranges a). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** The median of a[0, n) (rearranges a). */
function medianInPlace(a: Float64Array, n: number): number {
  const upper = select(a, n, n >> 1);
  if (n % 2) return upper;
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

/**
 * Percentile-bootstrap confidence interval of median(y)/median(x): both samples resampled with
 * replacement, independently, `resamples` times, with a fixed seed (deterministic). No allocation
 * per resample: a side of a long history holds thousands of runs.
 */
export function ratioOfMediansCI(
  x: number[],
  y: number[],
  opts: { level?: number; resamples?: number; seed?: number } = {},
): RatioCI {
  const level = opts.level ?? 0.95;
  const resamples = opts.resamples ?? 2000;
  const rand = seededRandom(opts.seed ?? 0x5eed);
  const mx = ssMedian(x);
  const my = ssMedian(y);
  const bx = new Float64Array(x.length);
  const by = new Float64Array(y.length);
  const ratios = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < bx.length; i++) bx[i] = x[Math.floor(rand() * x.length)]!;
    for (let i = 0; i < by.length; i++) by[i] = y[Math.floor(rand() * y.length)]!;
    const dx = medianInPlace(bx, bx.length);
    const dy = medianInPlace(by, by.length);
    ratios[b] = dx === 0 ? (dy === 0 ? 1 : Infinity) : dy / dx;
  }
  ratios.sort();
  const alpha = (1 - level) / 2;
  const at = (q: number) => ratios[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return {
    ratio: mx === 0 ? (my === 0 ? 1 : Infinity) : my / mx,
    lo: at(alpha),
    hi: at(1 - alpha),
    level,
    method: 'percentile bootstrap',
    resamples,
  };
}

/** Geometric mean of positive finite ratios (others ignored); NaN when none. */
export function geomean(values: number[]): number {
  const ok = values.filter((v) => Number.isFinite(v) && v > 0);
  return ok.length === 0 ? NaN : geometricMean(ok);
}

/** Relative spread of a sample: (max − min) / median, the figure the noise warning reads. */
export function relativeSpread(s: Summary): number {
  return s.n > 0 && s.median !== 0 ? (s.max - s.min) / Math.abs(s.median) : NaN;
}
