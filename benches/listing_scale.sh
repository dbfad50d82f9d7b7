#!/usr/bin/env bash
# Listing at scale (BENCHMARKS.md, fifth session): ListObjectsV2 page latency and full-listing
# rate over one flat prefix, with the listing index on (default) and off (MINNOW_LIST_INDEX_MIB=0,
# the folder walk every page used before the index), each with the drive deadline at its default
# and off (MINIO_DRIVE_MAX_TIMEOUT=0). Populations stay between runs (--run-tag, --skip-populate).
# Usage: [CONFIGS='on/default on/0 off/default off/0'] bash benches/listing_scale.sh N [N...]   (after cargo build --release -p minnow -p minnow-benches)
# MINNOW=path picks the server binary (A/B runs); POPULATE_WRAP=eatmydata makes populating skip
# fsync (populating only: the measured servers run without it); LISTBENCH_DIR puts the drives on
# another file system (a loop-mounted image for 1M keys, see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${LISTBENCH_DIR:-target/listbench}
PORT=${LISTBENCH_PORT:-19556}
EP=http://127.0.0.1:$PORT
mkdir -p "$ROOT"/d{1,2,3,4}
export MINIO_ROOT_USER=listbench MINIO_ROOT_PASSWORD=listbench-secret
BENCH=(./target/release/minnow-bench)
MINNOW=${MINNOW:-./target/release/minnow}
WRAP=()
COMMON=(--endpoint "$EP" --access-key listbench --secret-key listbench-secret --bucket listscale
        --size 1B --no-baseline --no-cleanup --json target/listbench/last.json)
PID=
start() { # env assignments for the server
  env "$@" "${WRAP[@]}" "$MINNOW" server --address 127.0.0.1:$PORT "$ROOT"/d{1,2,3,4} \
      >>"$ROOT/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "$EP/minio/health/live" >/dev/null && return; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" || true; }
trap 'kill $PID 2>/dev/null || true' EXIT
for N in "$@"; do
  if [ ! -e "$ROOT/populated-$N" ]; then
    WRAP=(${POPULATE_WRAP:-}); start; WRAP=()
    "${BENCH[@]}" list-page "${COMMON[@]}" --run-tag "flat$N" --objects "$N" --populate-concurrency 64 -c 1 --ops 1
    touch "$ROOT/populated-$N"
    stop
  fi
done
# One server per configuration measures every population (all live in one bucket, whose index
# the first listing after a start builds).
for config in ${CONFIGS:-on/default on/0 off/default off/0}; do
  index=${config%/*} deadline=${config#*/}
  envs=()
  [ "$index" = off ] && envs+=(MINNOW_LIST_INDEX_MIB=0)
  [ "$deadline" = 0 ] && envs+=(MINIO_DRIVE_MAX_TIMEOUT=0)
  start "${envs[@]}"
  for N in "$@"; do
      TAG=flat$N
      echo "=== N=$N index=$index deadline=$deadline server=$MINNOW load: $(uptime | sed 's/.*load average: //')"
      # The first listing after a start builds the index (a walk of the whole bucket).
      echo "first page (the first after a start builds the bucket's index):"
      "${BENCH[@]}" list-page "${COMMON[@]}" --run-tag "$TAG" --objects "$N" --skip-populate -c 1 --ops 1 2>&1 \
        | grep -E "LIST " || true
      pages=20; full=${FULL:-3}
      if [ "$index" = on ] && [ "${WARMUP:-1}" = 1 ]; then
        # The index learns each key's size, ETag and time from the first listing that reads
        # them: one full listing first, reported apart, then the steady state.
        echo "warm-up full listing (reads every key's metadata once):"
        "${BENCH[@]}" list "${COMMON[@]}" --run-tag "$TAG" --objects "$N" --skip-populate -c 1 --ops 1 2>&1 \
          | grep -E "LIST |keys listed" || true
      fi
      [ "$index" = off ] && [ "$N" -gt 20000 ] && { pages=5; full=1; }
      "${BENCH[@]}" list-page "${COMMON[@]}" --run-tag "$TAG" --objects "$N" --skip-populate -c 1 --ops $pages 2>&1 \
        | grep -E "LIST|p50|op/s|ops" || true
      "${BENCH[@]}" list "${COMMON[@]}" --run-tag "$TAG" --objects "$N" --skip-populate -c 1 --ops $full 2>&1 \
        | grep -E "LIST|p50|op/s|ops|keys listed" || true
      echo "server RSS: $(ps -o rss= -p "$PID") KiB"
  done
  stop
done
