# Sourced by the npm scripts in package.json (`. scripts/node-env.sh && …`), from the project root: puts
# the project's Node.js first on PATH, so that `node`, tsx, tsc, eslint, vitest and every process they
# start (vitest's forks, the worker and API children: process.execPath) run on it, even when npm itself
# runs on an older system Node. scripts/provision.sh installs Node.js 24 under .tools/node when the
# system's `node` is older (NODE_VERSION there; package.json's engines, the Dockerfile's NODE_VERSION).
# Without .tools/node the system's Node is used, and must be 24 or newer.
if [ -x .tools/node/bin/node ]; then
  PATH="$(pwd)/.tools/node/bin:$PATH"
  # npm sets these to the Node it runs on; whatever reads them gets this one.
  NODE="$(pwd)/.tools/node/bin/node"
  npm_node_execpath="$NODE"
  export PATH NODE npm_node_execpath
fi
# `node --version` answers before V8 starts: a few milliseconds on every npm script.
gt_node_version="$(node --version 2>/dev/null || true)"
gt_node_major="${gt_node_version#v}"
gt_node_major="${gt_node_major%%.*}"
case "$gt_node_major" in '' | *[!0-9]*) gt_node_major=0 ;; esac
if [ "$gt_node_major" -lt 24 ]; then
  echo "Node.js 24 or newer is needed; found ${gt_node_version:-no node} on PATH. Run bash scripts/provision.sh (or npm run up): it installs Node.js 24 under .tools/node." >&2
  unset gt_node_version gt_node_major
  return 1
fi
unset gt_node_version gt_node_major
