/** Bad input: one line naming the flag, exit code 2, no stack trace, nothing written. */
import test from 'ava';
import { readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badInputs } from './bad-inputs.js';
import { runCli, tempDir } from './helpers.js';

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
