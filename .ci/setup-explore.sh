#!/usr/bin/env bash
# Builds the visual explorer (explore/, Vite + TypeScript + Cytoscape.js) into explore/dist, which the server
# serves at /explore. Needs Node 20+ and the npm registry; the lockfile pins every package.
set -euo pipefail
cd "$(dirname "$0")/../explore"
command -v node >/dev/null || { echo "setup-explore: node is not installed" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npm run build
