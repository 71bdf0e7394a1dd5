/**
 * Success that must not look like success (issue 10 item 11), and names that fail late (item 9):
 * lost writes fail the run, a null sink says it verified nothing, --force replaces only a
 * regular file, an --out name too long for its temporary is refused before any work.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { probeFor } from '../src/run-options.js';
import { runCli, tempDir } from './helpers.js';
import { isRoot, testIf, testIfSupported } from './skip.js';

testIfSupported(probeFor({ backend: 'mprotect' })).serial(
  'mprotect with a read(2) writer: lost writes fail the run (exit 1), named in summary and JSON',
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'snap.img');
    const args = [
      'run',
      '--backend',
      'mprotect',
      '--size', // copying 128 MiB takes long enough for the read(2) writer to hit protected pages
      '128M',
      '--writers',
      'read:1',
      '--baseline-ms',
      '20',
    ];
    const json = await runCli([...args, '--json', '--out', out]);
    t.is(json.code, 1, json.stderr);
    const r = JSON.parse(json.stdout) as {
      lost_writes: {
        writes: number;
        by_kind: Record<string, number>;
        by_errno: Record<string, number>;
      } | null;
      output: string | null;
    };
    t.truthy(r.lost_writes, 'lost_writes is set');
    t.true(r.lost_writes!.writes > 0);
    t.true((r.lost_writes!.by_kind.read ?? 0) > 0, JSON.stringify(r.lost_writes));
    t.true((r.lost_writes!.by_errno.EFAULT ?? 0) > 0, JSON.stringify(r.lost_writes));
    t.is(r.output, null, 'a failed run keeps no image');
    t.deepEqual(readdirSync(dir), []);
    t.regex(json.stderr, /incompatible/);
    const text = await runCli(args);
    t.is(text.code, 1, text.stderr);
    t.regex(
      text.stdout,
      /^lost_writes\s+INCOMPATIBLE: [\d,]+ writes? by read did not land \(EFAULT [\d,]+\)/m,
    );
    t.notRegex(text.stdout, /^verified\s+yes/m);
  },
);

test('--out /dev/null: exit 0, and the summary says not verified (null sink)', async (t) => {
  const r = await runCli(['run', '--size', '8M', '--out', '/dev/null', '--baseline-ms', '10']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^verified\s+not verified \(null sink/m);
});

for (const kind of ['fifo', 'char device', 'directory'] as const) {
  testIf(kind !== 'char device' || isRoot, 'mknod needs root')(
    `--force refuses to replace a ${kind} (exit 2) and leaves it`,
    async (t) => {
      const dir = tempDir(t);
      const target = path.join(dir, 'target');
      if (kind === 'fifo') execFileSync('mkfifo', [target]);
      else if (kind === 'directory') mkdirSync(target);
      else execFileSync('mknod', [target, 'c', '1', '3']);
      const r = await runCli(['run', '--size', '8M', '--out', target, '--force', '--baseline-ms', '10']);
      t.is(r.code, 2, r.stderr);
      t.regex(r.stderr, /--out: .*target is a (FIFO|character device|directory).*not a regular file/);
      t.is(r.stderr.trim().split('\n').length, 1);
      const st = lstatSync(target);
      t.true(
        kind === 'fifo' ? st.isFIFO() : kind === 'directory' ? st.isDirectory() : st.isCharacterDevice(),
      );
      t.deepEqual(readdirSync(dir), ['target']);
    },
  );
}

test('an --out name too long for its temporary is refused up front (exit 2), a shorter one works', async (t) => {
  const dir = tempDir(t);
  const long = path.join(dir, 'a'.repeat(250));
  const r = await runCli(['run', '--size', '256M', '--out', long, '--verbose']);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /--out: the file name is 250 bytes; at most \d+ fit/);
  // One line: no protocol step (--verbose names each) started before the refusal.
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.deepEqual(readdirSync(dir), []);
  const limit = Number(/at most (\d+)/.exec(r.stderr)![1]);
  const ok = await runCli([
    'run',
    '--size',
    '8M',
    '--out',
    path.join(dir, 'b'.repeat(limit)),
    '--baseline-ms',
    '10',
  ]);
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(readdirSync(dir).sort(), ['b'.repeat(limit), 'b'.repeat(limit) + '.json']);
});
