#!/usr/bin/env python3
"""Interleaved fault-latency A/B: the same modes as bench latency's fault part, one
`cowbench fault-latency --json` child per trial, builds and modes alternating inside each trial
so drift in the machine's load hits both builds alike. Writes every child's JSON (raw samples'
summary and metrics) to OUT/raw.jsonl and a table of paired ratios (new/base of the per-trial
medians): median with a seeded percentile-bootstrap 95% interval, n trials.

Usage: interleaved.py BASE_DIR NEW_DIR TRIALS OUT
"""
import json, os, random, statistics, subprocess, sys

base, new, trials, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
modes = [
    ('mprotect, drain-wake early', ['--backend', 'mprotect', '--drain-wake', 'early']),
    ('uffd SIGBUS, drain-wake early', ['--backend', 'uffd', '--delivery', 'sigbus', '--drain-wake', 'early']),
    ('uffd thread, drain-wake early', ['--backend', 'uffd', '--drain-wake', 'early']),
    ('uffd thread, drain-wake batch', ['--backend', 'uffd', '--drain-wake', 'batch']),
]
os.makedirs(out, exist_ok=True)
rng = random.Random(22)
med = {(m, b): [] for m, _ in modes for b in ('base', 'new')}
with open(os.path.join(out, 'raw.jsonl'), 'w') as raw:
    for t in range(trials):
        order = [(m, f, b) for m, f in modes for b in ('base', 'new')]
        rng.shuffle(order)
        for m, f, b in order:
            d = base if b == 'base' else new
            r = subprocess.run(['node', 'bin/cowbench.js', 'fault-latency', '--json', '--pages', '4096', *f],
                               cwd=d, capture_output=True, text=True, timeout=300)
            rec = {'trial': t, 'mode': m, 'build': b, 'exit': r.returncode}
            try:
                rec['result'] = json.loads(r.stdout)
                med[(m, b)].append(rec['result']['fault_us']['median'])
            except Exception:
                rec['stderr'] = r.stderr[-500:]
                med[(m, b)].append(float('nan'))
            raw.write(json.dumps(rec) + '\n')
            raw.flush()

def boot(ratios, n=4000):
    r = random.Random(1)
    ms = sorted(statistics.median(r.choices(ratios, k=len(ratios))) for _ in range(n))
    return ms[int(0.025 * n)], ms[int(0.975 * n)]

lines = [f'fault_us: per-trial medians, {trials} trials, builds and modes shuffled within each trial',
         f"{'mode':32s} {'base':>7s} {'new':>7s}  new/base median [95% bootstrap]  n"]
for m, _ in modes:
    a, b = med[(m, 'base')], med[(m, 'new')]
    ratios = [y / x for x, y in zip(a, b) if x == x and y == y]
    lo, hi = boot(ratios)
    lines.append(f'{m:32s} {statistics.median(a):7.2f} {statistics.median(b):7.2f}  '
                 f'{statistics.median(ratios):.3f} [{lo:.3f}-{hi:.3f}]  {len(ratios)}')
open(os.path.join(out, 'summary.txt'), 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
