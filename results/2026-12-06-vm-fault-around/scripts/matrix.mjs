// Issue 23's matrix: workload rows × fault-around columns (K=0,16,64,512, auto, forkcow), every
// cell a fresh `cowbench run --json` child, all cells of a round in a shuffled order, rounds
// repeated; each raw result appended to OUT/raw.jsonl as it lands (a crash keeps what was measured).
//   node matrix.mjs OUT N [row ...]      rows: r1 r1disk r2 r3 r4 r4disk r5 r6 (default: all but r5)
// Environment: TMPFS (default /dev/shm), DISK (default /var/tmp) for the image.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const [out, nText, ...only] = process.argv.slice(2);
const n = Number(nText);
if (!out || !(n >= 1)) {
  process.stderr.write('usage: node matrix.mjs OUT N [row ...]\n');
  process.exit(2);
}
const tmpfs = process.env.TMPFS ?? '/dev/shm';
const disk = process.env.DISK ?? '/var/tmp';
const G = 1024 ** 3;
const M = 1024 ** 2;

const rows = {
  r1: { label: '256 MiB, 2 unthrottled random writers, tmpfs', dir: tmpfs, flags: ['--size', String(256 * M)] },
  r1disk: { label: '256 MiB, 2 unthrottled random writers, disk', dir: disk, flags: ['--size', String(256 * M)] },
  r2: { label: '256 MiB, sequential, tmpfs', dir: tmpfs, flags: ['--size', String(256 * M), '--pattern', 'sequential'] },
  r3: { label: '256 MiB, hotset, tmpfs', dir: tmpfs, flags: ['--size', String(256 * M), '--pattern', 'hotset'] },
  r4: { label: '1 GiB at 65,536 random writes/s, tmpfs', dir: tmpfs, flags: ['--size', String(G), '--rate', '65536'] },
  r4disk: { label: '1 GiB at 65,536 random writes/s, disk', dir: disk, flags: ['--size', String(G), '--rate', '65536'] },
  // A 16 GiB image does not fit in tmpfs beside a 16 GiB region on a 24 GiB machine: /dev/null,
  // as the issue's own 16 GiB figures were taken.
  r5: { label: '16 GiB, filled, at 65,536 random writes/s, /dev/null', dir: null, flags: ['--size', String(16 * G), '--rate', '65536'] },
  r6: {
    label: 'paced KVM guest, 1 GiB at 65,536 writes/s, 4k pages, tmpfs',
    dir: tmpfs,
    flags: ['--size', String(G), '--writers', 'kvm:1', '--rate', '65536'],
  },
};
const columns = [
  { label: 'K=0', flags: ['--backend', 'uffd', '--fault-around', '0'] },
  { label: 'K=16', flags: ['--backend', 'uffd', '--fault-around', '16'] },
  { label: 'K=64', flags: ['--backend', 'uffd', '--fault-around', '64'] },
  { label: 'K=512', flags: ['--backend', 'uffd', '--fault-around', '512'] },
  { label: 'auto', flags: ['--backend', 'uffd', '--fault-around', 'auto'] },
  { label: 'forkcow', flags: ['--backend', 'forkcow'] },
];
const chosen = only.length ? only : Object.keys(rows).filter((r) => r !== 'r5');
for (const r of chosen) if (!rows[r]) throw new Error(`no row ${r}`);

function shuffle(xs) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

mkdirSync(out, { recursive: true });
const raw = path.join(out, 'raw.jsonl');
for (let round = 1; round <= n; round++) {
  const cells = shuffle(chosen.flatMap((row) => columns.map((column) => ({ row, column }))));
  for (const { row, column } of cells) {
    const image = rows[row].dir ? path.join(rows[row].dir, `cowbench-matrix-${row}.img`) : '/dev/null';
    const sink = image === '/dev/null' ? ['--out', image] : ['--out', image, '--force'];
    const args = ['bin/cowbench.js', 'run', '--json', '--no-progress', ...rows[row].flags, ...column.flags, ...sink];
    const t0 = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (image !== '/dev/null') {
      rmSync(image, { force: true });
      rmSync(`${image}.json`, { force: true });
    }
    let result = null;
    try {
      result = JSON.parse(r.stdout);
    } catch {
      /* a failed run */
    }
    const rec = {
      round,
      row,
      column: column.label,
      args: args.slice(1),
      exit: r.status,
      error: r.status === 0 ? null : (r.stderr.trim().split('\n').pop() ?? null),
      wall_ms: Date.now() - t0,
      loadavg: os.loadavg(),
      result,
    };
    appendFileSync(raw, JSON.stringify(rec) + '\n');
    const ratio = result?.writers?.throughput_ratio;
    process.stdout.write(
      `round ${round} ${row} ${column.label}: exit ${r.status} verified=${result?.verified} ratio=${ratio?.toFixed(3)}\n`,
    );
  }
}
