#!/usr/bin/env bash
# Installs and starts what the build-push tests and benchmark need: a Docker
# engine and a real OCI registry (docker-registry with htpasswd auth) on
# 127.0.0.1, plus the local Node base image the examples build on.
# Idempotent: when everything already runs it returns in well under a second.
#
# Containers stay on loopback: the engine has no bridge (--bridge=none) and no
# iptables rules; builds use --network host.
#
#   REGISTRY_ADDR      where the registry listens (default 127.0.0.1:5000)
#   REGISTRY_USER      htpasswd user (default AWS: the simulator's ECR tokens decode to AWS:<password>)
#   REGISTRY_PASSWORD  htpasswd password (default ecs-ship-local)
#   DOCKER_UP_DIR      engine data, registry storage and logs (default /var/lib/ecs-ship-docker)
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY_ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
REGISTRY_USER=${REGISTRY_USER:-AWS}
REGISTRY_PASSWORD=${REGISTRY_PASSWORD:-ecs-ship-local}
DIR=${DOCKER_UP_DIR:-/var/lib/ecs-ship-docker}
# The Debian client builds with BuildKit without buildx (the 28.x client on PATH refuses).
DOCKER=/usr/bin/docker
export DOCKER_HOST=unix:///var/run/docker.sock

say() { echo "docker-up: $*"; }

# Test files running in parallel may call this at once: one at a time. (The
# daemons started below must not inherit the lock: `9>&-`.)
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

need_install=()
[ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] || need_install+=(docker.io)
command -v docker-registry >/dev/null || need_install+=(docker-registry)
command -v htpasswd >/dev/null || need_install+=(apache2-utils)
command -v curl >/dev/null || need_install+=(curl)
if [ ${#need_install[@]} -gt 0 ]; then
  say "installing ${need_install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_install[@]}" >/dev/null
fi
mkdir -p "$DIR/docker" "$DIR/registry"

engine_up() { "$DOCKER" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }
if engine_up; then
  say "engine already running"
else
  say "starting dockerd (data in $DIR/docker, log $DIR/dockerd.log)"
  setsid nohup /usr/sbin/dockerd --data-root "$DIR/docker" --host "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none >"$DIR/dockerd.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 100); do engine_up && break; sleep 0.2; done
  engine_up || { tail -20 "$DIR/dockerd.log"; say "dockerd did not come up"; exit 1; }
fi

registry_status() {
  curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "http://$REGISTRY_ADDR/v2/" || true
}
if [ "$(registry_status)" = 200 ]; then
  say "registry already running on $REGISTRY_ADDR"
else
  # Something else answers there (old password, no auth): replace our registry, never a stranger's.
  if [ -f "$DIR/registry.pid" ] && kill -0 "$(cat "$DIR/registry.pid")" 2>/dev/null; then
    kill "$(cat "$DIR/registry.pid")"
    sleep 0.5
  fi
  htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$DIR/htpasswd"
  cat >"$DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
auth:
  htpasswd:
    realm: ecs-ship-local
    path: $DIR/htpasswd
EOF
  say "starting docker-registry on $REGISTRY_ADDR (log $DIR/registry.log)"
  setsid nohup docker-registry serve "$DIR/registry.yml" >"$DIR/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$DIR/registry.pid"
  for _ in $(seq 1 50); do [ "$(registry_status)" = 200 ] && break; sleep 0.2; done
  [ "$(registry_status)" = 200 ] || { tail -20 "$DIR/registry.log"; say "registry did not come up"; exit 1; }
fi

scripts/make-base-image.sh
