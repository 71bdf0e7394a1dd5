import re
import json, subprocess, sys
cb = '/work/wt/compare/bin/cowbench.js'
base = sys.argv[1] if len(sys.argv) > 1 else '/tmp/aa'
pairs = [1,2,3,4,5]
rows = {}
codes = []
for i in pairs:
    a, b = f'{base}/pair{i}-a', f'{base}/pair{i}-b'
    rc = subprocess.run(['node', cb, 'compare', a, b, '--fail-on-regression'], capture_output=True).returncode
    j = json.loads(subprocess.run(['node', cb, 'compare', a, b, '--json'], capture_output=True, text=True).stdout)
    codes.append(rc)
    for r in j['rows']:
        c = r['changes'][0]
        e = rows.setdefault(r['key'], {'sig': 0, 'gate': 0, 'maxcost': 0.0, 'thr': r['threshold']})
        if c['verdict'] in ('regressed', 'improved'): e['sig'] += 1
        if c['gate']: e['gate'] += 1
        if c['cost_pct'] is not None: e['maxcost'] = max(e['maxcost'], c['cost_pct'])
short = lambda k: re.sub(r',region_bytes=\d+,rate=65536', '', k.replace('ci/part=', '')).replace(',pages=4096','').replace(',region_bytes=268435456,dirty_pct=1','')
print('| pair | `compare --fail-on-regression` exit |\n|---|---|')
for i, rc in zip(pairs, codes): print(f'| {i} | {rc} |')
print()
print('| metric | significant (p<0.05) of 5 | gate false alarms of 5 | worst cost change | threshold |\n|---|---|---|---|---|')
for k, e in rows.items():
    thr = 'exact' if e['thr'] == 0 else (f"{round(e['thr']*100)}%" if e['thr'] is not None else '–')
    print(f"| {short(k)} | {e['sig']} | {e['gate']} | {e['maxcost']:+.0f}% | {thr} |")
tot_sig = sum(e['sig'] for e in rows.values()); tot_gate = sum(e['gate'] for e in rows.values())
print(f"\nTotals over {len(rows)} metrics × 5 pairs: {tot_sig} significant differences (p<0.05), {tot_gate} gate false alarms.")
