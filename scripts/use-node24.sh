# Source this: puts a Node.js 24 first on PATH, installing it from the npm
# registry (the `node` package) when the machine has an older one.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  NODE24_PREFIX="${NODE24_PREFIX:-$HOME/.cache/node24}"
  if [ ! -x "$NODE24_PREFIX/node_modules/.bin/node" ]; then
    echo "Installing Node.js 24 into $NODE24_PREFIX"
    npm install --prefix "$NODE24_PREFIX" --no-audit --no-fund --no-save node@24 >/dev/null
  fi
  export PATH="$NODE24_PREFIX/node_modules/.bin:$PATH"
fi
