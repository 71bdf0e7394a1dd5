#!/usr/bin/env bash
# The history's cost on both stores (bench/history/perf.ts): recording one bench --ci run
# (aa-01 of this directory), and `history changes` over synthetic histories of 1,000 and 10,000
# runs × 50 metrics × 10 samples. The PostgreSQL server is a private one (initdb in a temporary
# directory, unix socket only, as the postgres user under root), stopped afterwards.
#   usage: perf.sh [OUTDIR]   (from the checkout; npm run build first)
set -eu
out=${1:-$(dirname "$0")}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
tmp=$(mktemp -d /tmp/cowbench-perf-XXXXXX)
as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as=(runuser -u postgres --); fi
"${as[@]}" "$bin/initdb" -D "$tmp/data" -A trust -U cowbench -N -E UTF8 >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -o "-c listen_addresses='' -k $tmp" start >/dev/null
trap '"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null; rm -rf "$tmp"' EXIT
url="postgres://cowbench@$(node -p "encodeURIComponent('$tmp')")/postgres"
node dist/bench/history/perf.js --db "$url" --run "$out/aa-01" --runs 1000,10000 >"$out/perf-postgres.json"
node dist/bench/history/perf.js --db "$tmp/embedded" --run "$out/aa-01" --runs 1000,10000 >"$out/perf-embedded.json"
