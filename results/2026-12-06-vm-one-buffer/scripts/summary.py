#!/usr/bin/env python3
"""Per-mode medians and the six compare pairs of one latency metric, one row per mode.

Usage: scripts/summary.py METRIC [PREFIX]   (run in this directory; PREFIX defaults to latency)
Reads PREFIX-compare-X-Y.json (cowbench compare --json). A/A pairs: before-a/before-b (133a484
twice) and after-a/after-b (the one-buffer build twice). Cell: median change, its 95% bootstrap
interval, and the verdict (~, R regressed, I improved; ! when it would fail --fail-on-regression).
"""
import json, re, sys

metric = sys.argv[1]
prefix = sys.argv[2] if len(sys.argv) > 2 else 'latency'
pairs = [('A/A', 'before-a', 'before-b'), ("B/B'", 'after-a', 'after-b'), ('A->B', 'before-a', 'after-a'),
         ("A'->B", 'before-b', 'after-a'), ("A'->B'", 'before-b', 'after-b'), ("A->B'", 'before-a', 'after-b')]
rows = {}
for name, base, new in pairs:
    d = json.load(open(f'{prefix}-compare-{base}-{new}.json'))
    rows[name] = {r['key']: r for r in d['rows']}

def short(k):
    m = re.search(r'mode=(.*?),backend=', k)
    return m.group(1) if m else k.split('/')[1]

def cell(r):
    if r is None: return '-'
    c = r['changes'][0]; ci = c.get('ci') or {}
    v = {'~': '~', 'regressed': 'R', 'improved': 'I'}.get(c['verdict'], c['verdict'])
    lo, hi = (ci.get('lo', float('nan')) - 1) * 100, (ci.get('hi', float('nan')) - 1) * 100
    return f"{c['pct']:+5.1f}% [{lo:+.0f},{hi:+.0f}] {v}{'!' if c.get('gate') else ''}"

keys = sorted(k for k in rows['A->B'] if k.endswith('/' + metric) and '/part=' in k)
print(f"{metric}: medians of n=5 (A before-a, A' before-b: 133a484; B after-a: ac2c4a7; B' after-b: 573c00a)")
print(f"{'mode':52s} {'A':>7s} {'A_':>7s} {'B':>7s} {'B_':>7s} | " + ' | '.join(f'{n:22s}' for n, _, _ in pairs))
for k in keys:
    ab, aa, bb = rows['A->B'][k], rows['A/A'][k], rows["B/B'"][k]
    med = [ab['sides'][0]['median'], aa['sides'][1]['median'], ab['sides'][1]['median'], bb['sides'][1]['median']]
    print(f"{short(k)[:52]:52s} " + ' '.join(f'{m:7.2f}' for m in med) + ' | ' +
          ' | '.join(f'{cell(rows[n].get(k)):22s}' for n, _, _ in pairs))
