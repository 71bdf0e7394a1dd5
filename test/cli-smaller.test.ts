/**
 * Issue 21 item 12, the smaller command-line defects: a switch given a value names the switch; a
 * repeated flag says it is repeated; compare refuses --json with another --format and an unknown
 * --threshold metric (with the closest names); a missing or unwritable TMPDIR is one line naming
 * TMPDIR; help that cannot be written does not exit 0; an AbortSignal stops the baseline.
 */
import test from 'ava';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { snapshot } from '../src/index.js';
import { packageRoot } from '../src/native.js';
import { runCli, tempDir } from './helpers.js';
import { isRoot, testIf } from './skip.js';

const RESULTS = path.join(packageRoot, 'results', '2026-12-01-vm-full-b');

const oneLine = (s: string) => s.trim().split('\n').length === 1;

for (const [args, flag] of [
  [['run', '--force', 'yes', '--size', '4M'], '--force'],
  [['run', '--prearm', 'maybe', '--size', '4M'], '--prearm'],
] as const)
  test(`${args.join(' ')}: names ${flag}, exit 2`, async (t) => {
    const r = await runCli([...args]);
    t.is(r.code, 2, r.stderr);
    t.true(oneLine(r.stderr), r.stderr);
    t.regex(r.stderr, new RegExp(`^cowbench: ${flag}: is a switch and takes no value \\(got '[a-z]+'\\)`));
  });

for (const args of [
  ['run', '--size', '16M', '--size', '32M'],
  ['run', '--backend', 'uffd', '--backend', 'mprotect', '--size', '4M'],
  ['compare', RESULTS, RESULTS, '--alpha', '0.1', '--alpha', '0.2'],
])
  test(`${args.filter((a) => !a.startsWith('/')).join(' ')}: a repeated flag is named as repeated, exit 2`, async (t) => {
    const r = await runCli(args);
    t.is(r.code, 2, r.stderr);
    t.true(oneLine(r.stderr), r.stderr);
    t.regex(r.stderr, /^cowbench: --(size|backend|alpha): is given more than once \(.+\); give it once\n$/);
  });

test('an array flag (compare --threshold) may still be repeated', async (t) => {
  const r = await runCli([
    'compare',
    RESULTS,
    RESULTS,
    '--threshold',
    'fault_us=50',
    '--threshold',
    'fault_p99_us=50',
  ]);
  t.is(r.code, 0, r.stderr);
});

test('compare --threshold on an unknown metric is refused with the closest names', async (t) => {
  const r = await runCli(['compare', RESULTS, RESULTS, '--threshold', 'nosuch/metric=5']);
  t.is(r.code, 2, r.stderr);
  t.true(oneLine(r.stderr), r.stderr);
  t.regex(r.stderr, /nosuch\/metric.*closest: /);
});

test('compare --json --format tap: the conflict is refused, exit 2', async (t) => {
  const r = await runCli(['compare', RESULTS, RESULTS, '--json', '--format', 'tap']);
  t.is(r.code, 2, r.stderr);
  t.true(oneLine(r.stderr), r.stderr);
  t.regex(r.stderr, /--json.*--format tap/);
  t.is(r.stdout, '');
  const same = await runCli(['compare', RESULTS, RESULTS, '--json', '--format', 'json']);
  t.is(same.code, 0, same.stderr);
});

test('a missing TMPDIR: one line naming TMPDIR, exit 2', async (t) => {
  const r = await runCli(['run', '--size', '4M', '--baseline-ms', '0'], {
    env: { TMPDIR: '/nonexistent-cowbench-tmp' },
  });
  t.is(r.code, 2, r.stderr);
  t.true(oneLine(r.stderr), r.stderr);
  t.regex(r.stderr, /^cowbench: TMPDIR: \/nonexistent-cowbench-tmp does not exist/);
});

testIf(isRoot, 'needs root to run cowbench as another user').serial(
  'an unwritable TMPDIR: one line naming TMPDIR, exit 2',
  async (t) => {
    const dir = path.join(tempDir(t), 'ro');
    mkdirSync(dir);
    chmodSync(path.dirname(dir), 0o755);
    chmodSync(dir, 0o555);
    const r = await runCli(['run', '--size', '4M', '--baseline-ms', '0'], {
      env: { TMPDIR: dir },
      uid: 65534,
      gid: 65534,
    });
    t.is(r.code, 2, r.stderr);
    t.true(oneLine(r.stderr), r.stderr);
    t.regex(r.stderr, /^cowbench: TMPDIR: .* is not writable: EACCES/);
  },
);

test('run --help > /dev/full does not exit 0', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { openSync, closeSync } = await import('node:fs');
  const full = openSync('/dev/full', 'w');
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'cowbench.js'), 'run', '--help'], {
    stdio: ['ignore', full, 'pipe'],
    encoding: 'utf8',
  });
  closeSync(full);
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /could not write .*stdout: ENOSPC/);
});

test('an AbortSignal stops the baseline, not only between steps', async (t) => {
  const controller = new AbortController();
  let aborted = 0;
  const err = await t.throwsAsync(
    snapshot(
      { sizeBytes: 4 << 20, bufferBytes: 1 << 20, baselineMs: 30_000 },
      {
        signal: controller.signal,
        onPhase: (phase) => {
          if (phase !== 'baseline') return;
          aborted = Date.now();
          setTimeout(() => controller.abort('test'), 100);
        },
      },
    ),
  );
  t.is((err as { code?: string }).code, 'EABORTED');
  t.true(aborted > 0, 'aborted in the baseline');
  // Liveness, not performance: a baseline that ignored the signal would run its 30 s.
  t.true(Date.now() - aborted < 20_000, `${Date.now() - aborted} ms`);
});
