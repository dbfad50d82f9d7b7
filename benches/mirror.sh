#!/bin/bash
# Throughput of `minnow mirror` between two local minnow servers (release),
# next to the server's own PUT rate for the same sizes (minnow-bench).
# Needs `cargo build --release -p minnow -p minnow-benches`; WORK= picks the scratch folder (~10 GB at the peak);
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
trap "kill $A $Bp; [ -n \"$KEEP\" ] || rm -rf $W" EXIT
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
# Each leg prints its wall time and the CPU seconds the CLI, server A and server B spent in it
# (user + system; the CLI's from bash's `time`, the servers' from /proc/PID/stat), and how busy
# that kept the machine: busy = (CLI + A + B) / (cores × wall). A leg is bound by the destination
# when B's share is what the cores have left and the CLI's is small; PROFILE=1 also records the
# CLI with `perf record -g` (call graphs in $W/perf-<leg>.txt, kept when KEEP=1).
cores=$(nproc)
tick=$(getconf CLK_TCK)
cpu() { awk -v t=$tick '{printf "%.2f", ($14+$15)/t}' /proc/$1/stat; }
t() {
  local leg=$1; shift
  local a0=$(cpu $A) b0=$(cpu $Bp) s=$(date +%s.%N)
  local TIMEFORMAT='%U %S'
  local run=("$@")
  if [ -n "$PROFILE" ]; then run=(perf record -q -F 499 -g -o $W/perf-$leg.data "$@"); fi
  local times=$( { time "${run[@]}" 2>$W/cli.err >/dev/null; } 2>&1 )
  local e=$(date +%s.%N) a1=$(cpu $A) b1=$(cpu $Bp)
  cat $W/cli.err >&2
  echo "$e $s $times $a0 $a1 $b0 $b1 $cores" | awk '{w=$1-$2; c=$3+$4; a=$6-$5; b=$8-$7;
    printf "%.2f s (CPU s: CLI %.2f, A %.2f, B %.2f; busy %.0f%% of %d cores)", w, c, a, b, 100*(c+a+b)/($9*w), $9}'
  if [ -n "$PROFILE" ]; then
    perf report -i $W/perf-$leg.data --no-children --percent-limit 1.5 --stdio 2>/dev/null | grep -v "^$" | head -120 > $W/perf-$leg.txt
  fi
}
echo "mirror CLI: $CLI; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "local->A 10000x64KiB: $(t l64k $CLI mirror -q --parallel 32 $W/src64k A/small)"
echo "local->A 20x64MiB: $(t l64m $CLI mirror -q --parallel 8 $W/src64m A/large)"
echo "A->B 10000x64KiB: $(t s64k $CLI mirror -q --parallel 32 A/small B/small)"
echo "A->B 20x64MiB: $(t s64m $CLI mirror -q --parallel 8 A/large B/large)"
echo "A->B again (nothing to copy, 10000 objects compared): $(t again $CLI mirror -q --parallel 32 A/small B/small)"
# The destination's own PUT rate at the shape mirror sends: 64 KiB single PUTs, 32 in flight;
# 64 MiB objects as mirror sends them (multipart, 16 MiB parts, 32 parts in flight like mirror's
# 8 objects x 4 parts), and as single 64 MiB PUTs 8 at a time for reference. Each prints the CPU
# seconds of minnow-bench itself and of server B, the same accounting as the legs. The sources
# and the large objects go first, so the disk holds at most one copy of the large ones.
rm -rf $W/src64k $W/src64m
for s in A B; do $B/minnow rm -r --force -q $s/large >/dev/null; done
bench() {
  local b0=$(cpu $Bp) TIMEFORMAT='%R %U %S'
  local times=$( { time (cd $W && $B/minnow-bench "$@" --endpoint http://127.0.0.1:9412 --access-key admin --secret-key adminsecret --no-baseline >$W/bench.out 2>&1); } 2>&1 )
  local b1=$(cpu $Bp)
  grep -E "op/s|MiB/s" $W/bench.out | head -1
  echo "$times $b0 $b1" | awk '{printf "  (CPU s: minnow-bench %.2f, B %.2f over %.2f s wall)\n", $2+$3, $5-$4, $1}'
}
# --no-cleanup: B's CPU figure is then its PUTs alone, not also the bench's 10,000 DELETEs.
echo "B's PUT 64 KiB c=32:"; bench put --size 64KiB -c 32 --ops 10000 --no-cleanup
echo "B's multipart 64 MiB, 16 MiB parts, c=32:"; bench multipart --size 64MiB --part-size 16MiB -c 32 --ops 32
echo "B's PUT 64 MiB c=8:"; bench put --size 64MiB -c 8 --ops 20
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
