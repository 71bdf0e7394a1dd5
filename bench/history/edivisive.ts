/**
 * E-divisive means (Matteson & James 2014, "A nonparametric approach for multiple change point
 * analysis of multivariate data", JASA 109:505), for one series of numbers, with α = 1:
 *
 * - For a segment X[lo, hi) and a split τ, with A = X[lo, τ) (m points) and B = X[τ, hi) (k points),
 *   the energy distance is Ê = 2/(mk)·Σ|a−b| − Σ_{a<a'}|a−a'|/C(m,2) − Σ_{b<b'}|b−b'|/C(k,2), and the
 *   split statistic Q̂(τ) = mk/(m+k)·Ê. With B = X[τ, κ), the candidate of a segment is the τ of
 *   the largest Q̂ over τ and κ ≤ hi (both sides at least `minSegment` long). Searching κ, as the
 *   paper does, finds a step up that later steps back down, which a fixed right end misses.
 * - Hierarchical: the segment whose candidate has the largest Q̂ is tested; if significant, it is
 *   split there and the search goes on; the first non-significant candidate ends it.
 * - Significance: a permutation test of that segment (its values shuffled, Q̂ maximised again);
 *   p = (1 + #{permuted ≥ observed}) / (1 + permutations), significant when p < α (strictly: with
 *   199 permutations and α = 0.05 the test's size is 9/200, never above α). The test stops as soon
 *   as enough permuted statistics reached the observed one that p can no longer fall below α
 *   (then the p returned, (1 + exceeding) / (1 + drawn), is ≥ α too), so a null segment costs a
 *   few permutations and the decision is the full test's.
 * - A candidate whose own segment's medians differ by less than `minMagnitude` (a relative change,
 *   the metric's threshold) is not tested: it could not be reported, and it ends that segment.
 *
 * Q̂ for every (τ, κ) of a segment of n points costs O(n²) (a 2-D prefix sum of the distances).
 * Series longer than `window` are searched in windows of that length overlapping by half; a
 * change point found in two windows is kept once (the smaller p), and a candidate at a step an
 * earlier window already found significant is not tested again.
 */
import { seededRandom, shuffleInPlace } from '../stats.js';

export interface EDivisiveOptions {
  /** Significance level of the permutation test [0.01]. */
  alpha: number;
  /** Most permutations per test [199]. */
  permutations: number;
  /** Least points on each side of a change point [3]. */
  minSegment: number;
  /** Least relative change of the medians on the two sides (0.3 = 30 %) for a candidate [0]. */
  minMagnitude: number;
  /** Seed of the permutations (deterministic) [1]. */
  seed: number;
  /** Longest stretch searched at once [100]. */
  window: number;
}

export const EDIVISIVE_DEFAULTS: EDivisiveOptions = {
  alpha: 0.01,
  permutations: 199,
  minSegment: 3,
  minMagnitude: 0,
  seed: 1,
  window: 100,
};

export interface ChangePoint {
  /** Index of the first point after the change. */
  index: number;
  /** Q̂ at the split, in its segment. */
  q: number;
  /** Permutation p-value. */
  p: number;
}

export interface Split {
  index: number;
  q: number;
}

/**
 * The pairwise distances of a segment as a 2-D prefix sum: sum(a0, a1, b0, b1) is
 * Σ_{a0≤i<a1, b0≤j<b1} |x_i − x_j| (indices relative to the segment), in O(1) after O(n²).
 */
export class DistanceSums {
  readonly n: number;
  /** (n + 1)² prefix sums, row-major: prefix[i·(n+1) + j] = Σ_{a<i, b<j} |x_a − x_b|. */
  readonly prefix: Float64Array;
  constructor(x: ArrayLike<number>, lo: number, hi: number, buffer?: Float64Array) {
    const n = hi - lo;
    const w = n + 1;
    this.n = n;
    this.prefix = buffer && buffer.length >= w * w ? buffer : new Float64Array(w * w);
    const p = this.prefix;
    for (let j = 0; j < w; j++) p[j] = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[lo + i]!;
      let row = 0;
      p[(i + 1) * w] = 0;
      for (let j = 0; j < n; j++) {
        row += Math.abs(xi - x[lo + j]!);
        p[(i + 1) * w + j + 1] = p[i * w + j + 1]! + row;
      }
    }
  }
  sum(a0: number, a1: number, b0: number, b1: number): number {
    const w = this.n + 1;
    const p = this.prefix;
    return p[a1 * w + b1]! - p[a0 * w + b1]! - p[a1 * w + b0]! + p[a0 * w + b0]!;
  }
  /** Σ over unordered pairs within [a, b). */
  within(a: number, b: number): number {
    return this.sum(a, b, a, b) / 2;
  }
  /** Q̂ of A = [0, τ) against B = [τ, κ). */
  q(tau: number, kappa: number): number {
    const m = tau;
    const k = kappa - tau;
    const e =
      (2 * this.sum(0, tau, tau, kappa)) / (m * k) -
      this.within(0, tau) / ((m * (m - 1)) / 2) -
      this.within(tau, kappa) / ((k * (k - 1)) / 2);
    return ((m * k) / (m + k)) * e;
  }
}

/**
 * The split of x[lo, hi) with the largest Q̂(τ, κ): A = [lo, τ) against B = [τ, κ) for every
 * κ ≤ hi (the paper's search of the right end, which finds a step that later steps back), both
 * sides ≥ max(2, minSegment). null when the segment is too short.
 */
export function bestSplit(
  x: ArrayLike<number>,
  lo: number,
  hi: number,
  minSegment: number,
  buffer?: Float64Array,
): Split | null {
  const n = hi - lo;
  const minSide = Math.max(2, minSegment);
  if (n < 2 * minSide) return null;
  const d = new DistanceSums(x, lo, hi, buffer);
  // With row 0 of the prefix sums zero and the distances symmetric, for A = [0, τ), B = [τ, κ):
  // Σ_A×B = P[τ][κ] − P[τ][τ], Σ pairs in A = P[τ][τ] / 2, Σ pairs in B = (P[κ][κ] − 2P[τ][κ] + P[τ][τ]) / 2.
  const p = d.prefix;
  const w = n + 1;
  let bestQ = -Infinity;
  let bestTau = -1;
  for (let tau = minSide; tau <= n - minSide; tau++) {
    const m = tau;
    const ptt = p[tau * w + tau]!;
    const withinA = ptt / 2 / ((m * (m - 1)) / 2);
    const row = tau * w;
    for (let kappa = tau + minSide; kappa <= n; kappa++) {
      const k = kappa - tau;
      const ptk = p[row + kappa]!;
      const between = ptk - ptt;
      const withinB = (p[kappa * w + kappa]! - 2 * ptk + ptt) / 2;
      const q = ((m * k) / (m + k)) * ((2 * between) / (m * k) - withinA - withinB / ((k * (k - 1)) / 2));
      if (q > bestQ) {
        bestQ = q;
        bestTau = tau;
      }
    }
  }
  return { index: lo + bestTau, q: bestQ };
}

export function median(values: ArrayLike<number>, lo = 0, hi = values.length): number {
  const s = Array.prototype.slice.call(values, lo, hi) as number[];
  s.sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Relative change of two medians as a cost-free magnitude: max(a/b, b/a) − 1 (∞ across zero). */
export function magnitude(before: number, after: number): number {
  if (before === after) return 0;
  if (before <= 0 || after <= 0) return Infinity;
  return Math.max(after / before, before / after) - 1;
}

function permutationP(
  x: ArrayLike<number>,
  lo: number,
  hi: number,
  observed: number,
  o: EDivisiveOptions,
  rand: () => number,
): number {
  const seg = Float64Array.from(Array.prototype.slice.call(x, lo, hi) as number[]);
  const buffer = new Float64Array((seg.length + 1) ** 2);
  // p = (1 + exceeding) / (1 + permutations) < alpha needs fewer exceedances than this.
  const hopeless = o.alpha * (o.permutations + 1) - 1;
  let exceeding = 0;
  let drawn = 0;
  while (drawn < o.permutations) {
    shuffleInPlace(seg, rand);
    drawn++;
    const s = bestSplit(seg, 0, seg.length, o.minSegment, buffer);
    if (s && s.q >= observed && ++exceeding >= hopeless) break;
  }
  return (exceeding + 1) / (drawn + 1);
}

/** Hierarchical E-divisive over x[lo, hi): the significant change points, by index. */
function searchStretch(
  x: ArrayLike<number>,
  lo: number,
  hi: number,
  o: EDivisiveOptions,
  rand: () => number,
  known: (index: number) => ChangePoint | undefined = () => undefined,
): ChangePoint[] {
  const found: ChangePoint[] = [];
  // Open segments with their candidate (null: nothing left to split there).
  const segments: { lo: number; hi: number; cand: Split | null }[] = [];
  const open = (a: number, b: number) => {
    let cand = bestSplit(x, a, b, o.minSegment);
    if (cand && !(cand.q > 0)) cand = null;
    if (cand && magnitude(median(x, a, cand.index), median(x, cand.index, b)) < o.minMagnitude) cand = null;
    segments.push({ lo: a, hi: b, cand });
  };
  open(lo, hi);
  for (;;) {
    let at = -1;
    for (let i = 0; i < segments.length; i++) {
      const c = segments[i]!.cand;
      if (c && (at < 0 || c.q > segments[at]!.cand!.q)) at = i;
    }
    if (at < 0) break;
    const seg = segments[at]!;
    const cand = seg.cand!;
    const p = known(cand.index)?.p ?? permutationP(x, seg.lo, seg.hi, cand.q, o, rand);
    if (!(p < o.alpha)) break;
    found.push({ index: cand.index, q: cand.q, p });
    segments.splice(at, 1);
    open(seg.lo, cand.index);
    open(cand.index, seg.hi);
  }
  return found.sort((a, b) => a.index - b.index);
}

/** The change points of a series (indices of the first point after each change), ascending. */
export function eDivisive(x: ArrayLike<number>, options: Partial<EDivisiveOptions> = {}): ChangePoint[] {
  const o: EDivisiveOptions = { ...EDIVISIVE_DEFAULTS, ...options };
  if (!(o.alpha > 0 && o.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${o.alpha}`);
  if (!(Number.isInteger(o.permutations) && o.permutations >= 1))
    throw new RangeError(`permutations must be a positive integer, got ${o.permutations}`);
  if (!(Number.isInteger(o.minSegment) && o.minSegment >= 1))
    throw new RangeError(`minSegment must be a positive integer, got ${o.minSegment}`);
  const rand = seededRandom(o.seed);
  const n = x.length;
  const window = Math.max(o.window, 4 * Math.max(2, o.minSegment));
  if (n <= window) return searchStretch(x, 0, n, o, rand);
  const byIndex = new Map<number, ChangePoint>();
  const nearby = (index: number) => {
    let near: ChangePoint | undefined;
    for (let d = -o.minSegment + 1; d < o.minSegment; d++) near ??= byIndex.get(index + d);
    return near;
  };
  const stride = Math.floor(window / 2);
  for (let lo = 0; ; lo += stride) {
    const hi = Math.min(n, lo + window);
    // A step the previous window found significant is not tested again.
    for (const c of searchStretch(x, lo, hi, o, rand, nearby)) {
      // The same step seen from two windows may land a run apart: keep the smaller p.
      const near = nearby(c.index);
      if (near === undefined) byIndex.set(c.index, c);
      else if (c.p < near.p) {
        byIndex.delete(near.index);
        byIndex.set(c.index, c);
      }
    }
    if (hi === n) break;
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** Q̂(τ, κ) of x (A = x[0, τ), B = x[τ, κ)) straight from its definition: the tests' reference. */
export function qHatBruteForce(x: number[], tau: number, kappa: number): number {
  const a = x.slice(0, tau);
  const b = x.slice(tau, kappa);
  let ab = 0;
  for (const u of a) for (const v of b) ab += Math.abs(u - v);
  let aa = 0;
  for (let i = 0; i < a.length; i++) for (let j = i + 1; j < a.length; j++) aa += Math.abs(a[i]! - a[j]!);
  let bb = 0;
  for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) bb += Math.abs(b[i]! - b[j]!);
  const m = a.length;
  const k = b.length;
  const e = (2 * ab) / (m * k) - aa / ((m * (m - 1)) / 2) - bb / ((k * (k - 1)) / 2);
  return ((m * k) / (m + k)) * e;
}
