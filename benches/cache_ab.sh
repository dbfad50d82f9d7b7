#!/bin/bash
# A/B of the object cache: GET c=32, 10 s cells, one release build, the cache
# on (default bound) and off (MINNOW_CACHE_MIB=0) alternated, per size.
# SIZES="4KiB 64KiB 1MiB" ROUNDS=2 MINNOW=... BENCH=... override the defaults.
M=${MINNOW:-./target/release/minnow}; B=${BENCH:-./target/release/minnow-bench}
SIZES=${SIZES:-4KiB 64KiB 1MiB}; ROUNDS=${ROUNDS:-2}; SECS=${SECS:-10}
for size in $SIZES; do
  for round in $(seq 1 "$ROUNDS"); do
    for cache in off on; do
      rm -rf /tmp/abc; mkdir -p /tmp/abc
      if [[ $cache == off ]]; then C=0; else C=${CACHE_MIB:-64}; fi
      MINNOW_CACHE_MIB=$C MINIO_BROWSER=off MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin \
        $M server /tmp/abc/d{1...4} --address 127.0.0.1:9778 >/tmp/abc.log 2>&1 &
      pid=$!; sleep 2
      echo "== $size round $round cache=$cache load=$(cut -d' ' -f1 /proc/loadavg)"
      # nginx's figure once per size, with the first cache-on cell.
      baseline=--no-baseline; [[ $round == 1 && $cache == on ]] && baseline=
      $B get --endpoint http://127.0.0.1:9778 --size "$size" -c 32 --duration "$SECS" --objects 200 \
        $baseline --server-pid $pid 2>&1 | grep -E "^ *GET|server CPU|nginx GET|ratio" | head -8
      kill $pid; wait $pid 2>/dev/null
    done
  done
done
rm -rf /tmp/abc
