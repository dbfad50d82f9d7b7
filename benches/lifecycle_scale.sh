#!/usr/bin/env bash
# Lifecycle cycle at scale (BENCHMARKS.md, sixth session): a release server on the drives
# benches/listing_scale.sh populated (same LISTBENCH_DIR), a rule "Expiration 7 days, prefix
# bench/" (so every object is listed and judged and none is due), the scanner unthrottled
# (MINNOW_LIFECYCLE_OPS_PER_SEC=0) with a 1 s pause between cycles; prints the scanner's own
# "lifecycle scan cycle finished" lines (objects scanned, duration) for CYCLES cycles.
# The first cycle after a start includes the bucket's index build and reads every object's
# metadata once; later cycles are the steady state.
# Usage: [MINNOW=path] [CYCLES=3] bash benches/lifecycle_scale.sh   (boto3 sets the rule)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${LISTBENCH_DIR:-target/listbench}
PORT=${LISTBENCH_PORT:-19557}
EP=http://127.0.0.1:$PORT
MINNOW=${MINNOW:-./target/release/minnow}
CYCLES=${CYCLES:-3}
LOG=$(mktemp)
export MINIO_ROOT_USER=listbench MINIO_ROOT_PASSWORD=listbench-secret
env MINNOW_LIFECYCLE_OPS_PER_SEC=0 MINNOW_LIFECYCLE_SCAN_PAUSE=1 RUST_LOG=info \
    "$MINNOW" server --address 127.0.0.1:$PORT "$ROOT"/d{1,2,3,4} >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do curl -sf "$EP/minio/health/live" >/dev/null && break; sleep 0.2; done
python3 - "$EP" <<'EOF'
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="listbench",
                  aws_secret_access_key="listbench-secret", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.put_bucket_lifecycle_configuration(Bucket="listscale", LifecycleConfiguration={"Rules": [
    {"ID": "nothing-due", "Filter": {"Prefix": "bench/"}, "Status": "Enabled",
     "Expiration": {"Days": 7}}]})
EOF
echo "load at start: $(uptime | sed 's/.*load average: //')"
deadline=$((SECONDS + 3600))
seen=0
while [ "$seen" -lt "$CYCLES" ] && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 1
  now=$(grep -c "lifecycle scan cycle finished" "$LOG" || true)
  if [ "$now" -gt "$seen" ]; then
    grep "lifecycle scan cycle finished" "$LOG" | sed -n "$((seen + 1)),${now}p" \
      | sed 's/\x1b\[[0-9;]*m//g' | grep -oE "objects_scanned=[0-9]+|duration_ms=[0-9]+" | paste -sd' '
    echo "  load: $(uptime | sed 's/.*load average: //'), server RSS $(ps -o rss= -p $PID) KiB"
    seen=$now
  fi
done
