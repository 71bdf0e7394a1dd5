#!/bin/bash
# ab.sh N OUT ROWARGS -- side specs "label|dir|args" ...; interleaved seeded shuffle; one JSON line per run
n=$1; out=$2; shift 2; row="$1"; shift; : > "$out"
sides=("$@")
order=$(python3 -c "import random,sys; r=random.Random(77); o=list(range(${#sides[@]}))*$n; r.shuffle(o); print(' '.join(map(str,o)))")
for i in $order; do
  IFS='|' read -r label dir args <<< "${sides[$i]}"
  img=${IMGDIR:-/dev/shm}/cowbench-ab.img; if [ -n "$OUTIMG" ]; then outargs="--out $OUTIMG"; else outargs="--out $img --force"; fi
  res=$(cd $dir && node bin/cowbench.js run $row $args $outargs --json 2>/dev/null)
  rm -f $img $img.json
  echo "$res" | python3 -c "import json,sys,os; r=json.load(sys.stdin); bm=r.get('backend_metrics',{}); print(json.dumps({'side':'$label','load':os.getloadavg()[0],'verified':r.get('verified'),'ratio':r['writers']['throughput_ratio'],'wp_faults':r['wp_faults'],'pages_before':r['pages_copied_before_write'],'stall_p999_us':r['write_stall']['p999_us'],'MBps':r['throughput_MBps'],'extra_mem':r['extra_memory_peak_bytes'],'dense':bm.get('fault_around_dense_faults'),'hot':bm.get('fault_around_region_hot_faults'),'seq':bm.get('fault_around_sequential_faults')}))" >> "$out" || echo "{\"side\":\"$label\",\"error\":true}" >> "$out"
done
