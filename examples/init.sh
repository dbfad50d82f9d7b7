#!/usr/bin/env bash
# One-shot initialisation of a minnow deployment: what the MinIO deployment's
# init container did with `mc`, done with minnow's CLI. Safe to run again:
# every step is idempotent.
#
#   MINNOW               path of the minnow binary (default: minnow on PATH)
#   MINNOW_ENDPOINT      server URL (default http://127.0.0.1:9000)
#   MINNOW_ROOT_USER / MINNOW_ROOT_PASSWORD (or MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)
#                        root credentials, as given to the server
#   BUCKET               bucket to create (default banatie)
#   SERVICE_ACCESS_KEY / SERVICE_SECRET_KEY
#                        the API service's credentials (required)
set -euo pipefail

MINNOW="${MINNOW:-minnow}"
BUCKET="${BUCKET:-banatie}"
: "${SERVICE_ACCESS_KEY:?set SERVICE_ACCESS_KEY to the service user's access key}"
: "${SERVICE_SECRET_KEY:?set SERVICE_SECRET_KEY to the service user's secret key}"

"$MINNOW" bucket create --ignore-existing "$BUCKET"
"$MINNOW" user add "$SERVICE_ACCESS_KEY" "$SERVICE_SECRET_KEY"
"$MINNOW" user policy attach readwrite --user "$SERVICE_ACCESS_KEY"
"$MINNOW" bucket lifecycle import "$BUCKET" <<'RULES'
{"Rules":[{"ID":"temp-cleanup","Status":"Enabled","Filter":{"Prefix":"temp/"},"Expiration":{"Days":7}}]}
RULES

echo "minnow initialised: bucket $BUCKET, user $SERVICE_ACCESS_KEY (readwrite), temp/ expires after 7 days"
