#!/usr/bin/env bash
# Rebuilds the A/A + A/B history of this directory: AA runs of `cowbench bench --ci` of one build,
# then AB runs with the test-only knob COWBENCH_CI_SLOW_UFFD_SINK_US set (the uffd thread fault
# trials' sink slowed by US µs a page), each its own results directory, in order, with wall times.
# Then: cowbench history add --db DIR/history.pglite DIR/aa-* DIR/ab-* (see SUMMARY.md).
#   usage: run.sh [DIR] (env: COWBENCH, default ./bin/cowbench.js; AA=10 AB=5 US=5)
set -u
dir=${1:-$(dirname "$0")}
bin=${COWBENCH:-./bin/cowbench.js}
aa=${AA:-10}
ab=${AB:-5}
us=${US:-5}
one() {
  local name=$1
  shift
  local t0=$SECONDS
  env "$@" node "$bin" bench --ci --out "$dir/$name" >"$dir/$name.log" 2>&1
  echo "$name rc=$? wall=$((SECONDS - t0))s" >>"$dir/wall-times.txt"
}
for i in $(seq -w 1 "$aa"); do one "aa-$i"; done
for i in $(seq -w 1 "$ab"); do one "ab-$i" COWBENCH_CI_SLOW_UFFD_SINK_US="$us"; done
