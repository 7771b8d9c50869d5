#!/usr/bin/env bash
# Makes the Node base image the examples build FROM, locally: no image can be
# pulled on the CI machines. It is `scratch` plus the project's Node 24 binary,
# the machine's npm and the shared libraries `ldd` lists, laid out as in the
# official node images (/usr/local/bin/node, /usr/local/lib/node_modules/npm,
# /usr/bin/env for npm's shebang), imported under BASE_IMAGE. npm is there
# because the examples install their dependencies in the image build.
# Idempotent: an image already built from the same node binary and npm is kept.
#
#   BASE_IMAGE  tag to create (default ecs-ship/node:24, the examples' default)
#   NODE_BIN    node binary to package (default: the project's Node 24)
#   NPM_DIR     npm package to package (default: the one `npm` on PATH runs)
#   CA_BUNDLE   certificates Node trusts besides its own (default: this machine's
#               bundle, /etc/ssl/certs/ca-certificates.crt, when present), so that
#               `npm ci` in a build trusts what this machine trusts, such as a
#               TLS-inspecting egress proxy's CA; set it empty to leave it out
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-ecs-ship/node:24}
NODE_BIN=$(readlink -f "${NODE_BIN:-node_modules/.bin/node}")
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$NODE_BIN" ] || { echo "make-base-image: no node binary at $NODE_BIN (run npm ci)"; exit 1; }
if [ -z "${NPM_DIR:-}" ]; then
  # npm on PATH is usually a link to <package>/bin/npm-cli.js; else ask npm where global packages live.
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$NPM_DIR/bin/npm-cli.js" ] || NPM_DIR="$(npm root -g)/npm"
fi
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { echo "make-base-image: no npm package at $NPM_DIR (set NPM_DIR)"; exit 1; }

CA_BUNDLE=${CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
[ -f "$CA_BUNDLE" ] || CA_BUNDLE=

npm_version=$("$NODE_BIN" -p "require('$NPM_DIR/package.json').version")
version="$("$NODE_BIN" --version)+$(sha256sum "$NODE_BIN" | cut -c1-16)+npm$npm_version"
[ -z "$CA_BUNDLE" ] || version="$version+ca$(sha256sum "$CA_BUNDLE" | cut -c1-8)"
have=$("$DOCKER" image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$have" = "$version" ]; then
  echo "make-base-image: $BASE_IMAGE ($version) already present"
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/bin" \
  "$rootfs/tmp" "$rootfs/etc" "$rootfs/root" "$rootfs/home/node"
chmod 1777 "$rootfs/tmp"
cp "$NODE_BIN" "$rootfs/usr/local/bin/node"
cp -r "$NPM_DIR" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
cp /usr/bin/env "$rootfs/usr/bin/env"
# Every library the dynamic loader resolves, and the loader itself, at the same paths.
for lib in $( (ldd "$NODE_BIN"; ldd /usr/bin/env) | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' 'node:x:1000:1000:node:/home/node:/usr/sbin/nologin' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'node:x:1000:' >"$rootfs/etc/group"
# As root (scripts/docker-up.sh), the image's files are root's and the home is node's.
[ "$(id -u)" != 0 ] || chown 1000:1000 "$rootfs/home/node"
ca_env=()
if [ -n "$CA_BUNDLE" ]; then
  mkdir -p "$rootfs/etc/ssl/certs"
  cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  ca_env=(-c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi

tar -C "$rootfs" --numeric-owner -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/bin' "${ca_env[@]}" \
  -c 'CMD ["node"]' \
  -c "LABEL org.opencontainers.image.version=$version" \
  -c 'LABEL org.opencontainers.image.description="Node.js on scratch, made locally by scripts/make-base-image.sh"' \
  - "$BASE_IMAGE" >/dev/null
echo "make-base-image: built $BASE_IMAGE (node $version) from $NODE_BIN and $NPM_DIR"
