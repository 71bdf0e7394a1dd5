/**
 * `cowbench compare`: verdicts, the gate's exit codes (0 / 1 / 2 with one line), thresholds,
 * N-way columns, and every output format (table, markdown, json, junit, tap), over synthetic
 * results files written in the v2 shape (and validated against schema/results.schema.json).
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compareResults, loadInputs, parseThresholds, renderComparison } from '../bench/compare.js';
import { BENCH_SCHEMA, type BenchResults } from '../bench/results.js';
import { runCli, tempDir } from './helpers.js';
import { validateResults } from './schema-helpers.js';

const env = {
  hostname: 'ci-host',
  kernel: '6.18.0',
  kernel_version: '#1',
  arch: 'x64',
  cpu_model: 'Test CPU',
  cores: 2,
  memory_bytes: 1 << 30,
  thp_mode: 'madvise',
  thp_defrag: 'madvise',
  vm_max_map_count: 65530,
  vm_unprivileged_userfaultfd: 0,
  uffd_mode: 'full',
  virtualized: 'guest',
  node_version: 'v20',
  cowbench_version: '0.1.0',
  git_commit: 'abc',
  kernel_config: { CONFIG_USERFAULTFD: 'y' },
  cpu_governor: 'unavailable',
  date: '2026-12-01T00:00:00Z',
};

const base8 = [10, 10.2, 9.9, 10.1, 10.3, 9.8, 10.0, 10.05];

function results(
  metrics: Record<string, number[]>,
  envOverrides: Record<string, unknown> = {},
): BenchResults {
  const cal = { memcpy_MBps: 20000, page_fault_ns: 1500, sink_MBps: 500, sink_bytes: 1 << 28 };
  return {
    schema: BENCH_SCHEMA,
    env: { ...env, ...envOverrides } as BenchResults['env'],
    calibration: cal,
    calibrations: [cal, cal],
    calibration_spread: { memcpy_MBps: 0, page_fault_ns: 0, sink_MBps: 0 },
    noise: { warning: null },
    options: {},
    backends: ['uffd'],
    skipped_backends: [],
    suites: { ci: { claim: 'CI preset', description: 'test', seconds: 1, rows: [] } },
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, samples]) => [k, { samples, unit: 'µs' }])),
  };
}

function write(t: { teardown(fn: () => void): void }, name: string, r: unknown): string {
  const dir = path.join(tempDir(t), name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'results.json'), typeof r === 'string' ? r : JSON.stringify(r));
  return dir;
}

const FAULT = 'ci/part=fault,mode=thread,backend=uffd,pages=4096/fault_us';
const RATE = 'ci/part=snapshot,mode=devnull,backend=uffd/throughput_MBps';
const COUNT = 'ci/part=snapshot,mode=file,backend=uffd/verified_runs';
const ONLY_BASE = 'ci/part=snapshot,mode=file,backend=mprotect/pause_us';

test('the synthetic fixtures are valid results files', (t) => {
  t.deepEqual(validateResults(results({ [FAULT]: base8 })), []);
});

test('A/A: the same distribution is ~ and the gate passes', (t) => {
  const c = compareResults([
    { label: 'a', file: 'a', results: results({ [FAULT]: base8 }) },
    { label: 'b', file: 'b', results: results({ [FAULT]: [...base8].reverse() }) },
  ]);
  t.is(c.rows[0]!.changes[0]!.verdict, '~');
  t.is(c.gate_failures.length, 0);
  t.deepEqual(c.fingerprint, []);
});

test('a slower timing is regressed (p < 0.05) and fails the gate beyond the threshold; a higher rate is improved', (t) => {
  const c = compareResults([
    { label: 'base', file: 'a', results: results({ [FAULT]: base8, [RATE]: base8 }) },
    {
      label: 'new',
      file: 'b',
      results: results({ [FAULT]: base8.map((x) => x * 2), [RATE]: base8.map((x) => x * 2) }),
    },
  ]);
  const fault = c.rows.find((r) => r.key === FAULT)!.changes[0]!;
  t.is(fault.verdict, 'regressed');
  t.true(fault.p! < 0.05);
  t.true(fault.gate);
  t.true(fault.ci!.lo > 1.5);
  t.is(c.rows.find((r) => r.key === RATE)!.changes[0]!.verdict, 'improved');
  t.is(c.gate_failures.length, 1);
  // Within an overridden threshold: still regressed, but the gate passes.
  const loose = compareResults(
    [
      { label: 'base', file: 'a', results: results({ [FAULT]: base8 }) },
      { label: 'new', file: 'b', results: results({ [FAULT]: base8.map((x) => x * 2) }) },
    ],
    { thresholds: parseThresholds(['fault_us=150%']) },
  );
  t.is(loose.rows[0]!.changes[0]!.verdict, 'regressed');
  t.false(loose.rows[0]!.changes[0]!.gate);
});

test('too few samples is no verdict; exact counts compare exactly; one-sided metrics are named', (t) => {
  const c = compareResults([
    {
      label: 'base',
      file: 'a',
      results: results({ [FAULT]: [1, 2], [COUNT]: [8], [ONLY_BASE]: base8, 'ci/x/unregistered': base8 }),
    },
    { label: 'new', file: 'b', results: results({ [FAULT]: [3, 4], [COUNT]: [7], 'ci/x/only_new': base8 }) },
  ]);
  const v = (k: string) => c.rows.find((r) => r.key === k)!.changes[0]!;
  t.is(v(FAULT).verdict, 'too few samples');
  t.is(v(COUNT).verdict, 'regressed');
  t.true(v(COUNT).gate);
  t.is(v(ONLY_BASE).verdict, 'only in base');
  t.is(v('ci/x/only_new').verdict, 'only in new');
  // What cannot be judged fails the gate, each with its own line; a metric new in NEW does not.
  t.true(v(FAULT).gate);
  t.true(v(ONLY_BASE).gate);
  t.false(v('ci/x/only_new').gate);
  t.false(v('ci/x/unregistered').gate, 'a figure the registry does not know never gates');
  t.is(c.gate_failures.length, 3);
  t.true(c.gate_failures.some((l) => l.startsWith(`${FAULT} (new): too few samples to judge`)));
  t.true(c.gate_failures.some((l) => l.startsWith(`${ONLY_BASE} (new): missing from NEW`)));
});

test('--allow-missing: the gate accepts unjudged base metrics on purpose, and says so', (t) => {
  const c = compareResults(
    [
      {
        label: 'base',
        file: 'a',
        results: results({ [FAULT]: [1, 2], [RATE]: base8, [ONLY_BASE]: base8 }),
      },
      { label: 'new', file: 'b', results: results({ [FAULT]: [3, 4], [RATE]: base8 }) },
    ],
    { allowMissing: true },
  );
  t.deepEqual(c.gate_failures, []);
  t.true(c.allow_missing);
  t.regex(renderComparison(c, 'table'), /2 base metrics not judged, accepted by --allow-missing/);
});

test('memory_bytes jitter within 2% is no fingerprint difference; more is', (t) => {
  const pair = (a: number, b: number) =>
    compareResults([
      { label: 'a', file: 'a', results: results({ [FAULT]: base8 }, { memory_bytes: a }) },
      { label: 'b', file: 'b', results: results({ [FAULT]: base8 }, { memory_bytes: b }) },
    ]).fingerprint.map((d) => d.field);
  t.deepEqual(pair(25_000_000_000, 25_010_000_000), []);
  t.deepEqual(pair(25_000_000_000, 16_000_000_000), ['memory_bytes']);
});

test('fingerprint differences are listed before the numbers', (t) => {
  const c = compareResults([
    { label: 'a', file: 'a', results: results({ [FAULT]: base8 }) },
    { label: 'b', file: 'b', results: results({ [FAULT]: base8 }, { kernel: '6.19.0', thp_mode: 'always' }) },
  ]);
  t.deepEqual(
    c.fingerprint.map((d) => d.field),
    ['kernel', 'thp_mode'],
  );
  const text = renderComparison(c, 'table');
  t.true(text.indexOf('kernel: a=6.18.0, b=6.19.0') < text.indexOf('fault_us'));
});

test('N-way: one column group per NEW input', (t) => {
  const c = compareResults([
    { label: 'k1', file: 'a', results: results({ [FAULT]: base8 }) },
    { label: 'k2', file: 'b', results: results({ [FAULT]: base8 }) },
    { label: 'k3', file: 'c', results: results({ [FAULT]: base8.map((x) => x * 3) }) },
  ]);
  t.is(c.rows[0]!.changes.length, 2);
  t.is(c.rows[0]!.changes[1]!.verdict, 'regressed');
  t.is(c.geomean_cost_pct.length, 2);
  t.true(Math.abs(c.geomean_cost_pct[1]! - 200) < 1e-9);
  const md = renderComparison(c, 'markdown');
  t.regex(
    md,
    /\| case \| metric \| k1 \| k2 \| Δ \[95% CI\] \| p \| verdict \| k3 \| Δ \[95% CI\] \| p \| verdict \|/,
  );
});

test('benchstat-like: one table per case, metric column, Δ with its bootstrap CI, p<0.001 in text, --only-changed', (t) => {
  const c = compareResults([
    { label: 'base', file: 'a', results: results({ [FAULT]: base8, [RATE]: base8, [ONLY_BASE]: base8 }) },
    {
      label: 'new',
      file: 'b',
      results: results({ [FAULT]: base8.map((x) => x * 2), [RATE]: base8, [ONLY_BASE]: base8 }),
    },
  ]);
  const table = renderComparison(c, 'table');
  // The case once as a heading, the metric alone in its column.
  t.regex(table, /^ci · part=fault,mode=thread,backend=uffd,pages=4096$/m);
  t.regex(table, /^ {2}fault_us +10\.03 µs/m);
  t.notRegex(table, /│/, 'no borders');
  const fault = c.rows.find((r) => r.key === FAULT)!.changes[0]!;
  const lo = Math.round((fault.ci!.lo - 1) * 100);
  const hi = Math.round((fault.ci!.hi - 1) * 100);
  t.true(table.includes(`+${fault.pct!.toFixed(1)}% [+${lo}, +${hi}]`), table);
  t.regex(table, /p<0\.001/);
  t.notRegex(table, /p=<0\.001/);
  const md = renderComparison(c, 'markdown', { onlyChanged: true });
  t.regex(md, /fault_us/);
  t.notRegex(md, /throughput_MBps/, 'unchanged rows are left out');
  t.regex(md, /2 unchanged metrics not shown/);
  t.notRegex(renderComparison(c, 'junit'), /p=&lt;/);
});

test('a --threshold key that matches no metric is refused, naming the closest', (t) => {
  const inputs = [
    { label: 'base', file: 'a', results: results({ [FAULT]: base8 }) },
    { label: 'new', file: 'b', results: results({ [FAULT]: base8 }) },
  ];
  t.throws(() => compareResults(inputs, { thresholds: parseThresholds(['fault_uss=10']) }), {
    message: /'fault_uss' matches no metric in these results; closest: .*fault_us/,
  });
  t.notThrows(() => compareResults(inputs, { thresholds: parseThresholds(['ci/fault_us=10']) }));
});

test('formats: markdown, json, junit, tap (KTAP) and a plain table without colour', (t) => {
  const c = compareResults([
    { label: 'base', file: 'a', results: results({ [FAULT]: base8, [RATE]: base8 }) },
    { label: 'new', file: 'b', results: results({ [FAULT]: base8.map((x) => x * 2), [RATE]: base8 }) },
  ]);
  const table = renderComparison(c, 'table');
  t.false(table.includes('\x1b['));
  t.regex(table, /regressed ✗/);
  t.regex(table, /geomean/);
  t.true(renderComparison(c, 'table', { colour: true }).includes('\x1b[1;31m'));
  const md = renderComparison(c, 'markdown');
  t.regex(md, /^## cowbench compare/);
  t.regex(md, /\|---\|/);
  const json = JSON.parse(renderComparison(c, 'json')) as { schema: string; gate_failures: string[] };
  t.is(json.schema, 'cowbench.compare/1');
  t.is(json.gate_failures.length, 1);
  const junit = renderComparison(c, 'junit');
  t.regex(junit, /^<\?xml/);
  t.regex(junit, /<testsuites name="cowbench compare" tests="2" failures="1" skipped="0">/);
  t.is((junit.match(/<failure /g) ?? []).length, 1);
  const tap = renderComparison(c, 'tap').split('\n');
  t.is(tap[0], 'KTAP version 1');
  t.true(tap.includes('1..2'));
  t.is(tap.filter((l) => l.startsWith('not ok ')).length, 1);
  t.is(tap.filter((l) => /^ok \d+ /.test(l)).length, 1);
});

test('bad input: fewer than two inputs, mixed schema versions, nothing in common', (t) => {
  const a = write(t, 'a', results({ [FAULT]: base8 }));
  const old = write(t, 'old', { ...results({ [FAULT]: base8 }), schema: 'cowbench.bench/1' });
  const other = write(t, 'other', results({ 'ci/x/other': base8 }));
  t.throws(() => loadInputs([a]), { message: /needs a BASE and at least one NEW/ });
  t.throws(() => loadInputs([a, old]), { message: /compare needs 'cowbench.bench\/2'/ });
  t.throws(() => compareResults(loadInputs([a, other])), { message: /no metric in common/ });
});

test('CLI exit codes: 0 on A/A, 1 on a regression with --fail-on-regression, 2 on bad input with one line', async (t) => {
  const a = write(t, 'a', results({ [FAULT]: base8 }));
  const same = write(t, 'same', results({ [FAULT]: base8 }));
  const slow = write(t, 'slow', results({ [FAULT]: base8.map((x) => x * 2) }));
  const other = write(t, 'other', results({ 'ci/x/other': base8 }));
  const aa = await runCli(['compare', a, same, '--fail-on-regression']);
  t.is(aa.code, 0, aa.stderr);
  t.regex(aa.stdout, /no significant regression/);
  const ab = await runCli(['compare', a, slow, '--fail-on-regression']);
  t.is(ab.code, 1, ab.stderr);
  t.is((await runCli(['compare', a, slow])).code, 0, 'no gate without --fail-on-regression');
  t.is((await runCli(['compare', a, slow, '--fail-on-regression', '--threshold', `${FAULT}=200%`])).code, 0);
  for (const [args, why] of [
    [[a, path.join(a, 'nope')], /no such file or directory/],
    [[a, other], /no metric in common/],
    [[a, write(t, 'trunc', '{"schema": "cowbench.be')], /is not valid JSON/],
    [[a, same, '--format', 'xml'], /--format: 'xml' is not one of/],
    [[a, same, '--threshold', 'fault_us'], /is not KEY=PCT/],
  ] as [string[], RegExp][]) {
    const r = await runCli(['compare', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, why);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  for (const format of ['markdown', 'json', 'junit', 'tap']) {
    const r = await runCli(['compare', a, slow, '--format', format]);
    t.is(r.code, 0, `${format}: ${r.stderr}`);
  }
  // docs/ci.md's order: array options take one value per flag, so BASE and NEW stay positional.
  const before = await runCli(['compare', '--threshold', `${FAULT}=200%`, a, slow, '--fail-on-regression']);
  t.is(before.code, 0, before.stderr);
  const unknown = await runCli(['compare', a, slow, '--threshold', 'nosuch/metric=5']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /'nosuch\/metric' matches no metric in these results; closest: /);
  // Several formats in one pass, each written whole; the terminal table still on stdout.
  const dir = tempDir(t);
  const both = await runCli([
    'compare',
    a,
    slow,
    '--junit',
    path.join(dir, 'c.xml'),
    '--export-markdown',
    path.join(dir, 'c.md'),
    '--export-json',
    path.join(dir, 'c.json'),
  ]);
  t.is(both.code, 0, both.stderr);
  t.regex(both.stdout, /^ci · /m);
  t.regex(readFileSync(path.join(dir, 'c.xml'), 'utf8'), /<testsuites name="cowbench compare"/);
  t.regex(readFileSync(path.join(dir, 'c.md'), 'utf8'), /^## cowbench compare/);
  t.is(JSON.parse(readFileSync(path.join(dir, 'c.json'), 'utf8')).schema, 'cowbench.compare/1');
  // NO_COLOR and FORCE_COLOR.
  const forced = await runCli(['compare', a, slow], { env: { FORCE_COLOR: '1', NO_COLOR: '' } });
  t.true(forced.stdout.includes('\x1b['));
  const plain = await runCli(['compare', a, slow], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  t.false(plain.stdout.includes('\x1b['));
  t.true(JSON.parse((await runCli(['compare', a, slow, '--json'])).stdout).rows.length === 1);
});

test('CLI: the gate fails when base metrics vanish from NEW or are too thin (issue 21 item 6)', async (t) => {
  const uffd = { [FAULT]: base8, [RATE]: base8, [COUNT]: [8] };
  // As bench writes it: three calibrations, context about the machine, never gated.
  const cal = { 'calibration/all/memcpy_MBps': [8000, 9000, 10000] };
  const a = write(t, 'a', results({ ...uffd, ...cal }));
  const onlyCal = write(t, 'only-cal', results(cal));
  const thin = write(t, 'thin', results({ ...uffd, [FAULT]: [10, 10.1], ...cal }));
  const vanished = await runCli(['compare', a, onlyCal, '--fail-on-regression']);
  t.is(vanished.code, 1, vanished.stdout);
  for (const key of [FAULT, RATE, COUNT])
    t.regex(vanished.stdout, new RegExp(`${key.replace(/[=,/]/g, '.')} \\(.*\\): missing from NEW`));
  t.regex(vanished.stdout, /gate fails: 3 base metrics not judged/);
  const junit = await runCli(['compare', a, onlyCal, '--fail-on-regression', '--format', 'junit']);
  t.is(junit.code, 1);
  t.is((junit.stdout.match(/<failure /g) ?? []).length, 3);
  const tap = await runCli(['compare', a, onlyCal, '--fail-on-regression', '--format', 'tap']);
  t.is((tap.stdout.match(/^not ok /gm) ?? []).length, 3);
  const thinRun = await runCli(['compare', a, thin, '--fail-on-regression']);
  t.is(thinRun.code, 1, thinRun.stdout);
  t.regex(thinRun.stdout, /too few samples to judge: n=8 vs 2/);
  const same = await runCli([
    'compare',
    a,
    write(t, 'same', results({ ...uffd, ...cal })),
    '--fail-on-regression',
  ]);
  t.is(same.code, 0, same.stdout);
  const allowed = await runCli(['compare', a, onlyCal, '--fail-on-regression', '--allow-missing']);
  t.is(allowed.code, 0, allowed.stdout);
  t.regex(allowed.stdout, /3 base metrics not judged, accepted by --allow-missing/);
});

test('a whole suite vanished: the summary line names the first five, every metric keeps its own row and JUnit failure', (t) => {
  const keys = [1, 2, 3, 4, 5, 6, 7, 8].map(
    (p) => `ci/part=fault,mode=thread,backend=uffd,pages=${p}/fault_us`,
  );
  const c = compareResults([
    {
      label: 'base',
      file: 'a',
      results: results({ ...Object.fromEntries(keys.map((k) => [k, base8])), [RATE]: base8 }),
    },
    { label: 'new', file: 'b', results: results({ [RATE]: base8 }) },
  ]);
  t.is(c.gate_failures.length, 8);
  const table = renderComparison(c, 'table');
  const summary = table.split('\n').find((l) => l.startsWith('gate fails:'))!;
  t.regex(summary, /^gate fails: 8 base metrics not judged .*; and 3 more, each marked with its metric$/);
  t.is((summary.match(/\): missing from NEW/g) ?? []).length, 5);
  t.is((table.match(/only in base/g) ?? []).length, 8);
  t.is((renderComparison(c, 'junit').match(/<failure /g) ?? []).length, 8);
});

test('an incomplete (interrupted) input fails the gate in every format; --allow-missing accepts it and says so', async (t) => {
  const partial: BenchResults = {
    ...results({ [RATE]: base8 }),
    incomplete: { signal: 'SIGTERM', exit_code: 143, interrupted_suite: 'latency', not_run: ['scale'] },
  };
  t.deepEqual(validateResults(partial), []);
  const inputs = [
    { label: 'base', file: 'a', results: partial },
    { label: 'new', file: 'b', results: results({ [RATE]: base8 }) },
  ];
  const c = compareResults(inputs);
  t.is(c.gate_failures.length, 1);
  t.regex(
    c.gate_failures[0]!,
    /^base is incomplete \(bench was interrupted by SIGTERM during latency; not run: scale\)/,
  );
  t.regex(renderComparison(c, 'table'), /gate fails: 1 incomplete input/);
  t.regex(
    renderComparison(c, 'junit'),
    /name="base is complete"><failure message="incomplete: bench was interrupted/,
  );
  t.regex(renderComparison(c, 'tap'), /^not ok \d+ base_is_complete # incomplete/m);
  const accepted = compareResults(inputs, { allowMissing: true });
  t.deepEqual(accepted.gate_failures, []);
  t.regex(renderComparison(accepted, 'table'), /incomplete, accepted by --allow-missing: base/);
  t.regex(renderComparison(accepted, 'tap'), /^ok \d+ base_is_complete # SKIP incomplete/m);
  // The CLI: exit 1 with --fail-on-regression.
  const a = write(t, 'a', partial);
  const b = write(t, 'b', results({ [RATE]: base8 }));
  const r = await runCli(['compare', a, b, '--fail-on-regression']);
  t.is(r.code, 1, r.stderr);
});
