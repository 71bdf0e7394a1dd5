/** What is specific to forkcow: the child's failures, the fork pause, the measured extra memory. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runSnapshot } from '../src/orchestrator.js';
import { MiB, tempDir, testOptions } from './helpers.js';
import { canMountTmpfs, NO_TMPFS, testIf } from './skip.js';

/** Pids whose parent is this process (forkcow's child is the only one the tests start). */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

test.serial(
  'forkcow reports the fork pause apart from the quiesce, and the extra memory it measured',
  async (t) => {
    const result = await runSnapshot(testOptions({ backend: 'forkcow', sizeBytes: 128 * MiB }));
    t.true(result.verified);
    t.true(result.backend_metrics.fork_us! > 0);
    t.true(result.pause_us >= result.backend_metrics.fork_us!);
    t.is(result.backend_metrics.child_exit_status, 0);
    t.is(result.extra_memory_source, 'backend');
    t.true(result.extra_memory_peak_bytes >= 0);
    t.is(result.bytes_written, 128 * MiB);
  },
);

test.serial(
  'a child killed by SIGKILL mid-snapshot fails the snapshot naming the signal; no image',
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'snap.img');
    const run = runSnapshot(testOptions({ backend: 'forkcow', inject: { childDelayMs: 60000 }, out }));
    let victims: number[] = [];
    for (let i = 0; i < 600 && victims.length === 0; i++) {
      await sleep(50);
      victims = childPids();
    }
    t.is(victims.length, 1, 'the snapshot child is running');
    process.kill(victims[0]!, 'SIGKILL');
    const err = await t.throwsAsync(run);
    t.is((err as { code?: string }).code, 'ECHILD');
    t.regex(err!.message, /killed by SIGKILL \(signal 9\)/);
    t.regex(err!.message, /after writing 0 of \d+ bytes/);
    t.deepEqual(readdirSync(dir), [], 'no image or temporary left behind');
    t.deepEqual(childPids(), [], 'the child was reaped');
  },
);

test.serial('aborting a forkcow snapshot kills and reaps the child', async (t) => {
  const controller = new AbortController();
  const run = runSnapshot(testOptions({ backend: 'forkcow', inject: { childDelayMs: 60000 } }), {
    signal: controller.signal,
  });
  for (let i = 0; i < 600 && childPids().length === 0; i++) await sleep(50);
  controller.abort('test');
  const err = await t.throwsAsync(run);
  t.is((err as { code?: string }).code, 'EABORTED');
  t.deepEqual(childPids(), []);
});

testIf(canMountTmpfs, NO_TMPFS).serial(
  'a child that hits ENOSPC fails the snapshot naming the errno and exit status; no image',
  async (t) => {
    const dir = tempDir(t);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'ignore' });
    t.teardown(() => execFileSync('umount', [dir]));
    const out = path.join(dir, 'snap.img');
    const err = await t.throwsAsync(
      runSnapshot(testOptions({ backend: 'forkcow', sizeBytes: 64 * MiB, out })),
    );
    t.is((err as { code?: string }).code, 'ESYS');
    t.regex(err!.message, /snapshot child .* failed: ENOSPC/);
    t.regex(err!.message, /the file system is full; child exit status 3/);
    t.deepEqual(readdirSync(dir), [], 'the partial temporary was removed');
  },
);
