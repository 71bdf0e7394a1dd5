/**
 * What `cowbench vm` puts into the guest, without booting one: the directories the commands
 * write in, and an earlier `bench --out DIR/results.json`, carried at its host path so a bench in
 * the guest keeps the suites measured before (as bench does on the host) instead of replacing them.
 */
import test from 'ava';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { outputRoots } from '../src/cli/vm.js';
import { writeJobInitramfs } from '../src/vm/guest.js';
import { Receiver } from '../src/vm/runner.js';
import { tempDir } from './helpers.js';

/** The members of a newc cpio archive: name → contents. */
function readNewc(file: string): Map<string, Buffer> {
  const data = readFileSync(file);
  const members = new Map<string, Buffer>();
  const align = (n: number) => (n + 3) & ~3;
  let off = 0;
  while (off < data.length) {
    const header = data.subarray(off, off + 110).toString('latin1');
    if (!header.startsWith('070701')) throw new Error(`no newc header at ${off}`);
    const field = (i: number) => parseInt(header.slice(6 + 8 * i, 14 + 8 * i), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = data.subarray(off + 110, off + 110 + nameSize - 1).toString();
    if (name === 'TRAILER!!!') break;
    const start = align(off + 110 + nameSize);
    members.set(name, data.subarray(start, start + size));
    off = align(start + size);
  }
  return members;
}

test('a bench --out directory’s results.json is carried into the guest at its path; run --out and links are not', (t) => {
  const dir = tempDir(t);
  const earlier = path.join(dir, 'res');
  mkdirSync(earlier);
  writeFileSync(path.join(earlier, 'results.json'), '{"schema":2,"suites":{"consistency":{}}}\n');
  mkdirSync(path.join(dir, 'linked'));
  symlinkSync(path.join(earlier, 'results.json'), path.join(dir, 'linked', 'results.json'));
  const { carry, dirs } = outputRoots(
    [
      ['bench', '--quick', 'scan', '--out', 'res'],
      ['bench', 'vma', '--out=linked'],
      ['bench', 'thp', '--out', 'new'],
      ['run', '--out', 'img'],
    ],
    dir,
  );
  t.deepEqual(
    carry.map((c) => c.path),
    [path.join(earlier, 'results.json')],
  );
  t.true(dirs.includes(dir));

  const cpio = path.join(dir, 'job.cpio');
  writeJobInitramfs(cpio, { commands: [], cwd: dir, roots: [dir], dirs, cli: '/x', env: {} }, carry);
  const members = readNewc(cpio);
  const inGuest = path.join(earlier, 'results.json').slice(1);
  t.is(members.get(inGuest)?.toString(), readFileSync(path.join(earlier, 'results.json'), 'utf8'));
  t.true(members.has('cowbench/job.json'));
  t.false([...members.keys()].some((n) => n.includes('linked/results.json')));
});

test('a carried file that changed on the host while the guest ran is kept; the guest’s version goes beside it', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'results.json');
  const other = path.join(dir, 'other.json');
  writeFileSync(file, 'host v1\n');
  writeFileSync(other, 'host other\n');
  const send = (r: Receiver, target: string, text: string) => {
    const data = Buffer.from(text);
    r.begin({ path: target, mode: 0o644, size: data.length });
    r.data(data);
    r.end({ crc32: crc32(data), size: data.length });
  };
  const r = new Receiver([dir], [{ path: file }, { path: other }]);
  writeFileSync(file, 'host v2, written by another run meanwhile\n');
  send(r, file, 'guest\n');
  send(r, other, 'guest other\n');
  const files = r.commit();
  t.is(readFileSync(file, 'utf8'), 'host v2, written by another run meanwhile\n');
  t.is(readFileSync(`${file}.vm-${process.pid}`, 'utf8'), 'guest\n');
  t.deepEqual(r.conflicts, [`${file}.vm-${process.pid}`]);
  // Unchanged on the host: replaced, as any file the guest wrote.
  t.is(readFileSync(other, 'utf8'), 'guest other\n');
  t.deepEqual(files, [`${file}.vm-${process.pid}`, other]);
  // The next command's version of a file this run itself replaced is not a conflict.
  send(r, other, 'guest other 2\n');
  r.commit();
  t.is(readFileSync(other, 'utf8'), 'guest other 2\n');
  t.is(r.conflicts.length, 1);
});
