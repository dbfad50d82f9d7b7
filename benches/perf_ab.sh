#!/bin/bash
# A/B of two minnow builds on one cell, interleaved in one sitting: for each
# round, the "before" binary then the "after" binary, each on fresh drives,
# then the cell's baseline (raw disk for PUT, nginx for GET) once.
#   BEFORE=/path/minnow AFTER=./target/release/minnow MODE=put SIZE=1MiB C=32 \
#   SECS=10 ROUNDS=3 bash benches/perf_ab.sh
# Prints one line per cell: label, throughput, p50/p99, server CPU (cores, and
# CPU time per MiB moved, which load disturbs less than throughput), errors, load.
M_BEFORE=${BEFORE:?set BEFORE to the before binary}; M_AFTER=${AFTER:-./target/release/minnow}
B=${BENCH:-./target/release/minnow-bench}
MODE=${MODE:-put}; SIZE=${SIZE:-1MiB}; C=${C:-32}; SECS=${SECS:-10}; ROUNDS=${ROUNDS:-3}
OBJECTS=${OBJECTS:-64}; PORT=${PORT:-9787}; WORK=${WORK:-/tmp/perf-ab}
cell() { # label binary
  rm -rf "$WORK"; mkdir -p "$WORK"
  MINIO_BROWSER=off MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin \
    "$2" server "$WORK"/d{1...4} --address 127.0.0.1:$PORT >"$WORK.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/minio/health/live && break; sleep 0.1; done
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  $B "$MODE" --endpoint http://127.0.0.1:$PORT --size "$SIZE" -c "$C" --duration "$SECS" \
    --objects "$OBJECTS" --no-baseline --server-pid $pid --json "$WORK.json" >"$WORK.out" 2>&1
  python3 - "$1" "$WORK.json" "$load" <<'PY'
import json, sys
label, path, load = sys.argv[1:]
r = json.load(open(path))["run"]
mib = r['bytes'] / 2**20
print(f"{label:10} {r['mib_per_s']:9.1f} MiB/s {r['ops_per_s']:9.1f} op/s  p50 {r['ops'][0]['p50_ms']:8.2f}  p99 {r['ops'][0]['p99_ms']:8.2f} ms"
      f"  srvCPU {r['server_cpu_cores']:.2f} ({1000 * r['server_cpu_secs'] / max(mib, 1):.2f} ms/MiB)"
      f"  errors {r['errors']}  othCPU {r['other_cpu_cores']:.2f}  load {load}")
PY
  kill $pid; wait $pid 2>/dev/null
}
for round in $(seq 1 "$ROUNDS"); do
  cell "before-$round" "$M_BEFORE"
  cell "after-$round" "$M_AFTER"
  if [[ -z $NO_BASELINE ]]; then
    echo "baseline-$round $($B baseline "$MODE" --size "$SIZE" -c "$C" --duration "$SECS" --json "$WORK-baseline.json" 2>&1 | grep -E 'c=[0-9]+:' | head -1 | tr -s ' ' | tr '\n' ' ')"
  fi
done
