/**
 * The runner's stand-in for `npm ci` (RunnerOptions.offlineNodeModules): a
 * job that installs its repository's dependencies (the infra job's `npm ci`
 * before `npx cdk`) gets a link to node_modules this machine already has, so
 * it runs offline and at once. Any other npm command goes to the real npm,
 * and npx finds the linked packages as it finds installed ones. This lives in
 * the runner only: the workflow files run `npm ci` as they would on GitHub.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `npm` into `dir` (created) and returns `dir`, to be put first on PATH. */
export function writeNpmStandIn(dir: string, nodeModules: string): string {
  mkdirSync(dir, { recursive: true });
  const script = `#!/bin/sh
# The local runner's npm: \`npm ci\` links ${nodeModules} (offline); anything else is the real npm.
if [ "$1" = ci ]; then
  shift
  prefix=.
  while [ $# -gt 0 ]; do
    case "$1" in
      --prefix) prefix="$2"; shift ;;
      --prefix=*) prefix="\${1#--prefix=}" ;;
    esac
    shift
  done
  if [ ! -f "$prefix/package.json" ]; then
    echo "npm ci: no package.json in $prefix" >&2
    exit 1
  fi
  rm -rf "$prefix/node_modules"
  ln -s ${JSON.stringify(nodeModules)} "$prefix/node_modules"
  echo "npm ci (local runner): linked ${nodeModules} as $prefix/node_modules instead of installing"
  exit 0
fi
self=$(dirname "$0")
PATH=$(printf '%s' "$PATH" | tr ':' '\\n' | grep -vxF "$self" | paste -sd: -)
exec npm "$@"
`;
  const file = join(dir, 'npm');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return dir;
}
