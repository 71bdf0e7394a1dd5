import json, subprocess, sys, statistics as st, random, os
cfgs = {'idle': ['--fault-around','512','--writers','1','--rate','1']}
for K in os.environ.get('KS','0,128,512').split(','): cfgs['K='+K] = ['--fault-around',K,'--writers','2','--rate','65536']
n = int(sys.argv[1])
res = {k: [] for k in cfgs}
for i in range(n):
    order = list(cfgs); random.Random(i).shuffle(order)
    for k in order:
        p = subprocess.run(['node','/work/main/bin/cowbench.js','run','--backend','uffd',*cfgs[k],'--size','1G','--out','/dev/null','--json'], capture_output=True, text=True)
        try: r = json.loads(p.stdout)
        except Exception: print('FAIL', k, p.stderr[-300:]); continue
        res[k].append({'tput': r['throughput_MBps'], 'faults': r['wp_faults'], 'total_ms': r['total_ms'], 'ratio': r['writers'].get('throughput_ratio')})
json.dump(res, open(os.environ.get('OUT','/tmp/t1/t2.json'),'w'))
for k, v in res.items():
    t = sorted(x['tput'] for x in v)
    print(f"{k:8s} n={len(v)} tput med {st.median(t):.0f} ({t[0]:.0f}…{t[-1]:.0f}) MB/s faults med {st.median([x['faults'] for x in v]):.0f}")
