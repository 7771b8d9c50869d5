#!/usr/bin/env bash
# Makes the Node base image the examples build FROM, locally: no image can be
# pulled on the CI machines. It is `scratch` plus the project's Node 24 binary
# and the shared libraries `ldd` lists, imported under BASE_IMAGE.
# Idempotent: an image already built from the same node binary is kept.
#
#   BASE_IMAGE  tag to create (default ecs-ship/node:24, the examples' default)
#   NODE_BIN    node binary to package (default: the project's Node 24)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-ecs-ship/node:24}
NODE_BIN=$(readlink -f "${NODE_BIN:-node_modules/.bin/node}")
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$NODE_BIN" ] || { echo "make-base-image: no node binary at $NODE_BIN (run npm ci)"; exit 1; }

version=$("$NODE_BIN" --version)
checksum=$(sha256sum "$NODE_BIN" | cut -c1-16)
have=$("$DOCKER" image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$have" = "$version+$checksum" ]; then
  echo "make-base-image: $BASE_IMAGE ($version) already present"
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc"
chmod 1777 "$rootfs/tmp"
cp "$NODE_BIN" "$rootfs/usr/local/bin/node"
# Every library the dynamic loader resolves, and the loader itself, at the same paths.
for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
echo 'node:x:1000:1000:node:/tmp:/usr/sbin/nologin' >"$rootfs/etc/passwd"
echo 'node:x:1000:' >"$rootfs/etc/group"

tar -C "$rootfs" -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/bin' \
  -c 'CMD ["node"]' \
  -c "LABEL org.opencontainers.image.version=$version+$checksum" \
  -c 'LABEL org.opencontainers.image.description="Node.js on scratch, made locally by scripts/make-base-image.sh"' \
  - "$BASE_IMAGE" >/dev/null
echo "make-base-image: built $BASE_IMAGE ($version) from $NODE_BIN"
