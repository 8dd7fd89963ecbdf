#!/usr/bin/env bash
# Debian's chromium for the browser tests (Playwright drives it; it cannot download its own browser here).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "browsers: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update them only when the package is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
