/**
 * Where `report` writes (issue 21 items 9 and 10): every output (REPORT.md, report.html, charts/)
 * goes under --out, never into the results directory (which may be read-only), and never through
 * a symlink planted where an output goes; --out naming a file is exit 2; --out in a directory that
 * does not exist is exit 2 and creates nothing; a results directory it cannot reach names EACCES.
 */
import test from 'ava';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';
import { isRoot, testIf } from './skip.js';

const GOOD = path.join(packageRoot, 'results', '2026-12-01-vm-full-b', 'results.json');

function resultsDir(base: string, name = 'res'): string {
  const dir = path.join(base, name);
  mkdirSync(dir);
  copyFileSync(GOOD, path.join(dir, 'results.json'));
  return dir;
}

test('report DIR --out OUT writes everything under OUT and nothing into DIR', async (t) => {
  const base = tempDir(t);
  const dir = resultsDir(base);
  const out = path.join(base, 'out');
  const r = await runCli(['report', dir, '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readdirSync(dir), ['results.json'], 'DIR unchanged');
  t.true(existsSync(path.join(out, 'REPORT.md')));
  t.true(existsSync(path.join(out, 'report.html')));
  t.true(readdirSync(path.join(out, 'charts')).length > 0);
  t.true(r.stdout.startsWith(path.join(out, 'REPORT.md')), r.stdout);
});

testIf(isRoot, 'needs root to run report as another user').serial(
  'report on a results directory it cannot write, with --out: works',
  async (t) => {
    const base = tempDir(t);
    chmodSync(base, 0o777);
    const dir = resultsDir(base); // root's, 0755: nobody reads it, cannot write it
    const r = await runCli(['report', dir, '--out', path.join(base, 'out')], { uid: 65534, gid: 65534 });
    t.is(r.code, 0, r.stderr);
    t.deepEqual(readdirSync(dir), ['results.json']);
  },
);

for (const withOut of [false, true])
  test(`report never writes through a planted symlink${withOut ? ' (--out)' : ''}`, async (t) => {
    const base = tempDir(t);
    const dir = resultsDir(base);
    const out = withOut ? path.join(base, 'out') : dir;
    if (withOut) mkdirSync(out);
    const victim = path.join(base, 'victim');
    writeFileSync(victim, 'precious');
    const elsewhere = path.join(base, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(victim, path.join(out, 'REPORT.md'));
    symlinkSync(victim, path.join(out, 'report.html'));
    symlinkSync(elsewhere, path.join(out, 'charts'));
    const r = await runCli(['report', dir, ...(withOut ? ['--out', out] : [])]);
    t.is(readFileSync(victim, 'utf8'), 'precious', 'the symlinks target is untouched');
    t.deepEqual(readdirSync(elsewhere), [], 'nothing written into the directory charts points to');
    if (r.code === 0) {
      t.true(lstatSync(path.join(out, 'REPORT.md')).isFile());
      t.true(lstatSync(path.join(out, 'report.html')).isFile());
    } else {
      t.is(r.code, 2, r.stderr);
      t.regex(r.stderr, /charts.* symbolic link/);
    }
  });

test('report --out naming an existing file: one line, exit 2', async (t) => {
  const base = tempDir(t);
  const dir = resultsDir(base);
  const file = path.join(base, 'file');
  writeFileSync(file, 'x');
  const r = await runCli(['report', dir, '--out', file]);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /is not a directory/);
  t.is(readFileSync(file, 'utf8'), 'x');
});

test('report --out in a directory that does not exist: exit 2, nothing created', async (t) => {
  const base = tempDir(t);
  const dir = resultsDir(base);
  const r = await runCli(['report', dir, '--out', path.join(base, 'nonexist', 'deep', 'x')]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /nonexist.* does not exist/);
  t.false(existsSync(path.join(base, 'nonexist')));
});

testIf(isRoot, 'needs root to run report as another user').serial(
  'report on a results directory it cannot reach: EACCES named, not "no results.json"',
  async (t) => {
    const base = tempDir(t);
    const dir = resultsDir(base);
    chmodSync(base, 0o700);
    const r = await runCli(['report', dir, '--out', '/tmp/never-written-report'], { uid: 65534, gid: 65534 });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /EACCES/);
    t.false(existsSync('/tmp/never-written-report'));
  },
);
