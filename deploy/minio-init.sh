#!/bin/sh
# One-shot set-up run by the compose file's init service; safe to run again.
# The mc command each step replaces is noted beside it. The bucket and user
# commands take the server from MINNOW_ENDPOINT and the root credentials from
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (the env file), so `alias set` only
# matters to the object commands (ls, cp, cat, rm).
set -eu
: "${MINNOW_ENDPOINT:=http://minio:9000}"
: "${APP_BUCKET:=app-data}"
lifecycle=${LIFECYCLE_FILE:-/deploy/lifecycle.json}

# mc alias set minio http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
minnow alias set minio "$MINNOW_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
# mc mb --ignore-existing minio/app-data
minnow bucket create --ignore-existing "$APP_BUCKET"
# mc admin user add minio "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
minnow user add "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
# mc admin policy attach minio readwrite --user "$APP_ACCESS_KEY"
minnow user policy attach --user "$APP_ACCESS_KEY" readwrite
# mc ilm import minio/app-data < lifecycle.json
minnow bucket lifecycle import "$APP_BUCKET" < "$lifecycle"
# mc ls minio
minnow ls minio
echo "minio-init: done"
