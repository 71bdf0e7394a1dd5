/**
 * Every file bench writes, checked: results.json against schema/results.schema.json (ajv), every
 * metric key in the registry's key shape with its raw samples, the CSVs and REPORT.md; and
 * `report` on damaged or mis-shaped results.json (one line naming the file and what is wrong,
 * exit 2: issue 10 item 7).
 */
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lookupMetric, parseKey } from '../bench/metrics.js';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';
import { validateResults } from './schema-helpers.js';

test.serial(
  'bench --ci (one trial, uffd) writes a results.json that validates, with raw samples of registered metrics',
  async (t) => {
    const out = path.join(tempDir(t), 'ci');
    const r = await runCli(['bench', '--ci', '--repeat', '1', '--backends', 'uffd', '--out', out]);
    t.is(r.code, 0, r.stderr);
    const data = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      metrics: Record<string, { samples: number[] }>;
      calibrations: unknown[];
      env: { git_commit: string; kernel_config: Record<string, string> };
    };
    t.deepEqual(validateResults(data), []);
    t.true(data.calibrations.length >= 3, 'calibration repeated through the run');
    t.regex(data.env.git_commit, /^([0-9a-f]{40}(-dirty)?|not a git checkout|unknown)$/);
    const keys = Object.keys(data.metrics);
    t.true(keys.length >= 10, keys.join(', '));
    for (const k of keys) {
      t.truthy(parseKey(k), k);
      t.truthy(lookupMetric(k), `${k} is in the registry`);
      t.true(data.metrics[k]!.samples.length >= 1, k);
    }
    t.true(keys.some((k) => k.endsWith('/fault_us')));
    t.true(keys.some((k) => k.endsWith('/pause_us')));
    // The CSV and the report beside it.
    const csv = readFileSync(path.join(out, 'ci.csv'), 'utf8').trim().split('\n');
    t.true(csv.length > 1);
    const header = csv[0]!.split(',');
    t.true(header.includes('part') && header.includes('fault_us_median'), csv[0]);
    t.false(
      header.some((c) => c.endsWith('_samples')),
      'samples live in results.json, not the CSV',
    );
    t.true(existsSync(path.join(out, 'REPORT.md')));
    t.false(existsSync(path.join(out, 'tmp')), 'scratch directory removed');
    // report regenerates it from the file.
    const rep = await runCli(['report', out]);
    t.is(rep.code, 0, rep.stderr);
  },
);

const damaged: [string, string, RegExp][] = [
  ['null', 'null', /is null, not a results object/],
  ['array', '[]', /is an array, not a results object/],
  ['empty object', '{}', /has no 'schema' field/],
  ['empty file', '', /is empty/],
  ['truncated', '{"schema": "cowbench.bench/2", "env": {', /is not valid JSON/],
  ['other schema', '{"schema": "cowbench.run/1"}', /not a cowbench bench results file/],
  ['later version', '{"schema": "cowbench.bench/3"}', /this cowbench reads .*: upgrade cowbench/],
];

/** A committed version-1 results.json, mutated: the schema of its version judges it. */
const V1 = path.join(packageRoot, 'results', '2026-11-26-vm', 'results.json');
const v1 = (mutate: (d: Record<string, unknown>) => void) => {
  const d = JSON.parse(readFileSync(V1, 'utf8')) as Record<string, unknown>;
  mutate(d);
  return JSON.stringify(d);
};
const suites = (d: Record<string, unknown>) => d['suites'] as Record<string, Record<string, unknown>>;
damaged.push(
  ['v1 with suites null', v1((d) => (d['suites'] = null)), /: \.suites is null, not an object$/m],
  ['v1 suite without rows', v1((d) => delete suites(d)['vma']!['rows']), /: \.suites\.vma has no 'rows'$/m],
  [
    'v1 suite that is a number',
    v1((d) => (suites(d)['vma'] = 3 as never)),
    /: \.suites\.vma is 3, not an object$/m,
  ],
  [
    'v1 row that is a string',
    v1((d) => ((suites(d)['vma']!['rows'] as unknown[])[0] = 'x')),
    /: \.suites\.vma\.rows\[0\] is the string "x", not an object$/m,
  ],
  [
    'v1 without its kernel in the fingerprint',
    v1((d) => delete (d['env'] as Record<string, unknown>)['kernel']),
    /: \.env has no 'kernel'$/m,
  ],
  [
    'v2 without its samples',
    v1((d) => (d['schema'] = 'cowbench.bench/2')),
    /: has no '(calibrations|metrics)'$/m,
  ],
);

for (const [name, text, why] of damaged)
  test(`report on a ${name} results.json: one line naming the file, exit 2`, async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'results.json');
    writeFileSync(file, text);
    const r = await runCli(['report', dir]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.true(r.stderr.includes(file), r.stderr);
    t.regex(r.stderr, why);
    t.false(existsSync(path.join(dir, 'REPORT.md')));
  });

test('report on a directory without results.json, and on a missing one: exit 2', async (t) => {
  const dir = tempDir(t);
  for (const target of [dir, path.join(dir, 'nope')]) {
    const r = await runCli(['report', target]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1);
  }
});
