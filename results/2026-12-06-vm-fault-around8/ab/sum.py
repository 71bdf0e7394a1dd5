import json,sys,statistics as st
rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by={}
for r in rows: by.setdefault(r['side'],[]).append(r)
for s,rs in by.items():
    ok=[r for r in rs if not r.get('error')]
    f=lambda k: st.median([r[k] for r in ok if r.get(k) is not None]) if any(r.get(k) is not None for r in ok) else None
    print(f"{s:>10} n={len(ok)} ratio med {f('ratio'):.3f} [{min(r['ratio'] for r in ok):.3f}..{max(r['ratio'] for r in ok):.3f}] faults {f('wp_faults')} MBps {f('MBps'):.0f} stall {f('stall_p999_us')} mem {f('extra_mem')/2**20:.1f}M dense {f('dense')} hot {f('hot')} seq {f('seq') if 'seq' in ok[0] else None} verified {sum(1 for r in ok if r['verified'])}")
