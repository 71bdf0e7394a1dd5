/**
 * A stdout that cannot be written (issue 10 item 8): `> /dev/full` (ENOSPC) or an fd 1 open read-only
 * (EBADF) ends with one line on stderr and a non-zero exit, never a stack trace; an image already
 * committed stays, and the message says it is valid.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/native.js';
import { tempDir } from './helpers.js';

const bin = path.join(packageRoot, 'bin', 'cowbench.js');

/** Runs the CLI with stdout on /dev/full, or open read-only (`1</dev/null`: EBADF). */
function runWithStdout(
  args: string[],
  stdout: 'full' | 'read-only',
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const full = stdout === 'full' ? openSync('/dev/full', 'w') : -1;
    const child =
      stdout === 'full'
        ? spawn(process.execPath, [bin, ...args], { stdio: ['ignore', full, 'pipe'] })
        : spawn('/bin/sh', ['-c', 'exec "$0" "$@" 1</dev/null', process.execPath, bin, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    if (full >= 0) closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function oneCleanLine(
  t: { is: (a: unknown, b: unknown, m?: string) => void; notRegex: (s: string, r: RegExp) => void },
  stderr: string,
) {
  t.is(stderr.trim().split('\n').length, 1, `one line, got: ${stderr}`);
  t.notRegex(stderr, /\n\s+at |internal error/);
}

for (const stdout of ['full', 'read-only'] as const) {
  const errno = stdout === 'full' ? 'ENOSPC' : 'EBADF';
  test(`probe with stdout ${stdout}: one line naming ${errno}, exit 1`, async (t) => {
    const r = await runWithStdout(['probe'], stdout);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, new RegExp(`^cowbench: could not write the result to stdout: ${errno}`));
    oneCleanLine(t, r.stderr);
  });
}

test('run --json --out X > /dev/full: exit 1, the committed image stays and is said to be valid', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'snap.img');
  const r = await runWithStdout(
    ['run', '--size', '8M', '--json', '--out', out, '--baseline-ms', '10'],
    'full',
  );
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /could not write the result to stdout: ENOSPC/);
  t.regex(r.stderr, new RegExp(`${out.replaceAll('/', '\\/')} and its manifest .* are committed and valid`));
  oneCleanLine(t, r.stderr);
  t.deepEqual(readdirSync(dir).sort(), ['snap.img', 'snap.img.json']);
  t.true((JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { verified: boolean }).verified);
});

test('run > /dev/full without --out: exit 1, says no image was kept', async (t) => {
  const r = await runWithStdout(['run', '--size', '8M', '--baseline-ms', '10'], 'full');
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /could not write the result to stdout: ENOSPC.*no image was kept/);
  oneCleanLine(t, r.stderr);
  t.false(existsSync('snap.img'));
});
