#!/bin/bash
# final build (d2e67e0) twice (A/A), the best fixed K, and the build before (97cfb86, the ramp), n=12 per side, interleaved per row
cd /work/scratch/s28
for row in "r1t|--backend uffd --size 256M --writers 2 --pattern random|512" "r2|--backend uffd --size 256M --writers 2 --pattern sequential|512" "r6|--backend uffd --size 1G --writers kvm:1 --rate 65536|0"; do
  IFS='|' read -r name args k <<< "$row"
  ./ab2.sh 12 final-$name.jsonl "$args" "final|/work/wt-new|" "final2|/work/wt-new|" "k$k|/work/wt-new|--fault-around $k" "before|/work/main|"
  echo "== $name"; python3 sum.py final-$name.jsonl; python3 stats.py final-$name.jsonl ratio final:k$k final2:k$k final:final2 final:before before:k$k; python3 stats.py final-$name.jsonl wp_faults final:k$k final:before
done
