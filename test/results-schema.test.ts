/**
 * results.json is checked against schema/results*.schema.json itself (issue 24 item 7): the
 * validators compiled at build time (scripts/compile-schema.mjs) are the committed schemas', need
 * no ajv at run time, accept every committed results directory, and turn a damaged or foreign
 * file into one line naming it and its first problem (exit 2) in compare, report and history.
 */
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_SCHEMA, loadResults, resultsProblem } from '../bench/results.js';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';
import { SCHEMA_VERSIONS, validateResults } from './schema-helpers.js';

const committed = (readdirSync(path.join(packageRoot, 'results'), { recursive: true }) as string[])
  .filter((f) => path.basename(f) === 'results.json')
  .map((f) => path.join(packageRoot, 'results', f))
  .sort();
/** A committed version-2 results directory. */
const GOOD = path.join(packageRoot, 'results', '2026-12-01-vm-full-b');
const GOOD_FILE = path.join(GOOD, 'results.json');

test('the compiled validators are those of the committed schemas (npm run build:ts recompiles them)', async (t) => {
  const script = (await import(
    pathToFileURL(path.join(packageRoot, 'scripts', 'compile-schema.mjs')).href
  )) as {
    schemaDigest(): string;
    GENERATED: string;
  };
  const generated = readFileSync(path.join(packageRoot, script.GENERATED), 'utf8');
  t.is(/^\/\/ schema sha256: ([0-9a-f]{64})$/m.exec(generated)?.[1], script.schemaDigest());
});

test('the version bench writes has a schema, and each schema file names a version of its own', (t) => {
  t.true(SCHEMA_VERSIONS.includes(BENCH_SCHEMA), SCHEMA_VERSIONS.join(', '));
  t.is(new Set(SCHEMA_VERSIONS).size, SCHEMA_VERSIONS.length);
});

test('nothing the package runs loads ajv: the compiled code imports no module', (t) => {
  const dist = path.join(packageRoot, 'dist');
  const js = ['src', 'bench'].flatMap((d) =>
    (readdirSync(path.join(dist, d), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join(dist, d, f)),
  );
  t.true(js.some((f) => f.endsWith(path.join('generated', 'results-validators.js'))));
  for (const f of js) t.notRegex(readFileSync(f, 'utf8'), /from ['"]ajv|require\(['"]ajv|import\(['"]ajv/, f);
  const compiled = readFileSync(path.join(dist, 'bench', 'generated', 'results-validators.js'), 'utf8');
  t.notRegex(compiled, /\brequire\(|^\s*import\s/m);
});

test('every committed results.json, version 1 and 2, is valid by its version and loads', (t) => {
  const versions = new Map<string, number>();
  for (const file of committed) {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { schema: string };
    t.deepEqual(validateResults(data), [], file);
    t.is(resultsProblem(data, false), null, file);
    t.notThrows(() => loadResults(file), file);
    versions.set(data.schema, (versions.get(data.schema) ?? 0) + 1);
  }
  t.true((versions.get('cowbench.bench/1') ?? 0) >= 2, JSON.stringify([...versions]));
  t.true((versions.get('cowbench.bench/2') ?? 0) >= 20, JSON.stringify([...versions]));
});

test('the compiled validator and ajv agree on a damaged file (the first problem is one of all of them)', (t) => {
  const data = JSON.parse(readFileSync(GOOD_FILE, 'utf8')) as Record<string, unknown>;
  (data['backends'] as unknown[])[0] = 5;
  (data['env'] as Record<string, unknown>)['cores'] = 'two';
  const all = validateResults(data);
  t.is(all.length, 2, all.join('; '));
  t.regex(
    resultsProblem(data, false)!,
    /^\.(env\.cores is the string "two", not an integer|backends\[0\] is 5, not a string)$/,
  );
});

type Mutation = (d: Record<string, unknown>) => void;
const suite = (d: Record<string, unknown>) =>
  (d['suites'] as Record<string, Record<string, unknown>>)['latency']!;
const firstMetric = (d: Record<string, unknown>) => {
  const metrics = d['metrics'] as Record<string, Record<string, unknown>>;
  return metrics[Object.keys(metrics).sort()[0]!]!;
};

/** A committed file, damaged one way each, and the line that names it. */
const damaged: [string, Mutation, RegExp][] = [
  [
    'a row cell that is an array',
    (d) => ((suite(d)['rows'] as Record<string, unknown>[])[3]!['backend'] = ['uffd']),
    /: \.suites\.latency\.rows\[3\]\.backend is an array, not a string, a number, a boolean or null$/,
  ],
  [
    'a verdict no one knows',
    (d) => ((suite(d)['verdicts'] as Record<string, unknown>[])[0]!['verdict'] = 'great'),
    /: \.suites\.latency\.verdicts\[0\]\.verdict is the string "great", not one of "confirmed", /,
  ],
  [
    'a sample that is a string',
    (d) => ((firstMetric(d)['samples'] as unknown[])[0] = 'x'),
    /: \.metrics\["calibration\/all\/memcpy_MBps"\]\.samples\[0\] is the string "x", not a number$/,
  ],
  [
    'a metric key that is not suite/case/metric',
    (d) => ((d['metrics'] as Record<string, unknown>)['pause_us'] = { samples: [1], unit: 'µs' }),
    /: \.metrics has a key "pause_us" that does not match /,
  ],
  ['no host fingerprint', (d) => delete d['env'], /: has no 'env'$/],
  [
    'an unknown later version',
    (d) => (d['schema'] = 'cowbench.bench/9'),
    /: has schema 'cowbench\.bench\/9'; this cowbench reads cowbench\.bench\/1 or cowbench\.bench\/2: upgrade cowbench$/,
  ],
  [
    'a foreign JSON file',
    (d) => {
      for (const k of Object.keys(d)) delete d[k];
      d['name'] = 'not cowbench';
    },
    /: has no 'schema' field \(not a cowbench bench results file\)$/,
  ],
];

for (const [what, mutate, why] of damaged)
  test(`compare, report and history add on a results.json with ${what}: one line naming it, exit 2`, async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'results.json');
    const data = JSON.parse(readFileSync(GOOD_FILE, 'utf8')) as Record<string, unknown>;
    mutate(data);
    writeFileSync(file, JSON.stringify(data));
    for (const args of [
      ['compare', GOOD, dir],
      ['report', '--out', path.join(dir, 'report'), dir],
      ['history', 'add', '--db', path.join(dir, 'db'), dir],
    ]) {
      const r = await runCli(args);
      t.is(r.code, 2, `${args[0]}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      t.is(lines.length, 1, r.stderr);
      t.true(lines[0]!.startsWith(`cowbench: ${file}: `), r.stderr);
      t.regex(lines[0]!, why);
    }
  });
