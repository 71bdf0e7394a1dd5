#!/usr/bin/env python3
"""Interleaved whole-snapshot A/B of the scale suite's uffd rows (256 MiB, writers at 65,536
pages/s, image on disk), 4k region and THP region: one `cowbench run --json` per trial and build,
builds in a seeded shuffled order within each trial. Writes each run's JSON line to OUT/raw.jsonl
and paired ratios (new/base) of throughput_MBps and total_ms: median, seeded percentile-bootstrap
95% interval, n.

Usage: interleaved-run.py BASE_DIR NEW_DIR TRIALS OUT [thp]   (thp: the THP case only)
"""
import json, os, random, statistics, subprocess, sys

base, new, trials, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cases = [('uffd 256 MiB', []), ('uffd 256 MiB THP', ['--hugepage'])]
if len(sys.argv) > 5 and sys.argv[5] == 'thp':
    cases = cases[1:]
os.makedirs(out, exist_ok=True)
rng = random.Random(22)
vals = {}
with open(os.path.join(out, 'raw.jsonl'), 'w') as raw:
    for t in range(trials):
        order = [(c, f, b) for c, f in cases for b in ('base', 'new')]
        rng.shuffle(order)
        for c, f, b in order:
            d = base if b == 'base' else new
            img = os.path.join(out, f'{b}.img')
            r = subprocess.run(['node', 'bin/cowbench.js', 'run', '--backend', 'uffd', '--size', '256M', '--rate', '65536',
                                '--out', img, '--force', '--json', *f], cwd=d, capture_output=True, text=True, timeout=600)
            rec = {'trial': t, 'case': c, 'build': b, 'exit': r.returncode}
            try:
                res = json.loads(r.stdout)
                rec.update({k: res[k] for k in ('verified', 'total_ms', 'throughput_MBps', 'wp_faults',
                                                'pages_copied_before_write', 'buffer_peak_bytes', 'throttled_ms')})
            except Exception:
                rec['stderr'] = r.stderr[-500:]
            raw.write(json.dumps(rec) + '\n')
            raw.flush()
            for k in ('throughput_MBps', 'total_ms'):
                vals.setdefault((c, b, k), []).append(rec.get(k, float('nan')))

def boot(x, n=4000):
    r = random.Random(1)
    ms = sorted(statistics.median(r.choices(x, k=len(x))) for _ in range(n))
    return ms[int(0.025 * n)], ms[int(0.975 * n)]

lines = [f'{trials} trials, builds shuffled within each trial']
for c, _ in cases:
    for k in ('throughput_MBps', 'total_ms'):
        a, b = vals[(c, 'base', k)], vals[(c, 'new', k)]
        ratios = [y / x for x, y in zip(a, b) if x == x and y == y and x > 0]
        lo, hi = boot(ratios)
        lines.append(f'{c:18s} {k:16s} base {statistics.median(a):8.1f} new {statistics.median(b):8.1f}  '
                     f'new/base {statistics.median(ratios):.3f} [{lo:.3f}-{hi:.3f}] n={len(ratios)}')
open(os.path.join(out, 'summary.txt'), 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
