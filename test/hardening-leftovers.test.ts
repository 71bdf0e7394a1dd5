/**
 * Leftovers of a run that could not clean up (issue 10 item 5): a SIGKILLed run's hidden
 * temporary is removed by the next run on the same --out, and by `cowbench clean`; a live
 * run's temporary, and anything not named like one, is never touched.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, tempDir } from './helpers.js';

/** A PID that is not running: a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}

test.serial(
  'SIGKILL mid-snapshot leaves a temporary; the next run on the same --out removes it',
  async (t) => {
    const dir = tempDir(t);
    const out = path.join(dir, 'snap.img');
    let sent = false;
    const r = await runCli(['run', '--size', '1G', '--out', out, '--verbose', '--writers', '1'], {
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (!sent && d.toString().includes('cowbench: copy')) {
            sent = true;
            child.kill('SIGKILL');
          }
        });
      },
    });
    t.true(sent);
    t.is(r.signal, 'SIGKILL');
    const left = readdirSync(dir);
    t.is(left.length, 1, left.join(', '));
    t.regex(left[0]!, /^\.snap\.img\.cowbench-\d+-\d+\.tmp$/);
    const next = await runCli(['run', '--size', '8M', '--out', out, '--baseline-ms', '10']);
    t.is(next.code, 0, next.stderr);
    t.regex(
      next.stderr,
      new RegExp(
        `removed .*${left[0]!.replaceAll('.', '\\.')} \\(temporary of pid \\d+, which is not running\\)`,
      ),
    );
    t.deepEqual(readdirSync(dir).sort(), ['snap.img', 'snap.img.json']);
  },
);

test('a live process holding its temporary keeps it; other names are never touched', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  // A live process that holds `.snap.img.cowbench-<its pid>-1.tmp` open, as a running cowbench does.
  const holder = spawn(
    '/bin/sh',
    ['-c', 'exec 3>"$0/.snap.img.cowbench-$$-1.tmp"; echo ready; exec sleep 60', dir],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  const live = `.snap.img.cowbench-${holder.pid}-1.tmp`;
  const stale = `.snap.img.cowbench-${await deadPid()}-2.tmp`;
  writeFileSync(path.join(dir, stale), 'x');
  for (const other of [
    '.snap.img.cowbench-abc.tmp',
    '.other.img.cowbench-1-1.tmp.keep',
    'snap.img.cowbench-1-1.tmp',
  ])
    writeFileSync(path.join(dir, other), 'keep');
  const r = await runCli(['run', '--size', '8M', '--out', out, '--baseline-ms', '10']);
  t.is(r.code, 0, r.stderr);
  const names = readdirSync(dir);
  t.true(names.includes(live), 'the live temporary stays');
  t.false(names.includes(stale), 'the stale temporary is removed');
  for (const kept of [
    '.snap.img.cowbench-abc.tmp',
    '.other.img.cowbench-1-1.tmp.keep',
    'snap.img.cowbench-1-1.tmp',
  ])
    t.true(names.includes(kept), kept);
});

test('cowbench clean DIR lists and removes leftover temporaries and orphan manifests; --dry-run only lists', async (t) => {
  const dir = tempDir(t);
  const pid = await deadPid();
  const files = {
    temp: `.a.img.cowbench-${pid}-7.tmp`,
    manifestTemp: `.a.img.json.cowbench-${pid}-8.tmp`,
    orphan: 'gone.img.json',
    image: 'kept.img',
    manifest: 'kept.img.json',
    user: 'notes.json',
    empty: 'empty.json',
  };
  writeFileSync(path.join(dir, files.temp), 'x');
  writeFileSync(path.join(dir, files.manifestTemp), '{');
  writeFileSync(path.join(dir, files.orphan), '{\n  "format": "cowbench.image/1"\n}\n');
  writeFileSync(path.join(dir, files.image), 'img');
  writeFileSync(path.join(dir, files.manifest), '{\n  "format": "cowbench.image/1"\n}\n');
  writeFileSync(path.join(dir, files.user), '{"mine": 1}');
  writeFileSync(path.join(dir, files.empty), '');
  const dry = await runCli(['clean', dir, '--dry-run']);
  t.is(dry.code, 0, dry.stderr);
  t.is(dry.stdout.trim().split('\n').length, 3, dry.stdout);
  t.regex(
    dry.stdout,
    new RegExp(`would remove .*${files.temp.replaceAll('.', '\\.')} \\(temporary of pid ${pid}`),
  );
  t.regex(dry.stdout, /would remove .*gone\.img\.json \(manifest whose image gone\.img is gone\)/);
  t.is(readdirSync(dir).length, 7);
  const r = await runCli(['clean', dir]);
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('removed ')).length,
    3,
    r.stdout,
  );
  t.deepEqual(readdirSync(dir).sort(), [files.empty, files.image, files.manifest, files.user].sort());
  const again = await runCli(['clean', dir]);
  t.is(again.code, 0);
  t.regex(again.stdout, /^nothing to clean/);
});

test("cowbench clean --out FILE: only that file's leftovers, an empty orphan manifest included", async (t) => {
  const dir = tempDir(t);
  const pid = await deadPid();
  writeFileSync(path.join(dir, `.x.img.cowbench-${pid}-1.tmp`), 'x');
  writeFileSync(path.join(dir, 'x.img.json'), '');
  writeFileSync(path.join(dir, `.y.img.cowbench-${pid}-1.tmp`), 'y');
  const r = await runCli(['clean', '--out', path.join(dir, 'x.img')]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readdirSync(dir), [`.y.img.cowbench-${pid}-1.tmp`]);
});

test('a scratch directory of a killed run without --out is removed by the next run', async (t) => {
  const tmp = tempDir(t);
  const pid = await deadPid();
  const scratch = mkdtempSync(path.join(tmp, `cowbench-${pid}-`));
  writeFileSync(path.join(scratch, 'image'), 'x');
  const r = await runCli(['run', '--size', '8M', '--baseline-ms', '10'], { env: { TMPDIR: tmp } });
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(scratch));
  t.deepEqual(readdirSync(tmp), []);
  t.truthy(os.tmpdir());
});
