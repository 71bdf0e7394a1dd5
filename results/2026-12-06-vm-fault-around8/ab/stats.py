# ratio of medians with a percentile bootstrap CI, and Mann-Whitney p; pairs given as A:B
import json,sys,random,statistics as st
from math import erf, sqrt
rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by={}
for r in rows:
    if not r.get('error'): by.setdefault(r['side'],[]).append(r)
def mw(a,b):
    n1,n2=len(a),len(b); allv=sorted([(v,0) for v in a]+[(v,1) for v in b]); ranks={}
    i=0; R1=0
    vals=[v for v,_ in allv]
    # average ranks
    rk=[0]*len(allv); i=0
    while i<len(allv):
        j=i
        while j+1<len(allv) and allv[j+1][0]==allv[i][0]: j+=1
        for k in range(i,j+1): rk[k]=(i+j)/2+1
        i=j+1
    R1=sum(rk[k] for k in range(len(allv)) if allv[k][1]==0)
    U=R1-n1*(n1+1)/2; mu=n1*n2/2; sd=sqrt(n1*n2*(n1+n2+1)/12)
    z=(U-mu)/sd; return 2*(1-0.5*(1+erf(abs(z)/sqrt(2))))
key=sys.argv[2] if len(sys.argv)>2 else 'ratio'
for pair in sys.argv[3:]:
    A,B=pair.split(':'); a=[r[key] for r in by[A]]; b=[r[key] for r in by[B]]
    rng=random.Random(1); bs=[]
    for _ in range(5000):
        bs.append(st.median([rng.choice(a) for _ in a])/st.median([rng.choice(b) for _ in b]))
    bs.sort()
    print(f"{key} {A} ÷ {B}: {st.median(a)/st.median(b):.3f} [{bs[125]:.3f}–{bs[4874]:.3f}] (n={len(a)} vs {len(b)}; medians {st.median(a):.3f} vs {st.median(b):.3f}; Mann–Whitney p={mw(a,b):.3g})")
