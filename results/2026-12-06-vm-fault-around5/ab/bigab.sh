#!/bin/bash
# rows 1 (tmpfs), 2, 3: auto (main) against K=512, and an A/A (auto twice), n=20 per side, interleaved
cd /work/scratch/s27
for row in "r1t|--backend uffd --size 256M --writers 2 --pattern random|" "r2|--backend uffd --size 256M --writers 2 --pattern sequential|" "r3|--backend uffd --size 256M --writers 2 --pattern hotset|"; do
  IFS='|' read -r name args dir <<< "$row"
  IMGDIR=$dir ./ab2.sh 20 big-$name.jsonl "$args" "auto|/work/main|" "auto2|/work/main|" "k512|/work/main|--fault-around 512"
  echo "== $name"; python3 sum.py big-$name.jsonl; python3 stats.py big-$name.jsonl ratio auto:k512 auto:auto2 auto2:k512; python3 stats.py big-$name.jsonl wp_faults auto:k512
done
