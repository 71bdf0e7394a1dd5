#!/bin/bash
# bench --ci before (97cfb86: auto with the ramp) and after (9520d69: no ramp, half-region judging), interleaved, two each
set -u
R=/work/wt-new/results
for i in 1 2; do
  (cd /work/main && node bin/cowbench.js bench --ci --out $R/2026-12-06-vm-noramp-ci-before$i > /tmp/ci-before$i.log 2>&1; echo before$i $?)
  (cd /work/wt-new && node bin/cowbench.js bench --ci --out $R/2026-12-06-vm-noramp-ci-after$i > /tmp/ci-after$i.log 2>&1; echo after$i $?)
done
cd /work/wt-new
for p in before1:before2 after1:after2 before1:after1 before2:after2; do
  a=${p%%:*}; b=${p##*:}
  node bin/cowbench.js compare results/2026-12-06-vm-noramp-ci-$a results/2026-12-06-vm-noramp-ci-$b --fail-on-regression > /work/scratch/s28/ci-$a-$b.txt 2>&1; echo "$a->$b exit $?"
done
