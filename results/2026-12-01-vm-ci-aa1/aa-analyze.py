import json, sys, math, statistics as st
from scipy.stats import mannwhitneyu
import os
BASE = os.environ.get('AA', '/tmp/aa')
pairs = [int(x) for x in sys.argv[1:]] or [1,2,3,4,5]
def load(p): return json.load(open(p + '/results.json'))
rows = {}
norm_rows = {}
for i in pairs:
    a = load(f'{BASE}/pair{i}-a'); b = load(f'{BASE}/pair{i}-b')
    for k in sorted(set(a['metrics']) & set(b['metrics'])):
        xa = a['metrics'][k]['samples']; xb = b['metrics'][k]['samples']
        if len(xa) < 5 or len(xb) < 5: continue
        ma, mb = st.median(xa), st.median(xb)
        if ma == 0: continue
        d = (mb - ma) / abs(ma) * 100
        p = mannwhitneyu(xa, xb, alternative='two-sided').pvalue if len(set(xa+xb))>1 else 1.0
        rows.setdefault(k, []).append((d, p))
        # normalised: times by the run's page-fault calibration median, rates by memcpy median
        unit = a['metrics'][k]['unit']
        ca, cb = a['calibration'], b['calibration']
        if unit in ('µs', 'ms', 'ns'):
            fa, fb = ca['page_fault_ns'], cb['page_fault_ns']
        elif unit == 'MB/s':
            fa, fb = 1/ca['memcpy_MBps'], 1/cb['memcpy_MBps']
        else:
            continue
        na, nb = ma / fa, mb / fb
        norm_rows.setdefault(k, []).append(((nb-na)/abs(na)*100, d))
short = lambda k: k.replace('ci/part=', '').replace(',region_bytes=134217728,rate=65536', '').replace(',pages=4096','').replace(',region_bytes=268435456,dirty_pct=1','')
print(f"{'metric':70s} " + ' '.join(f'pair{i:<9d}' for i in pairs) + '  max|Δ|  sig')
for k, v in rows.items():
    cells = ' '.join(f"{d:+7.1f}%{'*' if p<0.05 else ' '}  " for d,p in v)
    print(f"{short(k):70s} {cells} {max(abs(d) for d,_ in v):6.1f}% {sum(p<0.05 for _,p in v)}")
print()
print('normalisation: mean |Δ| raw vs normalised (times / page-fault calibration, rates × memcpy calibration)')
better = worse = 0
for k, v in norm_rows.items():
    raw = st.mean(abs(d) for _, d in v); nrm = st.mean(abs(n) for n, _ in v)
    better += nrm < raw; worse += nrm >= raw
    print(f"{short(k):70s} raw {raw:7.1f}%  normalised {nrm:7.1f}%  {'better' if nrm<raw else 'worse'}")
print(f'normalised spread smaller for {better} metrics, larger for {worse}')
