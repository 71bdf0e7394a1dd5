import json, subprocess, sys, statistics as st, random, os
# The kvm guest's unthrottled baseline rate: old guest (an I/O exit per write, 9978864) vs new (no exit per write)
roots = {'exit per write (9978864)': '/work/wt/fullrun', 'no exit per write (main)': '/work/main'}
n = int(sys.argv[1]); res = {k: [] for k in roots}
for i in range(n):
    order = list(roots); random.Random(i).shuffle(order)
    for k in order:
        p = subprocess.run(['node', roots[k] + '/bin/cowbench.js', 'run', '--backend', 'uffd', '--size', '1G', '--writers', 'kvm:1', '--rate', 'max', '--out', '/dev/shm/kvmab.img', '--force', '--json'], capture_output=True, text=True)
        try: r = json.loads(p.stdout); res[k].append({'base': r['writers']['baseline_writes_per_s'], 'ratio': r['writers']['throughput_ratio'], 'verified': r['verified']})
        except Exception as e: print('FAIL', k, e, p.stderr[-300:])
json.dump(res, open(os.environ.get('OUT', '/tmp/t1/kvmab.json'), 'w'))
for k, v in res.items():
    b = sorted(x['base'] for x in v)
    print(f"{k}: n={len(v)} verified={sum(bool(x['verified']) for x in v)} baseline writes/s med {st.median(b):.0f} ({b[0]:.0f}…{b[-1]:.0f})")
