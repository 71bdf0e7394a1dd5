/**
 * Issue 10 item 6: compat removes its scratch directory on every exit path — a cell killed on its
 * timeout (its child never cleans up: the scratch image it started stays unless compat removes
 * it) and SIGTERM of compat itself while a cell runs. Every temporary file of compat and its
 * cells goes under TMPDIR, so an empty TMPDIR afterwards is the proof.
 */
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runCompat } from '../src/compat.js';
import { runCli, tempDir } from './helpers.js';

/** Files and directories below `dir` (recursively). */
function entries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? [p, ...entries(p)] : [p];
  });
}

/** A cell's private scratch directory (where its image goes) exists below TMPDIR. */
const cellImage = (tmp: string) => entries(tmp).some((p) => /\/cowbench-(?!compat-)[^/]+$/.test(p));

test.serial('a cell killed on its timeout leaves nothing behind', async (t) => {
  const tmp = tempDir(t);
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = tmp;
  t.teardown(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  });
  let sawImage = false;
  const poll = setInterval(() => (sawImage ||= cellImage(tmp)), 20);
  const result = await runCompat({
    sizeBytes: 2 * 1024 ** 3,
    backends: ['uffd'],
    writers: ['cpu'],
    cellTimeoutMs: 2500,
  });
  clearInterval(poll);
  const cell = result.rows[0]!.cells[0]!;
  t.is(cell.status, 'failed');
  t.regex(cell.detail, /timed out after 2500 ms/);
  t.true(sawImage, 'the cell had created its scratch directory before it was killed');
  t.deepEqual(entries(tmp), []);
});

test.serial('SIGTERM of compat while a cell runs: exit 143, scratch directory removed', async (t) => {
  const tmp = tempDir(t);
  let sawImage = false;
  const r = await runCli(['compat', '--size', '2G', '--backends', 'uffd', '--writers', 'cpu'], {
    env: { TMPDIR: tmp },
    onSpawn: (child) => {
      const poll = setInterval(() => {
        if (cellImage(tmp)) {
          sawImage = true;
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 20);
      child.on('exit', () => clearInterval(poll));
    },
  });
  t.true(sawImage, 'a cell was running with its scratch directory');
  t.is(r.code, 143, r.stderr);
  t.regex(r.stderr, /scratch directory removed/);
  t.deepEqual(entries(tmp), []);
});

test.serial('a normal compat run removes its scratch directory', async (t) => {
  const tmp = tempDir(t);
  const r = await runCli(['compat', '--size', '16M', '--backends', 'uffd', '--writers', 'cpu', '--json'], {
    env: { TMPDIR: tmp },
  });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(entries(tmp), []);
});
