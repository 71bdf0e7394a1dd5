#!/bin/bash
cd /work/scratch/s28
for row in "r1t|--backend uffd --size 256M --writers 2 --pattern random|" "r2|--backend uffd --size 256M --writers 2 --pattern sequential|" "r3|--backend uffd --size 256M --writers 2 --pattern hotset|"; do
  IFS='|' read -r name args dir <<< "$row"
  IMGDIR=$dir ./ab2.sh 10 $name.jsonl "$args" "new|/work/wt-new|" "main|/work/main|" "k512|/work/wt-new|--fault-around 512"
  echo "== $name"; python3 sum.py $name.jsonl; python3 stats.py $name.jsonl ratio new:k512 main:k512 new:main; python3 stats.py $name.jsonl wp_faults new:main
done
