/**
 * `bench` locks its results directory (issue 24 item 7): a second bench into the same --out is
 * refused in one line, exit 2, and touches nothing of the first's (its scratch directory, its
 * results.json).
 */
import test from 'ava';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from './helpers.js';

/** Resolves once `file` exists, or rejects when `done` settles first (the bench ended too soon). */
function appears(file: string, done: Promise<CliResult>): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = false;
    void done.then((r) => {
      ended = true;
      reject(new Error(`the first bench ended (exit ${r.code}) before ${file} appeared: ${r.stderr}`));
    });
    const poll = () => {
      if (ended) return;
      if (existsSync(file)) resolve();
      else setTimeout(poll, 20);
    };
    poll();
  });
}

test.serial(
  'a second bench into the directory a bench is writing is refused: one line, exit 2',
  async (t) => {
    const out = path.join(tempDir(t), 'results');
    let first: { kill(sig: NodeJS.Signals): boolean } | undefined;
    const running = runCli(['bench', 'vma', '--quick', '--backends', 'uffd', '--out', out], {
      onSpawn: (child) => (first = child),
    });
    t.teardown(() => first?.kill('SIGKILL'));
    // The scratch directory is made after the lock is taken, and removed before it is dropped.
    const scratch = path.join(out, 'tmp');
    await appears(scratch, running);

    const second = await runCli(['bench', 'vma', '--quick', '--backends', 'uffd', '--out', out]);
    t.is(second.code, 2, second.stderr);
    t.deepEqual(second.stderr.trim().split('\n'), [
      `cowbench: bench: another cowbench bench is writing into ${out}: wait for it to finish, or give another --out`,
    ]);
    t.is(second.stdout, '');
    t.true(existsSync(scratch), "the refused bench left the first's scratch directory alone");
    t.false(existsSync(path.join(out, 'results.json')), 'the refused bench wrote nothing');
    // The bench's lock is not the directory's commit lock: a run committing into it is not held up.
    const run = await runCli([
      'run',
      '--size',
      '4M',
      '--baseline-ms',
      '0',
      '--out',
      path.join(out, 'x.img'),
      '--json',
    ]);
    t.is(run.code, 0, run.stderr);
    rmSync(path.join(out, 'x.img'));
    rmSync(path.join(out, 'x.img.json'));

    first!.kill('SIGTERM');
    const r = await running;
    t.is(r.code, 143, r.stderr);
    t.deepEqual(readdirSync(out), [], 'the first bench, interrupted before a suite finished, wrote nothing');
  },
);
