#!/bin/bash
# Throughput of `minnow mirror` between two local minnow servers (release), next to the
# destination's own PUT rate for the same sizes (minnow-bench), measured in rounds that
# alternate the two against the same destination in the same state.
# Needs `cargo build --release -p minnow -p minnow-benches`; WORK= picks the scratch folder
# (~10 GB at the peak with ROUNDS=3); ROUNDS= (default 3) how many times each comparison runs; CLI= runs the
# mirror legs with another `minnow` binary (an A/B of the tool against the same servers).
#
# Fairness rules (each leg of a round is measured the same way): `sync` flushes every dirty
# page before a leg starts, so no leg pays for the previous one's writeback. Small objects are
# never deleted between legs (each leg writes its own prefix): on ext4 without a journal (the
# disk here) inode allocation skips inodes freed in the last 30-60 s (`recently_deleted`), so
# a leg right after 40,000 files were removed pays several times the CPU per PUT; large
# objects (a few hundred files) are removed before each leg. The bench sends the shape mirror
# sends (64 KiB single PUTs 32 at a time; 64 MiB as multipart with 16 MiB parts and 32 parts
# in flight, mirror's 8 objects x 4 parts). A mirror leg's rate is over its whole wall time
# (start-up and both listings included); the bench's is its own measured phase.
set -e
B="$(cd "$(dirname "$0")/.." && pwd)/target/release"
CLI="${CLI:-$B/minnow}"
ROUNDS="${ROUNDS:-3}"
W="${WORK:-/tmp/minnow-mirror-bench}"
rm -rf $W; mkdir -p $W/src64k $W/src64m
for s in a b; do mkdir -p $W/$s; done
export MINNOW_ROOT_USER=admin MINNOW_ROOT_PASSWORD=adminsecret
$B/minnow server $W/a/d{1...4} --address 127.0.0.1:9411 > $W/a.log 2>&1 & A=$!
$B/minnow server $W/b/d{1...4} --address 127.0.0.1:9412 > $W/b.log 2>&1 & Bp=$!
trap "kill $A $Bp; [ -n \"$KEEP\" ] || rm -rf $W" EXIT
sleep 3
export MINNOW_ALIAS_A=http://admin:adminsecret@127.0.0.1:9411 MINNOW_ALIAS_B=http://admin:adminsecret@127.0.0.1:9412
for s in 9411 9412; do for b in small large bench benchl; do $B/minnow bucket create $b --endpoint http://127.0.0.1:$s --access-key admin --secret-key adminsecret >/dev/null; done; done
W="$W" python3 - <<'PY'
import os
w = os.environ["W"]
for i in range(10000):
    d=f"{w}/src64k/d{i%100}"; os.makedirs(d, exist_ok=True)
    open(f"{d}/o{i}","wb").write(os.urandom(65536))
for i in range(20):
    open(f"{w}/src64m/o{i}","wb").write(os.urandom(64<<20))
PY
# Each leg prints its wall time, its rate, and the CPU seconds the CLI (or minnow-bench), server
# A and server B spent in it (user + system; the client's from bash's `time`, the servers' from
# /proc/PID/stat), and how busy that kept the machine: busy = (client + A + B) / (cores × wall).
# PROFILE=1 also records the CLI with `perf record -g` (call graphs in $W/perf-<leg>.txt, kept
# when KEEP=1).
cores=$(nproc)
tick=$(getconf CLK_TCK)
cpu() { awk -v t=$tick '{printf "%.2f", ($14+$15)/t}' /proc/$1/stat; }
fresh() {
  # (`rm -r` of a prefix holding nothing fails, as `mc rm` does: nothing to empty then.)
  for b in "$@"; do $B/minnow rm -r --force -q B/$b >/dev/null 2>&1 || true; done
  sync
}
# t LEG UNITS UNIT-NAME COMMAND...: runs one leg; leaves its rate (UNITS / wall) in $W/rate-LEG.
t() {
  local leg=$1 units=$2 unit=$3; shift 3
  local a0=$(cpu $A) b0=$(cpu $Bp) s=$(date +%s.%N)
  local TIMEFORMAT='%U %S'
  local run=("$@")
  if [ -n "$PROFILE" ]; then run=(perf record -q -F 499 -g -o $W/perf-$leg.data "$@"); fi
  local times=$( { time "${run[@]}" 2>$W/cli.err >/dev/null; } 2>&1 )
  local e=$(date +%s.%N) a1=$(cpu $A) b1=$(cpu $Bp)
  cat $W/cli.err >&2
  echo "$e $s $times $a0 $a1 $b0 $b1 $cores $units" | awk -v u="$unit" -v f="$W/rate-$leg" -v g="$W/cpu-$leg" '{w=$1-$2; c=$3+$4; a=$6-$5; b=$8-$7;
    printf "%.2f s, %.1f %s (CPU s: CLI %.2f, A %.2f, B %.2f; busy %.0f%% of %d cores)", w, $10/w, u, c, a, b, 100*(c+a+b)/($9*w), $9;
    printf "%.3f\n", $10/w > f; printf "%.2f\n", c+a+b > g}'
  if [ -n "$PROFILE" ]; then
    perf report -i $W/perf-$leg.data --no-children --percent-limit 1.5 --stdio 2>/dev/null | grep -v "^$" | head -120 > $W/perf-$leg.txt
  fi
}
# bench LEG BUCKET FIELD ARGS...: minnow-bench against B's BUCKET; leaves its rate (the FIELD before "ops/s" or
# "MiB/s" in its report) in $W/rate-LEG.
bench() {
  local leg=$1 bucket=$2 field=$3; shift 3
  local b0=$(cpu $Bp) TIMEFORMAT='%R %U %S'
  local times=$( { time (cd $W && $B/minnow-bench "$@" --endpoint http://127.0.0.1:9412 --access-key admin --secret-key adminsecret --bucket $bucket --no-baseline --no-cleanup >$W/bench.out 2>&1); } 2>&1 )
  local b1=$(cpu $Bp)
  echo "$times $b0 $b1" | awk '{printf "%.2f\n", $2+$3+$5-$4}' > $W/cpu-$leg
  local line=$(grep -E "ops/s" $W/bench.out | head -1)
  echo "$line" | awk -v f="$field" -v o="$W/rate-$leg" '{for(i=2;i<=NF;i++) if ($i ~ "^"f) {gsub(",","",$(i-1)); print $(i-1) > o}}'
  echo "$line $times $b0 $b1" | awk '{n=NF; printf "%s (CPU s: minnow-bench %.2f, B %.2f over %.2f s wall)", $0, $(n-3)+$(n-2), $n-$(n-1), $(n-4)}' | sed -E 's/ [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+ \(CPU/ (CPU/'
}
ratio() { awk -v a=$(cat $W/rate-$1) -v b=$(cat $W/rate-$2) 'BEGIN{printf "%.2f", a/b}'; }
# The most a mirror leg can reach relative to the bench leg when every process shares the same
# cores and both move the same bytes: the bench leg's CPU (client + B) over the mirror leg's
# (CLI + A + B). A measured ratio at this ceiling means the copy ran as fast as its work allows.
ceiling() { awk -v m=$(cat $W/cpu-$1) -v b=$(cat $W/cpu-$2) 'BEGIN{printf "%.2f", b/m}'; }
median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
echo "mirror CLI: $CLI; rounds: $ROUNDS; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
sync
echo "source: local->A 10000x64KiB: $(t a64k 10000 obj/s $CLI mirror -q --parallel 32 $W/src64k A/small)"
sync
echo "source: local->A 20x64MiB: $(t a64m 1280 MiB/s $CLI mirror -q --parallel 8 $W/src64m A/large)"
# Warm-up, not counted: the first 1.25 GiB a fresh server writes costs it about twice the CPU
# of the next (seen in every run here, whichever client wrote it: first touch of memory in
# this VM), so without it the first measured large leg pays for all that follow.
echo "warm-up (not counted): $(bench warm benchl MiB/s multipart --size 64MiB --part-size 16MiB -c 32 --ops 20)"
fresh large benchl
: > $W/r-l64k; : > $W/r-s64k; : > $W/r-l64m; : > $W/r-s64m
for r in $(seq 1 $ROUNDS); do
  echo "round $r (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  sync; echo "  local->B 10000x64KiB: $(t l64k 10000 obj/s $CLI mirror -q --parallel 32 $W/src64k B/small/l$r)"
  sync; echo "  B's own PUT 64 KiB c=32: $(bench p64k bench ops/s put --size 64KiB -c 32 --ops 10000)"
  sync; echo "  A->B 10000x64KiB: $(t s64k 10000 obj/s $CLI mirror -q --parallel 32 A/small B/small/s$r)"
  echo "  mirror / own PUT: local->B $(ratio l64k p64k) (CPU ceiling $(ceiling l64k p64k)), A->B $(ratio s64k p64k) (ceiling $(ceiling s64k p64k))"
  ratio l64k p64k >> $W/r-l64k; echo >> $W/r-l64k; ratio s64k p64k >> $W/r-s64k; echo >> $W/r-s64k
  fresh large benchl; echo "  local->B 20x64MiB: $(t l64m 1280 MiB/s $CLI mirror -q --parallel 8 $W/src64m B/large)"
  fresh large benchl; echo "  B's own multipart 64 MiB, 16 MiB parts, c=32: $(bench p64m benchl MiB/s multipart --size 64MiB --part-size 16MiB -c 32 --ops 20)"
  fresh large benchl; echo "  A->B 20x64MiB: $(t s64m 1280 MiB/s $CLI mirror -q --parallel 8 A/large B/large)"
  echo "  mirror / own multipart: local->B $(ratio l64m p64m) (CPU ceiling $(ceiling l64m p64m)), A->B $(ratio s64m p64m) (ceiling $(ceiling s64m p64m))"
  ratio l64m p64m >> $W/r-l64m; echo >> $W/r-l64m; ratio s64m p64m >> $W/r-s64m; echo >> $W/r-s64m
done
echo "A->B again (nothing to copy, 10000 objects compared): $(t again 10000 obj/s $CLI mirror -q --parallel 32 A/small B/small/s1)"
fresh large benchl; echo "reference, B's single PUT 64 MiB c=8: $(bench p64m1 benchl MiB/s put --size 64MiB -c 8 --ops 20)"
echo "median mirror / destination's own rate over $ROUNDS rounds: 64 KiB local->B $(median < $W/r-l64k), A->B $(median < $W/r-s64k); 64 MiB local->B $(median < $W/r-l64m), A->B $(median < $W/r-s64m)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
