#!/usr/bin/env bash
# Rebuilds the history of this directory's runs (run.sh made them) in an embedded database and
# runs the A/A and A/B checks: the 10 A/A runs alone (no regression, gate exit 0), then with the 5
# slowed runs (a change point at ab-01, gate exit 1); the outputs go to aa-*.txt / ab-*.txt, and
# report --db draws the trend charts into history-report/.
#   usage: analyse.sh [DIR]   (from the checkout; DB: $DIR/history.pglite, not committed)
set -u
dir=${1:-$(dirname "$0")}
cb="node bin/cowbench.js"
db="$dir/history.pglite"
rm -rf "$db" "$db.lock"
$cb history add --db "$db" --subject dir "$dir"/aa-*/ >"$dir/add.txt"
$cb history list --db "$db" >"$dir/list-aa.txt"
$cb history changes --db "$db" >"$dir/aa-changes.txt"
$cb history gate --db "$db" --fail-on-regression >"$dir/aa-gate.txt"
echo "exit $?" >>"$dir/aa-gate.txt"
$cb history add --db "$db" --subject dir $(ls -d "$dir"/ab-*/ | while read -r d; do [ -e "$d/results.json" ] && echo "$d"; done) >>"$dir/add.txt"
$cb history list --db "$db" >"$dir/list.txt"
$cb history changes --db "$db" >"$dir/ab-changes.txt"
$cb history changes --db "$db" --format json >"$dir/ab-changes.json"
$cb history gate --db "$db" --fail-on-regression >"$dir/ab-gate.txt"
echo "exit $?" >>"$dir/ab-gate.txt"
$cb report --db "$db" --out "$dir/history-report" >/dev/null
