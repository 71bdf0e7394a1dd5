/**
 * The accelerator in every result (issue 19): `compare` gives no timing verdict across
 * accelerators or under TCG while counts still compare; `report` marks timing claims of TCG runs
 * "not measurable here (emulated CPU)" and keeps behavioural ones; the machine heads name it.
 */
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostFacts } from '../bench/charts/data.js';
import { compareResults } from '../bench/compare.js';
import { renderReport } from '../bench/report.js';
import { BENCH_SCHEMA, loadResults, type BenchResults } from '../bench/results.js';
import { TIMING_CLAIMS } from '../bench/verdicts.js';
import { environment } from '../src/env.js';
import { tempDir } from './helpers.js';

const FAULT = 'ci/part=fault,mode=thread,backend=uffd,pages=4096/fault_us';
const COUNT = 'ci/part=snapshot,mode=file,backend=uffd/verified_runs';
const fast = [10, 10.2, 9.9, 10.1, 10.3, 9.8, 10.0, 10.05];
const slow = fast.map((x) => x * 3);

function results(accel: string | undefined, metrics: Record<string, number[]>): BenchResults {
  const cal = { memcpy_MBps: 20000, page_fault_ns: 1500, sink_MBps: 500, sink_bytes: 1 << 28 };
  const env = { ...environment(), ...(accel === undefined ? {} : { accel }) } as BenchResults['env'];
  if (accel === undefined) delete (env as { accel?: string }).accel;
  return {
    schema: BENCH_SCHEMA,
    env,
    calibration: cal,
    calibrations: [cal, cal],
    calibration_spread: { memcpy_MBps: 0, page_fault_ns: 0, sink_MBps: 0 },
    noise: { warning: null },
    options: {},
    backends: ['uffd'],
    skipped_backends: [],
    suites: {
      ci: {
        claim: 'CI preset',
        description: 'test',
        seconds: 1,
        rows: [],
        verdicts: [
          { claim: 'C3', verdict: 'confirmed', evidence: 'uffd fault ÷ mprotect fault = 0.5' },
          { claim: 'C7', verdict: 'confirmed', evidence: 'softdirty image at the end point' },
          { claim: 'target c', verdict: 'met', evidence: 'ratio 0.4' },
        ],
      },
    },
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, samples]) => [k, { samples, unit: 'µs' }])),
  } as BenchResults;
}

const inputs = (...rs: BenchResults[]) => rs.map((r, i) => ({ label: `r${i}`, file: `r${i}`, results: r }));

test('compare: a timing change between runs of the same host accelerator is judged (control)', (t) => {
  const c = compareResults(inputs(results(undefined, { [FAULT]: fast }), results('none', { [FAULT]: slow })));
  t.is(c.rows.find((r) => r.key === FAULT)!.changes[0]!.verdict, 'regressed');
});

for (const [base, next] of [
  ['tcg', 'tcg'],
  ['none', 'tcg'],
  ['kvm', 'none'],
] as const)
  test(`compare: no timing verdict between ${base} and ${next}; exact counts still compare`, (t) => {
    const c = compareResults(
      inputs(results(base, { [FAULT]: fast, [COUNT]: [8] }), results(next, { [FAULT]: slow, [COUNT]: [6] })),
      {},
    );
    const fault = c.rows.find((r) => r.key === FAULT)!.changes[0]!;
    t.is(fault.verdict, 'no timing verdict');
    t.false(fault.gate);
    t.regex(
      fault.reason!,
      base === next ? /both under TCG/ : new RegExp(`accelerators differ \\(${base} vs ${next}\\)`),
    );
    const count = c.rows.find((r) => r.key === COUNT)!.changes[0]!;
    t.is(count.verdict, 'regressed', 'verified runs 8 -> 6 is still a regression');
    t.true(count.gate);
    t.is(
      c.fingerprint.some((f) => f.field === 'accel'),
      base !== next,
      'differing accelerators are a fingerprint difference',
    );
  });

test('report: timing claims of a TCG run are not measurable here (emulated CPU); behavioural ones keep their verdicts', (t) => {
  const dir = tempDir(t);
  for (const accel of ['tcg', 'kvm']) {
    const d = path.join(dir, accel);
    mkdirSync(d);
    writeFileSync(path.join(d, 'results.json'), JSON.stringify(results(accel, { [FAULT]: fast })));
  }
  const tcg = loadResults(path.join(dir, 'tcg'));
  const verdicts = Object.fromEntries(tcg.suites['ci']!.verdicts!.map((v) => [v.claim, v]));
  t.true(TIMING_CLAIMS.has('C3') && !TIMING_CLAIMS.has('C7'));
  t.is(verdicts['C3']!.verdict, 'not measurable here');
  t.regex(
    verdicts['C3']!.evidence,
    /^not measurable here \(emulated CPU: QEMU TCG.*as measured: confirmed, uffd fault/,
  );
  t.is(verdicts['target c']!.verdict, 'not measurable here');
  t.is(verdicts['C7']!.verdict, 'confirmed');
  t.regex(
    renderReport(tcg as never),
    /\| C3 \|.*\| \*\*not measurable here\*\* \| not measurable here \(emulated CPU/,
  );
  const kvm = loadResults(path.join(dir, 'kvm'));
  t.is(kvm.suites['ci']!.verdicts!.find((v) => v.claim === 'C3')!.verdict, 'confirmed', 'KVM times are real');
  t.regex(hostFacts({ results: tcg } as never).kernel, / \(QEMU tcg\)$/);
  t.notRegex(hostFacts({ results: results(undefined, {}) } as never).kernel, /QEMU/);
});
