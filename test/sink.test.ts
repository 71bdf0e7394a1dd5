/**
 * The image temporary holds memory contents: created O_CREAT|O_EXCL (never opening a file or
 * following a symlink someone planted at its name), 0600, and removed by discard(). The first
 * temporary name is injectable here (a test-only constructor option) so a test can plant at it.
 */
import test from 'ava';
import { lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { native } from '../src/native.js';
import { tempDir } from './helpers.js';

for (const planted of ['a regular file', 'a symlink'] as const) {
  test(`sink: ${planted} planted at the temporary's name is neither opened nor followed`, (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'target');
    writeFileSync(target, 'target', { mode: 0o644 });
    const trap = path.join(dir, '.snap.img.trap.tmp');
    if (planted === 'a symlink') symlinkSync(target, trap);
    else writeFileSync(trap, 'planted', { mode: 0o644 });
    const sink = new native.Sink(path.join(dir, 'snap.img'), { testTempName: '.snap.img.trap.tmp' });
    t.not(sink.tempPath, trap, 'a fresh temporary was made instead');
    t.is(lstatSync(sink.tempPath).mode & 0o777, 0o600, 'the temporary is 0600');
    t.true(lstatSync(sink.tempPath).isFile());
    // What was planted is untouched: content, mode, kind.
    t.is(readFileSync(target, 'utf8'), 'target');
    t.is(lstatSync(target).mode & 0o777, 0o644);
    t.is(lstatSync(trap).isSymbolicLink(), planted === 'a symlink');
    if (planted === 'a regular file') t.is(readFileSync(trap, 'utf8'), 'planted');
    sink.discard();
    t.deepEqual(readdirSync(dir).sort(), ['.snap.img.trap.tmp', 'target'], 'discard() removed the temporary');
  });
}
