/**
 * A bench run child killed by a signal (the OOM killer's SIGKILL, in a guest whose RAM file system
 * held the images): bench names the signal instead of an empty reason, and removes the image
 * temporary the child could not, so the next run and the calibration do not find the file system
 * full of it.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runSnapshotChild, type BenchContext } from '../bench/runner.js';
import { tempDir } from './helpers.js';

/** Live processes whose command line contains `needle` (the child's --out path). */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) found.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a run child killed by SIGKILL: the reason names the signal and its image temporary is removed', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'killed.img');
  const lines: string[] = [];
  const ctx = {
    log: (l: string) => lines.push(l),
    tick: () => {},
  } as unknown as BenchContext;
  const pending = runSnapshotChild(
    ctx,
    // A long baseline: the sink's temporary exists while the writers run, before the snapshot.
    { backend: 'uffd', sizeBytes: 64 * 2 ** 20, baselineMs: 60_000, out, force: true },
    'killed run',
  );
  let killed = false;
  for (let i = 0; i < 600 && !killed; i++) {
    await sleep(50);
    const temporaries = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    const pids = processesWith(out).filter((p) => p !== process.pid);
    if (temporaries.length > 0 && pids.length > 0) {
      for (const p of pids) process.kill(p, 'SIGKILL');
      killed = true;
    }
  }
  t.true(killed, 'the child made its temporary within 30 s');
  const r = await pending;
  t.false(r.ok);
  t.is(r.exitCode, null);
  t.regex(r.error ?? '', /killed by SIGKILL/);
  t.regex(lines.join('\n'), /killed run: failed .*killed by SIGKILL/);
  t.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.cowbench-')),
    [],
  );
});
