/** Bad input: one line naming the flag, exit code 2, no stack trace, nothing written. */
import test from 'ava';
import { readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from './helpers.js';

const badInputs: { args: string[]; flag: RegExp }[] = [
  { args: ['run', '--backend', 'nope'], flag: /--backend: unknown backend 'nope'/ },
  { args: ['run', '--size', '12Q'], flag: /--size: '12Q' is not a size/ },
  { args: ['run', '--size', '0'], flag: /--size: must be larger than 0/ },
  { args: ['run', '--size=-1G'], flag: /--size: '-1G' is not a size/ },
  { args: ['run', '--size', '1000'], flag: /--size: must be a multiple of 4 KiB/ },
  { args: ['run', '--size', '4T'], flag: /--size: .*exceed available memory/ },
  { args: ['run', '--size', '64M', '--buffer', '128M'], flag: /--buffer: is larger than the region/ },
  { args: ['run', '--size', '64M', '--buffer', '1k'], flag: /--buffer: must hold at least one/ },
  { args: ['run', '--buffer', 'lots'], flag: /--buffer: 'lots' is not a size/ },
  { args: ['run', '--out', '-'], flag: /--out: '-' \(stdout\) is not supported/ },
  { args: ['run', '--buffer-policy', 'maybe'], flag: /--buffer-policy: 'maybe' is not one of/ },
  { args: ['run', '--writers', '257'], flag: /--writers: 257 is out of range/ },
  { args: ['run', '--writers', 'gpu:2'], flag: /--writers: 'gpu' is not one of/ },
  { args: ['run', '--writers', '999'], flag: /--writers: 999 is out of range/ },
  { args: ['run', '--pattern', 'zigzag'], flag: /--pattern: 'zigzag' is not one of/ },
  { args: ['run', '--rate', 'fast'], flag: /--rate: 'fast' is not a rate/ },
  { args: ['run', '--rate', '-5'], flag: /--rate/ },
  { args: ['run', '--handlers', '0'], flag: /--handlers: 0 is out of range/ },
  { args: ['run', '--handlers', 'two'], flag: /--handlers: 'two' is not a whole number/ },
  { args: ['run', '--granularity', '1m'], flag: /--granularity: '1m' is not one of/ },
  { args: ['run', '--granularity', '2m'], flag: /--granularity: 2m needs a hugepage region/ },
  { args: ['run', '--hugepage', '--size', '3M'], flag: /--size: must be a multiple of 2 MiB/ },
  { args: ['run', '--engine', 'magic'], flag: /--engine: 'magic' is not one of/ },
  { args: ['run', '--delivery', 'pigeon'], flag: /--delivery: 'pigeon' is not one of/ },
  { args: ['run', '--fill', 'some'], flag: /--fill: 'some' is not one of/ },
  {
    args: ['run', '--out', '/nonexistent-dir/x.img'],
    flag: /--out: directory \/nonexistent-dir does not exist/,
  },
  { args: ['run', '--no-such-flag'], flag: /Unknown argument/ },
  { args: ['frobnicate'], flag: /Unknown argument|name a command/ },
  { args: ['run', '--final-dirty=-1'], flag: /--final-dirty: '-1' is not a whole number/ },
  { args: ['run', '--handler-wait', 'nap'], flag: /--handler-wait: 'nap' is not one of/ },
  { args: ['run', '--drain-wake', 'never'], flag: /--drain-wake: 'never' is not one of/ },
  { args: ['run', '--handler-cpu', 'gpu'], flag: /--handler-cpu: 'gpu' is not one of/ },
  { args: ['run', '--baseline-ms', 'x'], flag: /--baseline-ms: 'x' is not a whole number/ },
  { args: ['run', '--writers', 'kvm:0'], flag: /--writers: 0 is out of range/ },
  {
    args: ['run', '--backend', 'softdirty', '--hugepage', '--size', '64M', '--granularity', '2m'],
    flag: /--granularity: .* not supported by softdirty/,
  },
  { args: ['compat', '--size', '0'], flag: /--size: must be a non-zero multiple of 4 KiB/ },
  { args: ['compat', '--writers', 'gpu'], flag: /--writers: 'gpu' is not one of/ },
  { args: ['compat', '--backends', 'nope'], flag: /--backends: 'nope' is not one of/ },
  { args: ['calibrate', '--size', '0'], flag: /--size: must be a non-zero multiple of 4 KiB/ },
  { args: ['report'], flag: /Not enough non-option arguments/ },
  { args: ['bench', 'nosuchsuite'], flag: /suite: unknown suite 'nosuchsuite'/ },
  { args: ['bench', '--backends', 'nope'], flag: /--backends: unknown backend 'nope'/ },
  { args: ['bench', '--repeat', '0'], flag: /--repeat: 0 is out of range/ },
  { args: ['run', '--out', '/dev/null', '--force'], flag: /--force: has no meaning with --out \/dev\/null/ },
  { args: ['run', '--max-passes', '0'], flag: /--max-passes: 0 is out of range/ },
  { args: ['run', '--arm-threads', '100'], flag: /--arm-threads: 100 is out of range/ },
  { args: ['run', '--seed', 'x'], flag: /--seed: 'x' is not a whole number/ },
  // A value that starts with '-' is the flag's value, not a group of short flags (issue 10 item 10).
  { args: ['run', '--buffer', '-1M'], flag: /--buffer: '-1M' is not a size/ },
  { args: ['run', '--size', '-5M'], flag: /--size: '-5M' is not a size/ },
  { args: ['run', '-s', '-5M'], flag: /--size: '-5M' is not a size/ },
  { args: ['run', '--final-dirty', '-1k'], flag: /--final-dirty: '-1k' is not a whole number/ },
  { args: ['run', '--rate', '-2k'], flag: /--rate: '-2k' is not a rate/ },
  { args: ['run', '--buffer'], flag: /--buffer: needs a value/ },
  { args: ['compat', '--size', '-5M'], flag: /--size: '-5M' is not a size/ },
  { args: ['calibrate', '--size', '-1G'], flag: /--size: '-1G' is not a size/ },
  { args: ['bench', '--repeat', '-3x'], flag: /--repeat: '-3x' is not a whole number/ },
  { args: ['clean', '/nonexistent-dir'], flag: /dir: \/nonexistent-dir does not exist/ },
  { args: ['clean', '--out'], flag: /--out: needs a value/ },
  {
    args: ['calibrate', '--dir', '/nonexistent-dir'],
    flag: /--dir: directory \/nonexistent-dir does not exist/,
  },
];

test('cowbench completion prints a shell completion script that completes run flags', async (t) => {
  const script = await runCli(['completion']);
  t.is(script.code, 0, script.stderr);
  t.regex(script.stdout, /_cowbench_yargs_completions/);
  const words = await runCli(['--get-yargs-completions', 'run', '--']);
  t.regex(words.stdout, /^--backend$/m);
});

for (const { args, flag } of badInputs) {
  test(`bad input: cowbench ${args.join(' ')}`, async (t) => {
    const dir = tempDir(t);
    const r = await runCli(args, { env: { TMPDIR: dir } });
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, flag);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, `one line, got: ${r.stderr}`);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
    t.deepEqual(readdirSync(dir), [], 'nothing written');
  });
}

test('an existing --out is not replaced without --force, and a symlink is refused even with it', async (t) => {
  const dir = tempDir(t);
  const existing = path.join(dir, 'existing.img');
  writeFileSync(existing, 'keep me');
  let r = await runCli(['run', '--size', '8M', '--out', existing]);
  t.is(r.code, 2);
  t.regex(r.stderr, /--out: .*exists; pass --force/);
  const link = path.join(dir, 'link.img');
  symlinkSync('/etc/passwd-cowbench-target', link);
  r = await runCli(['run', '--size', '8M', '--out', link, '--force']);
  t.is(r.code, 2);
  t.regex(r.stderr, /symbolic link; refusing/);
});

test('run --json prints a result object with the metric names as keys', async (t) => {
  const r = await runCli(['run', '--size', '16M', '--json', '--baseline-ms', '20']);
  t.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of [
    'verified',
    'pause_us',
    'total_ms',
    'throughput_MBps',
    'wp_faults',
    'pages_copied_before_write',
    'bytes_written',
    'buffer_peak_bytes',
    'extra_memory_peak_bytes',
    'write_stall',
    'throttled_ms',
    'vma_count_peak',
    'consistency_point',
    'env',
  ]) {
    t.true(key in result, key);
  }
  t.is(result.verified, true);
  const env = result.env as Record<string, unknown>;
  for (const key of [
    'kernel',
    'cpu_model',
    'cores',
    'thp_mode',
    'vm_max_map_count',
    'node_version',
    'cowbench_version',
    'git_commit',
  ])
    t.true(key in env, key);
});

test('probe lists the kernel features with a meaning each', async (t) => {
  const r = await runCli(['probe']);
  t.is(r.code, 0, r.stderr);
  for (const name of [
    'userfaultfd',
    'uffd.wp_async',
    'pagemap_scan',
    'soft_dirty',
    'thp',
    'vm.max_map_count',
    'kvm',
    'io_uring',
    'privileges',
  ])
    t.regex(r.stdout, new RegExp(`^${name.replace('.', '\\.')}\\s`, 'm'));
});

test('run --json with bad input prints a JSON object too (error code EUSAGE, exit 2)', async (t) => {
  const r = await runCli(['run', '--json', '--size', '12Q']);
  t.is(r.code, 2, r.stderr);
  const j = JSON.parse(r.stdout) as {
    verified: boolean;
    error: { code: string; message: string; phase: string };
  };
  t.false(j.verified);
  t.is(j.error.code, 'EUSAGE');
  t.regex(j.error.message, /--size: '12Q' is not a size/);
  t.is(j.error.phase, 'options');
  t.is(r.stderr.trim().split('\n').length, 1);
});
