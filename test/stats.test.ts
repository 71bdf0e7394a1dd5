/**
 * The statistics against published reference values. The U-test p-values were computed with
 * scipy 1.17.1, scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='auto'), for the
 * fixed inputs below (exact distribution for the small tie-free cases, normal approximation with
 * tie and continuity corrections otherwise).
 */
import test from 'ava';
import {
  geomean,
  mannWhitneyU,
  normalCdf,
  quantile,
  ratioOfMediansCI,
  relativeSpread,
  summarize,
  tableNormalCdf,
} from '../bench/stats.js';

const linspace = (a: number, b: number, n: number) =>
  Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

const scipy: {
  name: string;
  x: number[];
  y: number[];
  u: number;
  p: number;
  method: 'exact' | 'asymptotic';
}[] = [
  {
    name: 'separated, 5 vs 5',
    x: [1.1, 2.2, 3.3, 4.4, 5.5],
    y: [6.6, 7.7, 8.8, 9.9, 10.1],
    u: 0,
    p: 0.007936507936507936,
    method: 'exact',
  },
  {
    name: 'overlapping, 5 vs 4',
    x: [19, 22, 16, 29, 24],
    y: [20, 11, 17, 12],
    u: 17,
    p: 0.1111111111111111,
    method: 'exact',
  },
  {
    name: '8 vs 8',
    x: [3.1, 4.2, 2.9, 5.0, 4.4, 3.8, 4.9, 3.3],
    y: [4.5, 5.9, 6.1, 5.2, 4.8, 6.6, 5.5, 5.7],
    u: 4,
    p: 0.0018648018648018648,
    method: 'exact',
  },
  {
    name: 'ties, 10 vs 10',
    x: [1, 2, 2, 3, 3, 3, 4, 5, 5, 6],
    y: [2, 3, 4, 4, 5, 6, 6, 7, 7, 8],
    u: 23.5,
    p: 0.047069540401444114,
    method: 'asymptotic',
  },
  {
    name: '12 vs 15, no ties',
    x: linspace(10, 20, 12),
    y: linspace(12, 25, 15),
    u: 45,
    p: 0.02990263602980263,
    method: 'asymptotic',
  },
  { name: 'all equal', x: [5, 5, 5, 5, 5], y: [5, 5, 5, 5, 5], u: 12.5, p: 1, method: 'asymptotic' },
];

for (const c of scipy)
  test(`Mann–Whitney U matches scipy: ${c.name}`, (t) => {
    const r = mannWhitneyU(c.x, c.y);
    t.is(r.u, c.u);
    t.is(r.method, c.method);
    t.true(Math.abs(r.p - c.p) < 1e-6, `p ${r.p} vs scipy ${c.p}`);
    // Symmetric: swapping the samples gives the complementary U and the same p.
    const s = mannWhitneyU(c.y, c.x);
    t.is(s.u, c.x.length * c.y.length - c.u);
    t.true(Math.abs(s.p - r.p) < 1e-12);
  });

test('Mann–Whitney U refuses an empty sample', (t) => {
  t.throws(() => mannWhitneyU([], [1, 2]));
});

test('8 vs 8 can reach p < 0.05 and 5 vs 5 fully separated gives the textbook 2/252', (t) => {
  t.true(mannWhitneyU([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]).p < 0.001);
  t.true(Math.abs(mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p - 2 / 252) < 1e-12);
});

test('normal CDF: published values and agreement with simple-statistics table', (t) => {
  // Abramowitz & Stegun table 26.1: Φ(1) = 0.8413447, Φ(1.96) = 0.9750021, Φ(-2.5758) ≈ 0.005.
  t.true(Math.abs(normalCdf(1) - 0.8413447) < 1e-6);
  t.true(Math.abs(normalCdf(1.96) - 0.9750021) < 1e-6);
  t.true(Math.abs(normalCdf(-2.5758) - 0.005) < 1e-5);
  t.true(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  for (const z of [-2, -1, 0.5, 1.5, 2.5]) t.true(Math.abs(normalCdf(z) - tableNormalCdf(z)) < 1e-3);
});

test('summarize: median, min, max, stdev, quantiles, samples kept or dropped', (t) => {
  const s = summarize([3, 1, 2, NaN, 4]);
  t.is(s.n, 4);
  t.is(s.median, 2.5);
  t.is(s.min, 1);
  t.is(s.max, 4);
  t.true(Math.abs(s.stdev - 1.2909944487358056) < 1e-12); // numpy.std(ddof=1)
  t.deepEqual(s.samples, [3, 1, 2, 4]);
  t.is(summarize([1, 2], { keepSamples: false }).samples, undefined);
  t.is(summarize([]).n, 0);
  t.is(quantile([1, 2, 3, 4, 5], 0.5), 3);
  t.is(relativeSpread(summarize([90, 100, 110])), 0.2);
});

test('geomean of ratios (positive finite only)', (t) => {
  t.true(Math.abs(geomean([1, 4]) - 2) < 1e-12);
  t.true(Math.abs(geomean([2, 8, NaN, -1]) - 4) < 1e-12);
  t.true(Number.isNaN(geomean([])));
});

test('bootstrap CI of the ratio of medians: covers the true ratio, deterministic, degenerate input', (t) => {
  const x = [10, 11, 9, 10.5, 9.5, 10.2, 9.8, 10.1];
  const y = x.map((v) => v * 2);
  const ci = ratioOfMediansCI(x, y);
  t.is(ci.ratio, 2);
  t.true(ci.lo <= 2 && ci.hi >= 2);
  t.true(ci.lo > 1.7 && ci.hi < 2.3);
  t.deepEqual(ratioOfMediansCI(x, y), ci); // fixed seed
  const same = ratioOfMediansCI([5, 5, 5, 5, 5], [5, 5, 5, 5, 5]);
  t.deepEqual([same.ratio, same.lo, same.hi], [1, 1, 1]);
});
