"""Interleaved `cowbench run` configurations, raw fields kept, medians and a percentile-bootstrap
CI (seeded, 10,000 resamples) of each configuration's median over the reference's.
usage: runs.py SPEC.json N OUT.json   SPEC: {"ref": label, "fields": [...], "configs": {label: [root, args...]}}"""
import json, subprocess, sys, statistics as st, random

spec = json.load(open(sys.argv[1])); n = int(sys.argv[2]); out = sys.argv[3]
configs = spec['configs']; fields = spec['fields']; ref = spec['ref']

def get(r, path):
    for p in path.split('.'): r = r[p]
    return r

res = {k: [] for k in configs}
for i in range(n):
    order = list(configs); random.Random(i).shuffle(order)
    for k in order:
        root, *args = configs[k]
        p = subprocess.run(['node', root + '/bin/cowbench.js', 'run', *args, '--json'], capture_output=True, text=True)
        try:
            r = json.loads(p.stdout)
            res[k].append({'verified': r['verified'], 'exit': p.returncode, **{f: get(r, f) for f in fields}})
        except Exception as e:
            print('FAIL', k, p.returncode, e, p.stderr[-300:], flush=True)
    json.dump({'spec': spec, 'n': n, 'runs': res}, open(out, 'w'), indent=1)

def ci(a, b, rng=random.Random(7), m=10000):
    rs = sorted(st.median(rng.choices(a, k=len(a))) / st.median(rng.choices(b, k=len(b))) for _ in range(m))
    return rs[int(0.025 * m)], rs[int(0.975 * m)]

for f in fields:
    print(f'== {f}')
    for k, v in res.items():
        xs = sorted(x[f] for x in v)
        if not xs: continue
        line = f'  {k:40s} n={len(xs)} verified={sum(bool(x["verified"]) for x in v)} median {st.median(xs):.4g} ({xs[0]:.4g}…{xs[-1]:.4g})'
        if k != ref and res[ref]:
            rx = [x[f] for x in res[ref]]; lo, hi = ci([x[f] for x in v], rx)
            line += f'  ÷ {ref}: {st.median(xs) / st.median(rx):.3g} [{lo:.3g}–{hi:.3g}]'
        print(line)
