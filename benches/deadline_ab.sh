#!/bin/bash
# A/B of the drive deadline: 4 KiB GET c=32, 10 s, release build, alternating.
# MINNOW=path/to/minnow BENCH=path/to/minnow-bench run other builds (a saved
# "before" binary) against the same script.
M=${MINNOW:-./target/release/minnow}; B=${BENCH:-./target/release/minnow-bench}
for run in A1 B1 A2 B2; do
  rm -rf /tmp/abd; mkdir -p /tmp/abd
  if [[ $run == B* ]]; then T=0; else T=30s; fi
  MINIO_DRIVE_MAX_TIMEOUT=$T MINIO_BROWSER=off MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin $M server /tmp/abd/d{1...4} --address 127.0.0.1:9777 >/tmp/abd.log 2>&1 &
  pid=$!; sleep 2
  echo "== $run timeout=$T load=$(cut -d' ' -f1 /proc/loadavg)"
  $B get --endpoint http://127.0.0.1:9777 --size 4KiB -c 32 --duration 10 --objects 200 --no-baseline --server-pid $pid --json /tmp/ab-$run.json 2>&1 | grep -iE "op/s|ops|p99|p50" | head -4
  kill $pid; wait $pid 2>/dev/null
done
