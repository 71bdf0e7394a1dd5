/** Verdicts by statistics: CI against the bound, n too small, straddling, and smaller-than-named runs. */
import test from 'ava';
import { judgeMedian, judgeRatio, medianCI, smallerThanNamed } from '../bench/verdicts.js';

const base = [10, 10.2, 9.9, 10.1, 10.3, 9.8, 10.0, 10.05];

test('a ratio clearly below its bound is met, clearly above is missed, with CI, n and p in the evidence', (t) => {
  const met = judgeRatio({
    claim: 'target c',
    what: 'u/m',
    den: base,
    num: base.map((x) => x * 1.1),
    bound: 1.5,
    good: 'below',
    kind: 'target',
  });
  t.is(met.verdict, 'met');
  t.regex(met.evidence, /95% CI .*percentile bootstrap; n=8 vs 8; Mann–Whitney p[=<]/);
  const missed = judgeRatio({
    claim: 'target c',
    what: 'u/m',
    den: base,
    num: base.map((x) => x * 3),
    bound: 1.5,
    good: 'below',
    kind: 'target',
  });
  t.is(missed.verdict, 'missed');
  const refuted = judgeRatio({
    claim: 'C3',
    what: 'u/m',
    den: base,
    num: base.map((x) => x * 3),
    bound: 1,
    good: 'below',
    kind: 'claim',
  });
  t.is(refuted.verdict, 'refuted');
});

test('never a verdict from n=2, nor when the interval straddles the bound', (t) => {
  const few = judgeRatio({
    claim: 'target c',
    what: 'u/m',
    den: [1, 2],
    num: [1, 1],
    bound: 1.5,
    good: 'below',
    kind: 'target',
  });
  t.is(few.verdict, 'not measurable here');
  t.regex(few.evidence, /n=2 vs 2: fewer than 5 samples/);
  const wide = judgeRatio({
    claim: 'target c',
    what: 'u/m',
    den: [1, 5, 2, 8, 3],
    num: [2, 9, 1, 12, 4],
    bound: 1.5,
    good: 'below',
    kind: 'target',
  });
  t.is(wide.verdict, 'not measurable here');
  t.regex(wide.evidence, /straddles the bound/);
});

test('a quick run on a smaller region than the target names never marks it met', (t) => {
  const note = smallerThanNamed(256 * 1024 ** 2, 1024 ** 3);
  t.is(note, 'this run measured 256 MiB, the target names 1 GiB');
  t.is(smallerThanNamed(1024 ** 3, 1024 ** 3), null);
  const v = judgeMedian({
    claim: 'target d',
    what: 'ratio',
    xs: [0.95, 0.97, 0.96, 0.98, 0.94],
    bound: 0.8,
    good: 'above',
    smallerThanNamed: note,
  });
  t.is(v.verdict, 'not measurable here');
  t.regex(v.evidence, /not marked met/);
  // A miss is still a miss at the smaller size.
  t.is(
    judgeMedian({
      claim: 'target d',
      what: 'ratio',
      xs: [0.5, 0.52, 0.49, 0.51, 0.5],
      bound: 0.8,
      good: 'above',
      smallerThanNamed: note,
    }).verdict,
    'missed',
  );
});

test('median CI is deterministic and brackets the median', (t) => {
  const ci = medianCI(base);
  t.true(ci.lo <= ci.median && ci.median <= ci.hi);
  t.deepEqual(medianCI(base), ci);
});

test('latency suite: C3, target c and C8 from rows with raw samples', async (t) => {
  const { latencyVerdicts } = await import('../bench/suites/latency.js');
  const s = (xs: number[]) => ({ fault_us_samples: xs, fault_us_median: xs[0]! });
  const mp = [3.5, 3.6, 3.7, 3.6, 3.5, 3.8];
  const rows = [
    { part: 'fault', mode: 'mprotect (SIGSEGV)', ...s(mp) },
    { part: 'fault', mode: 'mprotect (SIGSEGV), drain-wake batch', ...s(mp) },
    { part: 'fault', mode: 'uffd SIGBUS', ...s(mp.map((x) => x * 1.02)) },
    { part: 'fault', mode: 'uffd thread (poll, any cpu)', ...s(mp.map((x) => x * 1.4)) },
    { part: 'fault', mode: 'uffd thread, drain-wake batch', ...s(mp.map((x) => x * 1.3)) },
    ...[1, 2, 4].map((k) => ({
      part: 'run',
      mode: `uffd ${k} handlers`,
      writer_throughput_ratio_samples: [0.9, 0.91, 0.92, 0.9, 0.93].map((x) => x * (k === 1 ? 1 : 1.05)),
    })),
  ];
  const v = latencyVerdicts(rows);
  const by = (c: string) => v.find((x) => x.claim === c)!;
  t.is(by('C3').verdict, 'refuted');
  t.is(by('target c').verdict, 'met');
  t.regex(by('target c').evidence, /95% CI .* n=6 vs 6; Mann–Whitney p=/);
  t.is(by('C8').verdict, 'confirmed');
});
