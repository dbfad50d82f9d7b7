#!/bin/bash
# Throughput of `minnow mirror` between two local minnow servers (release),
# next to the server's own PUT rate for the same sizes (minnow-bench).
# Needs `cargo build --release -p minnow -p minnow-benches`; WORK= picks the scratch folder (~8 GB);
# CLI= runs the mirror legs with another `minnow` binary (an A/B of the tool against the same servers).
set -e
B="$(cd "$(dirname "$0")/.." && pwd)/target/release"
CLI="${CLI:-$B/minnow}"
W="${WORK:-/tmp/minnow-mirror-bench}"
rm -rf $W; mkdir -p $W/src64k $W/src64m
for s in a b; do mkdir -p $W/$s; done
export MINNOW_ROOT_USER=admin MINNOW_ROOT_PASSWORD=adminsecret
$B/minnow server $W/a/d{1...4} --address 127.0.0.1:9411 > $W/a.log 2>&1 & A=$!
$B/minnow server $W/b/d{1...4} --address 127.0.0.1:9412 > $W/b.log 2>&1 & Bp=$!
trap "kill $A $Bp; rm -rf $W" EXIT
sleep 3
export MINNOW_ALIAS_A=http://admin:adminsecret@127.0.0.1:9411 MINNOW_ALIAS_B=http://admin:adminsecret@127.0.0.1:9412
for s in 9411 9412; do for b in small large; do $B/minnow bucket create $b --endpoint http://127.0.0.1:$s --access-key admin --secret-key adminsecret >/dev/null; done; done
W="$W" python3 - <<'PY'
import os
w = os.environ["W"]
for i in range(10000):
    d=f"{w}/src64k/d{i%100}"; os.makedirs(d, exist_ok=True)
    open(f"{d}/o{i}","wb").write(os.urandom(65536))
for i in range(20):
    open(f"{w}/src64m/o{i}","wb").write(os.urandom(64<<20))
PY
# PERF=1 also prints the CLI's own CPU per leg (`perf stat -e task-clock`), which a busy machine
# does not change: the figure to compare when other work shares the cores.
t() {
  local s=$(date +%s.%N)
  if [ -n "$PERF" ]; then perf stat -x, -e task-clock -o $W/perf.txt "$@"; else "$@"; fi
  local e=$(date +%s.%N)
  echo -n "$(echo "$e - $s" | bc)"
  if [ -n "$PERF" ]; then echo -n " (CLI CPU $(grep task-clock $W/perf.txt | cut -d, -f1) ms)"; fi
}
echo "mirror CLI: $CLI; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "local->A 10000x64KiB: $(t $CLI mirror -q --parallel 32 $W/src64k A/small) s"
echo "local->A 20x64MiB: $(t $CLI mirror -q --parallel 8 $W/src64m A/large) s"
echo "A->B 10000x64KiB: $(t $CLI mirror -q --parallel 32 A/small B/small) s"
echo "A->B 20x64MiB: $(t $CLI mirror -q --parallel 8 A/large B/large) s"
echo "A->B again (nothing to copy, 10000 objects compared): $(t $CLI mirror -q --parallel 32 A/small B/small) s"
(cd $W && $B/minnow-bench put --endpoint http://127.0.0.1:9412 --access-key admin --secret-key adminsecret --size 64KiB -c 32 --ops 10000 --no-baseline 2>&1) | tail -4
(cd $W && $B/minnow-bench put --endpoint http://127.0.0.1:9412 --access-key admin --secret-key adminsecret --size 64MiB -c 8 --ops 20 --no-baseline 2>&1) | tail -4
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
