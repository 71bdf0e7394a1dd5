#!/bin/bash
# Row 1 (256 MiB, 2 unthrottled random writers, image on tmpfs), auto before the ramp (38bef99, /work/wt-before)
# and after (main d19d4f2), interleaved in a seeded shuffled order, n per side; one JSON line per run.
n=${1:-8}; out=${2:-/tmp/ab-row1.jsonl}; : > "$out"
order=$(python3 -c "import random; r=random.Random(6386788); o=['before','after']*$n; r.shuffle(o); print(' '.join(o))")
for side in $order; do
  dir=/work/main; [ $side = before ] && dir=${BEFORE_DIR:-/work/wt-before}
  img=/dev/shm/cowbench-ab-row1.img
  res=$(cd $dir && node bin/cowbench.js run --backend uffd --size 256M --writers 2 --pattern random --out $img --force --json 2>/dev/null)
  rm -f $img $img.json
  echo "$res" | python3 -c "import json,sys,os; r=json.load(sys.stdin); print(json.dumps({'side':'$side','load':os.getloadavg()[0],'verified':r.get('verified'),'ratio':r['writers']['throughput_ratio'],'wp_faults':r['wp_faults'],'pages_before':r['pages_copied_before_write'],'stall_p999_us':r['write_stall']['p999_us'],'MBps':r['throughput_MBps'],'extra_mem':r['extra_memory_peak_bytes']}))" >> "$out"
done
