/**
 * `compare` and `report` on results files that are not regular files, or too large (issue 21
 * item 3): a FIFO blocked both forever, a symlink to /dev/zero grew to 16.8 GB and aborted. Each
 * is refused in one line naming the file, exit 2, before anything is read.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_RESULTS_BYTES } from '../bench/results.js';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';

/** A committed results.json to stand beside the hostile one (compare needs two inputs). */
const GOOD = path.join(packageRoot, 'results', '2026-12-01-vm-full-b');

const hostile: [string, (file: string) => void, RegExp][] = [
  ['a FIFO', (f) => execFileSync('mkfifo', [f]), /is a FIFO, not a regular file/],
  ['a symlink to /dev/zero', (f) => symlinkSync('/dev/zero', f), /is a character device, not a regular file/],
  ['a symlink to /dev/null', (f) => symlinkSync('/dev/null', f), /is a character device, not a regular file/],
  ['a directory', (f) => mkdirSync(f), /is a directory, not a regular file/],
  [
    'a sparse file one byte over the cap',
    (f) => {
      writeFileSync(f, '');
      truncateSync(f, MAX_RESULTS_BYTES + 1);
    },
    /is larger than the .* a results file may be/,
  ],
];

for (const [what, make, why] of hostile)
  for (const command of ['report', 'compare'] as const)
    test(`${command} on a results.json that is ${what}: one line naming it, exit 2`, async (t) => {
      const dir = tempDir(t);
      const file = path.join(dir, 'results.json');
      make(file);
      const args = command === 'report' ? ['report', dir] : ['compare', GOOD, dir];
      // Before the fix a FIFO blocked for ever: a hang is ended here and fails the test.
      const r = await runCli(args, {
        onSpawn: (child) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.on('exit', () => clearTimeout(timer));
        },
      });
      t.is(r.code, 2, `${r.signal ?? ''} ${r.stderr}`);
      t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
      t.true(r.stderr.includes(file), r.stderr);
      t.regex(r.stderr, why);
    });

test('the cap holds every committed results.json with room to spare', (t) => {
  const biggest = Math.max(
    ...execFileSync('find', [path.join(packageRoot, 'results'), '-name', 'results.json'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .map((f) => readFileSync(f).length),
  );
  t.true(biggest * 16 < MAX_RESULTS_BYTES, `${biggest} bytes`);
});

/**
 * Elements of the arrays report reads, checked against the schema (issue 21 item 8; since issue 24
 * item 7 the schema itself, compiled at build time): a `null` inside `verdicts` or
 * `skipped_backends` crashed report with a stack trace.
 */
const base = () =>
  JSON.parse(readFileSync(path.join(GOOD, 'results.json'), 'utf8')) as Record<string, unknown>;
const suiteOf = (d: Record<string, unknown>) =>
  (d['suites'] as Record<string, Record<string, unknown>>)['latency']!;
const mutations: [string, (d: Record<string, unknown>) => void, RegExp][] = [
  [
    'a null verdict',
    (d) => ((suiteOf(d)['verdicts'] as unknown[])[0] = null),
    /: \.suites\.latency\.verdicts\[0\] is null, not an object$/m,
  ],
  [
    'a verdict without its verdict',
    (d) => ((suiteOf(d)['verdicts'] as Record<string, unknown>[])[0]!['verdict'] = null),
    /: \.suites\.latency\.verdicts\[0\]\.verdict is null, not one of "confirmed"/,
  ],
  [
    'a null finding',
    (d) => (suiteOf(d)['findings'] = [null]),
    /: \.suites\.latency\.findings\[0\] is null, not a string$/m,
  ],
  [
    'a null skipped backend',
    (d) => (d['skipped_backends'] = [null]),
    /: \.skipped_backends\[0\] is null, not an object$/m,
  ],
  ['a numeric backend', (d) => (d['backends'] = [5]), /: \.backends\[0\] is 5, not a string$/m],
  [
    'a null calibration',
    (d) => (d['calibrations'] = [null]),
    /: \.calibrations\[0\] is null, not an object$/m,
  ],
];
for (const [what, mutate, why] of mutations)
  test(`report on a results.json with ${what}: one line naming it, exit 2`, async (t) => {
    const dir = tempDir(t);
    const data = base();
    mutate(data);
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify(data));
    const r = await runCli(['report', dir]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, why);
    t.notRegex(r.stderr, /internal error|\n\s+at /);
  });

test('report draws no trace from a latency trace that is not an object (raw is free-form)', async (t) => {
  const dir = tempDir(t);
  const data = base();
  const raw = suiteOf(data)['raw'] as { traces: Record<string, unknown> };
  raw.traces[Object.keys(raw.traces)[0]!] = null;
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(data));
  const r = await runCli(['report', dir]);
  t.is(r.code, 0, r.stderr);
});
