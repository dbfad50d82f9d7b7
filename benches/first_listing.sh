#!/usr/bin/env bash
# The first listing after a start (BENCHMARKS.md, eighth session): two server binaries alternate
# ROUNDS times on one population (made by benches/listing_scale.sh with the same LISTBENCH_DIR and
# N). Each round starts the server and measures, in this order: the first ListObjectsV2 page
# (1,000 keys; the first request after the start), the first full paginated listing of the
# prefix, and the server's peak RSS (VmHWM) after both.
# REMOUNT="image mountpoint" (drives on a loop-mounted image, as root) remounts it before each
# start, so the server meets cold inode and folder caches as after a reboot. SETTLE=secs waits
# that long after the start before the first listing (a client that comes a little later).
# Usage: BEFORE=path/minnow AFTER=path/minnow [ROUNDS=2] [REMOUNT=...] bash benches/first_listing.sh N
#        (after cargo build --release -p minnow-benches; LISTBENCH_DIR as for listing_scale.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
N=$1
ROOT=${LISTBENCH_DIR:-target/listbench}
PORT=${LISTBENCH_PORT:-19556}
EP=http://127.0.0.1:$PORT
[ -e "$ROOT/populated-$N" ] || { echo "populate first: CONFIGS=' ' bash benches/listing_scale.sh $N" >&2; exit 1; }
export MINIO_ROOT_USER=listbench MINIO_ROOT_PASSWORD=listbench-secret
BENCH=${BENCH:-./target/release/minnow-bench}
COMMON=(--endpoint "$EP" --access-key listbench --secret-key listbench-secret --bucket listscale
        --size 1B --no-baseline --no-cleanup --json "$ROOT/last.json" --run-tag "flat$N" --objects "$N"
        --skip-populate -c 1 --ops 1)
PID=
start() {
  if [ -n "${REMOUNT:-}" ]; then
    read -r image mountpoint <<<"$REMOUNT"
    umount "$mountpoint" && mount -o loop,noatime "$image" "$mountpoint"
  fi
  "$1" server --address 127.0.0.1:$PORT "$ROOT"/d{1,2,3,4} >>"$ROOT/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "$EP/minio/health/live" >/dev/null && return; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" || true; }
trap 'kill $PID 2>/dev/null || true' EXIT
for round in $(seq 1 "${ROUNDS:-2}"); do
  for which in BEFORE AFTER; do
    binary=${!which}
    start "$binary"
    echo "=== round $round $which ($binary) N=$N load: $(uptime | sed 's/.*load average: //')"
    sleep "${SETTLE:-0}"
    echo "first page after the start (+${SETTLE:-0} s), peak RSS before it: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status):"
    "$BENCH" list-page "${COMMON[@]}" 2>&1 | grep -E "LIST " || true
    echo "first full listing:"
    "$BENCH" list "${COMMON[@]}" 2>&1 | grep -E "LIST |keys listed" || true
    echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
    stop
  done
done
