#!/usr/bin/env bash
# Builds the minnow container image without reaching a registry:
#   1. a base image made from Debian packages (debootstrap minbase + curl +
#      ca-certificates, then `docker import`), built once and cached by tag;
#   2. `docker build` of deploy/Dockerfile on that base, with the minnow
#      binary built on the host copied in.
# Environment: MINNOW_BINARY (default target/release/minnow), MINNOW_IMAGE
# (default minnow:local), MINNOW_BASE_IMAGE (default minnow-base:bookworm),
# MINNOW_DEBIAN_MIRROR (default: debootstrap's own).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=${MINNOW_BINARY:-$repo/target/release/minnow}
image=${MINNOW_IMAGE:-minnow:local}
base=${MINNOW_BASE_IMAGE:-minnow-base:bookworm}

if [ ! -x "$binary" ]; then
  echo "build-image: no minnow binary at $binary (cargo build --release -p minnow, or set MINNOW_BINARY)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-image: debootstrap is needed to build $base (apt-get install debootstrap)" >&2
    exit 1
  fi
  echo "build-image: building base image $base with debootstrap (once)" >&2
  rootfs=$work/rootfs
  # shellcheck disable=SC2086 # the mirror is an optional extra argument
  debootstrap --variant=minbase --include=curl,ca-certificates bookworm "$rootfs" ${MINNOW_DEBIAN_MIRROR:-} >&2
  # What a slim image leaves out: package lists, caches, documentation.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" --numeric-owner -c . | docker import - "$base" >/dev/null
  rm -rf "$rootfs"
fi

context=$work/context
mkdir -p "$context"
cp "$binary" "$context/minnow"
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
docker build --quiet --build-arg BASE_IMAGE="$base" --build-arg MINNOW_BINARY=minnow \
  -t "$image" -f "$repo/deploy/Dockerfile" "$context" >/dev/null
# The image this tag named before is left untagged: remove it (unless a
# container still uses it) so rebuilds do not pile up binaries on disk.
current=$(docker image inspect --format '{{.Id}}' "$image")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "$image"
