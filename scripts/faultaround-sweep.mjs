#!/usr/bin/env node
// Interleaved A/B measurements for issue 14 (fault-around K sweep, copy order, kvm writer):
// every config runs once per round, in a fresh `cowbench run --json` process, rounds repeated
// n times; prints median and min…max per config and keeps the raw results as JSON lines.
//   node scripts/faultaround-sweep.mjs PLAN N OUT.jsonl
// PLAN: t1 | t2 | order | kvm | vma. Configs may name another checkout (BASE=/path) for "before".
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [plan, nText, outFile] = process.argv.slice(2);
const KS_VMA = process.env.KS_VMA;
const n = Number(nText ?? 5);
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const base = process.env.BASE ?? here;
const K = (process.env.KS ?? '0,4,16,64,512').split(',').map(Number);
// FIXED=/path: a build of fault-around without the buffer-pressure back-off, for fixed vs adaptive.
const fixed = process.env.FIXED;
const fixedKs = (process.env.FIXED_KS ?? '16,64').split(',');

const t1 = ['--size', '256M', '--writers', '2', '--rate', 'max', '--pattern', 'random'];
const t2 = ['--size', '1G', '--writers', '2', '--pattern', 'random', '--out', '/dev/null'];
const plans = {
  t1: [
    { name: 'forkcow', args: ['--backend', 'forkcow', ...t1] },
    { name: 'uffd today (BASE)', dir: base, args: ['--backend', 'uffd', ...t1] },
    ...K.map((k) => ({
      name: `uffd K=${k}`,
      args: ['--backend', 'uffd', ...t1, '--fault-around', String(k)],
    })),
    ...(fixed
      ? fixedKs.map((k) => ({
          name: `uffd fixed K=${k}`,
          dir: fixed,
          args: ['--backend', 'uffd', ...t1, '--fault-around', k],
        }))
      : []),
  ],
  t2: [
    { name: 'uffd idle', args: ['--backend', 'uffd', ...t2, '--rate', '1', '--fault-around', '0'] },
    ...K.map((k) => ({
      name: `uffd K=${k} 64k/s`,
      args: ['--backend', 'uffd', ...t2, '--rate', '65536', '--fault-around', String(k)],
    })),
    ...(fixed
      ? fixedKs.map((k) => ({
          name: `uffd fixed K=${k} 64k/s`,
          dir: fixed,
          args: ['--backend', 'uffd', ...t2, '--rate', '65536', '--fault-around', k],
        }))
      : []),
  ],
  order: ['random', 'hotset'].flatMap((p) =>
    ['sequential', 'hot'].flatMap((o) =>
      [0, Number(process.env.K ?? 16)].map((k) => ({
        name: `${p} K=${k} ${o}`,
        args: [
          '--backend',
          'uffd',
          '--size',
          '256M',
          '--writers',
          '2',
          '--rate',
          'max',
          '--pattern',
          p,
          '--fault-around',
          String(k),
          '--copy-order',
          o,
        ],
      })),
    ),
  ),
  lat: ['thread', 'sigbus'].flatMap((d) => [
    { name: `today ${d}`, dir: base, cmd: 'fault-latency', args: ['--backend', 'uffd', '--delivery', d] },
    { name: `now ${d}`, cmd: 'fault-latency', args: ['--backend', 'uffd', '--delivery', d] },
  ]),
  vma: (KS_VMA ?? '0,16').split(',').flatMap((k) =>
    (process.env.SIZES ?? '512M,1G,2G,4G,8G').split(',').map((size) => ({
      name: `mprotect K=${k} ${size}`,
      args: [
        '--backend',
        'mprotect',
        '--size',
        size,
        '--pattern',
        'random',
        '--rate',
        'max',
        '--out',
        '/dev/null',
        '--fault-around',
        k,
      ],
    })),
  ),
  kvm: [
    ...(process.env.KVM_CASES ?? '65536:1G,max:1G')
      .split(',')
      .map((c) => c.split(':'))
      .flatMap(([rate, size]) => [
        {
          name: `before kvm ${rate} ${size}`,
          dir: base,
          args: [
            '--backend',
            'uffd',
            '--writers',
            'kvm:1',
            '--size',
            size,
            '--rate',
            rate,
            '--out',
            '/dev/null',
            '--baseline-ms',
            '1000',
          ],
        },
        {
          name: `after kvm ${rate} ${size}`,
          dir: here,
          args: [
            '--backend',
            'uffd',
            '--writers',
            'kvm:1',
            '--size',
            size,
            '--rate',
            rate,
            '--out',
            '/dev/null',
            '--baseline-ms',
            '1000',
          ],
        },
      ]),
  ],
};

const pick = (r) => ({
  fault_us: r.fault_us?.median,
  verified: r.verified,
  ratio: r.writers?.throughput_ratio,
  before_wps: r.writers?.baseline_writes_per_s,
  during_wps: r.writers?.snapshot_writes_per_s,
  p999_us: r.write_stall?.p999_us,
  MBps: r.throughput_MBps,
  wp_faults: r.wp_faults,
  around: r.backend_metrics?.fault_around_pages,
  exits: r.writers?.exit_reasons,
  total_ms: r.total_ms,
  vma_peak: r.vma_count_peak,
  pause_us: r.pause_us,
  extra_mem_MiB: r.extra_memory_peak_bytes / 2 ** 20,
  buffer_peak_MiB: r.buffer_peak_bytes / 2 ** 20,
});

const configs = plans[plan];
if (!configs) throw new Error(`plan ${plan}?`);
const samples = new Map(configs.map((c) => [c.name, []]));
for (let round = 0; round < n; round++) {
  // Alternate the order between rounds so neither side always runs first.
  const order = round % 2 ? [...configs].reverse() : configs;
  for (const c of order) {
    const dir = c.dir ?? here;
    const p = spawnSync(
      'nice',
      [process.execPath, path.join(dir, 'bin', 'cowbench.js'), c.cmd ?? 'run', '--json', ...c.args],
      {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
    );
    let row;
    try {
      row = { config: c.name, round, code: p.status, ...pick(JSON.parse(p.stdout)) };
    } catch {
      row = {
        config: c.name,
        round,
        code: p.status,
        error: p.stderr.trim().split('\n').at(-1),
        enomem: /ENOMEM/.test(p.stderr),
      };
    }
    if (outFile) appendFileSync(outFile, JSON.stringify(row) + '\n');
    samples.get(c.name).push(row);
    process.stderr.write(`${c.name} #${round + 1}: ${JSON.stringify(row)}\n`);
  }
}
const stat = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return 'n/a';
  const med = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
  return `${f(med)} (${f(v[0])}…${f(v.at(-1))}, n=${v.length})`;
};
for (const [name, rows] of samples) {
  const fields = (
    process.env.FIELDS ?? 'ratio,p999_us,MBps,before_wps,during_wps,wp_faults,around,pause_us,extra_mem_MiB'
  ).split(',');
  const ok = rows.filter((r) => r.code === 0 || r.verified === false).length;
  console.log(
    `${name.padEnd(28)} ok ${ok}/${rows.length} verified ${rows.filter((r) => r.verified).length}  ` +
      fields.map((f) => `${f} ${stat(rows.map((r) => r[f]))}`).join('  '),
  );
}
