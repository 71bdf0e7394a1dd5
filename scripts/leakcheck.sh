#!/usr/bin/env bash
# Leak check of the native code (npm run leakcheck): builds an AddressSanitizer copy of the addon
# in a scratch directory (COWBENCH_SANITIZE=address, see binding.gyp), runs the leak-check driver
# (test/leakcheck/driver.ts: snapshots of every backend, variants, failure and abort paths, scan
# hooks) under ASan + LeakSanitizer, and fails on a definite (direct) leak with a frame in
# cowbench's native code, or on any ASan memory error. Leaks without a cowbench frame (node, V8)
# are counted and ignored.
#
# Why not valgrind: memcheck runs one thread at a time. A writer that touches a write-protected
# page sleeps in the kernel (handle_userfault) still holding valgrind's thread lock, so the uffd
# handler thread that would resolve the fault never runs: the uffd backend deadlocks (seen with
# valgrind 3.19, which also lacks the userfaultfd syscall; the softdirty backend, whose async
# write-protect never blocks, does run under it). ASan/LSan instrument only the addon and run
# threads natively. Set LEAKCHECK_KEEP=1 to keep the scratch directory and its logs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
libasan=$(gcc -print-file-name=libasan.so)
if [[ ! -e "$libasan" ]]; then
  echo "leakcheck: libasan.so not found (gcc -print-file-name=libasan.so): install gcc's AddressSanitizer runtime" >&2
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cowbench-leakcheck.XXXXXX")
if [[ "${LEAKCHECK_KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi

echo "leakcheck: compiling TypeScript, building the ASan addon in $work"
(cd "$root" && npx tsc -p tsconfig.json)
cp -r "$root/native" "$root/binding.gyp" "$root/package.json" "$root/bin" "$root/dist" "$root/scripts" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
(cd "$work" && COWBENCH_SANITIZE=address npm run --silent install >"$work/build.log" 2>&1) || {
  tail -30 "$work/build.log" >&2
  exit 1
}
mkdir "$work/logs"

echo "leakcheck: running the workload under ASan + LeakSanitizer"
status=0
LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$work/logs/asan" \
  LSAN_OPTIONS="exitcode=0" \
  node --expose-gc "$work/dist/test/leakcheck/driver.js" || status=$?

node "$root/dist/test/leakcheck/report.js" "$work/logs" || status=1
if [[ $status -ne 0 ]]; then echo "leakcheck: FAILED" >&2; else echo "leakcheck: passed"; fi
exit $status
