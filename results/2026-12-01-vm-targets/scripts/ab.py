import json, subprocess, sys, statistics as st, random, os
# usage: ab.py n key args...   (A=/tmp/mainA, B=/work/main), interleaved in random order
n = int(sys.argv[1]); key = sys.argv[2]; args = sys.argv[3:]
roots = {'A': '/tmp/mainA', 'B': '/work/main'}
res = {k: [] for k in roots}
def get(r, path):
    for p in path.split('.'): r = r[p]
    return r
for i in range(n):
    order = list(roots); random.Random(i).shuffle(order)
    for k in order:
        p = subprocess.run(['node', roots[k] + '/bin/cowbench.js', 'run', *args, '--json'], capture_output=True, text=True)
        try: r = json.loads(p.stdout); res[k].append({key: get(r, key), 'faults': r['wp_faults'], 'verified': r['verified'], 'p999': r['write_stall']['p999_us']})
        except Exception as e: print('FAIL', k, e, p.stderr[-300:])
json.dump(res, open(os.environ.get('OUT', '/tmp/t1/ab.json'), 'w'))
for k, v in res.items():
    t = sorted(x[key] for x in v); q = sorted(x['p999'] for x in v)
    print(f"{k} n={len(v)} verified={sum(bool(x['verified']) for x in v)} {key} med {st.median(t):.3f} ({t[0]:.3f}…{t[-1]:.3f}) p99.9 med {st.median(q):.1f} ({q[0]:.1f}…{q[-1]:.1f}) faults med {st.median([x['faults'] for x in v]):.0f}")
