#!/bin/bash
# bench --ci before (62d73a3: auto with the ramp, no region rule) and after (main with the region rule), interleaved, two each
set -u
R=/work/main/results
for i in 1 2; do
  (cd /work/wt-before && node bin/cowbench.js bench --ci --out $R/2026-12-06-vm-region-ci-before$i > /tmp/ci-before$i.log 2>&1; echo before$i $?)
  (cd /work/main && node bin/cowbench.js bench --ci --out $R/2026-12-06-vm-region-ci-after$i > /tmp/ci-after$i.log 2>&1; echo after$i $?)
done
