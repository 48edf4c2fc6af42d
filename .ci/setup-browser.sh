#!/usr/bin/env bash
# Installs Debian's chromium for the GraphiQL browser test (playwright drives it with
# executable_path=/usr/bin/chromium; never `playwright install`).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
