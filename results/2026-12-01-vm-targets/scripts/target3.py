import json, subprocess, sys, statistics as st, random, os
Ks = os.environ.get('KS','0,4,16,512').split(','); n = int(sys.argv[1])
res = {K: [] for K in Ks}
for i in range(n):
    order = list(Ks); random.Random(i).shuffle(order)
    for K in order:
        p = subprocess.run(['node','/work/main/bin/cowbench.js','run','--backend','uffd','--size','1G','--writers','kvm:1','--rate',os.environ.get('RATE','65536'),'--fault-around',K,'--out',os.environ.get('IMG','/dev/null'),*(['--force'] if os.environ.get('IMG','/dev/null') != '/dev/null' else []),'--json'], capture_output=True, text=True)
        try: r = json.loads(p.stdout); w = r['writers']; res[K].append({'ratio': w['throughput_ratio'], 'base': w['baseline_writes_per_s'], 'during': w['snapshot_writes_per_s'], 'faults': r['wp_faults'], 'verified': r['verified']})
        except Exception as e: print('FAIL', K, e, p.stderr[-300:])
json.dump(res, open(os.environ.get('OUT','/tmp/t1/t3.json'),'w'))
for K, v in res.items():
    t = sorted(x['ratio'] for x in v); b = sorted(x['base'] for x in v)
    print(f"K={K:4s} n={len(v)} verified={sum(bool(x['verified']) for x in v)} ratio med {st.median(t):.3f} ({t[0]:.3f}…{t[-1]:.3f}) baseline med {st.median(b):.0f} ({b[0]:.0f}…{b[-1]:.0f}) faults med {st.median([x['faults'] for x in v]):.0f}")
