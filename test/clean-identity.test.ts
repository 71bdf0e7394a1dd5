/**
 * `clean` and run's sweep decide by identity, not by path or name (issue 21 item 5), and say why
 * they cannot clean (item 10):
 * - a temporary held open by a live process is kept when the directory is named through a
 *   symlink ((st_dev, st_ino) against /proc/PID/fd, not a resolved path against an unresolved one);
 * - a live process that is not cowbench (a library user) and no longer holds its temporary (between
 *   closing and renaming) keeps it, unless it started after the file was created (PID reuse);
 * - a `cowbench-<dead pid>-XXXXXX` directory is removed only when the caller owns it and it holds
 *   nothing but a run's own files;
 * - an unreadable directory is an error naming EACCES (exit 1), a missing --out directory exit 2.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from './helpers.js';
import { isRoot, testIf } from './skip.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}

/** A /bin/sh (not cowbench) that runs `script` with $0 = dir, says ready, then sleeps. */
async function holder(t: Parameters<typeof tempDir>[0], script: string, dir: string): Promise<ChildProcess> {
  const child = spawn('/bin/sh', ['-c', `${script}; echo ready; exec sleep 60`, dir], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  return child;
}

test('clean through a symlinked directory keeps a temporary a live process holds open', async (t) => {
  const base = tempDir(t);
  const real = path.join(base, 'real');
  mkdirSync(real);
  symlinkSync(real, path.join(base, 'link'));
  const h = await holder(t, 'exec 3>"$0/.snap.img.cowbench-$$-1.tmp"', real);
  const live = `.snap.img.cowbench-${h.pid}-1.tmp`;
  const r = await runCli(['clean', path.join(base, 'link')]);
  t.is(r.code, 0, r.stderr);
  t.true(readdirSync(real).includes(live), r.stdout);
  // run's sweep uses the same code.
  const run = await runCli([
    'run',
    '--size',
    '4M',
    '--baseline-ms',
    '0',
    '--out',
    path.join(base, 'link', 'snap.img'),
  ]);
  t.is(run.code, 0, run.stderr);
  t.true(readdirSync(real).includes(live), run.stderr);
});

test('a live non-cowbench process that closed its temporary keeps it; one with a reused PID does not', async (t) => {
  const dir = tempDir(t);
  // Created by the live process itself, then closed (a library snapshot between close and rename).
  const own = await holder(t, ': > "$0/.a.img.cowbench-$$-1.tmp"', dir);
  // Created before the process that now has the PID in its name started: that PID was reused.
  const early = path.join(dir, 'early');
  writeFileSync(early, 'x');
  await sleep(2100);
  const later = await holder(t, 'true', dir);
  renameSync(early, path.join(dir, `.b.img.cowbench-${later.pid}-1.tmp`));
  const r = await runCli(['clean', dir]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readdirSync(dir), [`.a.img.cowbench-${own.pid}-1.tmp`], r.stdout);
  t.regex(
    r.stdout,
    new RegExp(
      `removed .*\\.b\\.img\\.cowbench-${later.pid}-1\\.tmp \\(temporary of pid ${later.pid}, now another program`,
    ),
  );
});

testIf(isRoot, 'needs root to give a directory to another user').serial(
  "the scratch sweep removes only the caller's directories holding nothing but a run's files",
  async (t) => {
    const tmp = tempDir(t);
    const pid = await deadPid();
    const mk = (files: string[]) => {
      const d = mkdtempSync(path.join(tmp, `cowbench-${pid}-`));
      for (const f of files) writeFileSync(path.join(d, f), 'x');
      return d;
    };
    const runs = mk(['image', `.image.cowbench-${pid}-3.tmp`]);
    const thesis = mk(['thesis.tex']);
    const mixed = mk(['image', 'thesis.tex']);
    const others = mk(['image']);
    chownSync(others, 65534, 65534);
    for (const args of [
      ['clean', tmp],
      ['run', '--size', '4M', '--baseline-ms', '0'],
    ]) {
      const r = await runCli(args, { env: { TMPDIR: tmp } });
      t.is(r.code, 0, r.stderr);
    }
    t.false(existsSync(runs), "a run's scratch directory is removed");
    for (const kept of [thesis, mixed, others]) t.true(existsSync(kept), kept);
    t.true(existsSync(path.join(thesis, 'thesis.tex')));
  },
);

testIf(isRoot, 'needs root to run cowbench as another user').serial(
  'clean on a directory it cannot read or reach: EACCES named, exit 1; a missing --out directory: exit 2',
  async (t) => {
    const base = tempDir(t);
    chmodSync(base, 0o755);
    const closed = path.join(base, 'closed');
    mkdirSync(path.join(closed, 'inner'), { recursive: true });
    chmodSync(closed, 0o700); // root's: nobody can neither list nor enter it
    const nobody = { uid: 65534, gid: 65534 };
    for (const target of [closed, path.join(closed, 'inner')]) {
      const r = await runCli(['clean', target], nobody);
      t.is(r.code, 1, `${target}: ${r.stdout}${r.stderr}`);
      t.regex(r.stderr, /^cowbench: cannot (read|reach) .*: EACCES \(permission denied\)\n$/, target);
      t.notRegex(r.stdout, /nothing to clean/);
    }
    const out = await runCli(['clean', '--out', path.join(closed, 'inner', 'x.img')], nobody);
    t.is(out.code, 1, out.stdout + out.stderr);
    t.regex(out.stderr, /EACCES/);
    const run = await runCli(['run', '--size', '4M', '--out', path.join(closed, 'inner', 'x.img')], nobody);
    t.is(run.code, 2, run.stderr);
    t.regex(run.stderr, /cannot be reached: EACCES/);
    const missing = await runCli(['clean', '--out', path.join(base, 'nonexist', 'x.img')]);
    t.is(missing.code, 2, missing.stdout + missing.stderr);
    t.regex(missing.stderr, /^cowbench: --out: directory .*nonexist does not exist\n$/);
  },
);
