import json, subprocess, sys, statistics as st, random
import os
Ks = os.environ.get('KS','0,16,64,128,512').split(',')
cfgs = {'forkcow': ['--backend','forkcow']} if os.environ.get('FORK','1')=='1' else {}
for K in Ks: cfgs['uffd K='+K] = ['--backend','uffd','--fault-around',K]
n = int(sys.argv[1]); size = sys.argv[2] if len(sys.argv) > 2 else '256M'
extra = sys.argv[3:]
res = {k: [] for k in cfgs}
for i in range(n):
    order = list(cfgs); random.Random(i).shuffle(order)
    for k in order:
        p = subprocess.run(['node','/work/main/bin/cowbench.js','run',*cfgs[k],'--size',size,'--writers','2','--rate','max','--out',os.environ.get('IMG','/tmp/t1/img'),'--force','--json',*extra], capture_output=True, text=True)
        try:
            r = json.loads(p.stdout)
        except Exception:
            print('FAIL', k, p.stderr[-300:]); continue
        res[k].append({'ratio': r['writers']['throughput_ratio'], 'p999': r['write_stall']['p999_us'], 'faults': r['wp_faults'], 'total_ms': r['total_ms'], 'verified': r['verified'], 'extra': r['extra_memory_peak_bytes']})
json.dump(res, open(os.environ.get('OUT','/tmp/t1/res.json'), 'w'))
for k, v in res.items():
    if not v: continue
    f = lambda key: sorted(x[key] for x in v)
    rs = f('ratio'); ps = f('p999')
    print(f"{k:12s} n={len(v)} verified={sum(x['verified'] for x in v)} ratio med {st.median(rs):.3f} ({rs[0]:.3f}…{rs[-1]:.3f})  p99.9 med {st.median(ps):.1f} ({ps[0]:.1f}…{ps[-1]:.1f}) µs  faults med {st.median(f('faults')):.0f}  total_ms med {st.median(f('total_ms')):.0f}")
