#!/usr/bin/env bash
# Installs the npm packages of the Node-side checks (federation, graphql-http audit) into js/node_modules.
# Needs Node 20+ and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../js"
command -v node >/dev/null || { echo "setup-node: node is not installed" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
