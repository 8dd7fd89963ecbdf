#!/usr/bin/env bash
# The demo on the embedded default (SQLite, no server): installs what it needs, then runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec uv run --frozen territoria demo "$@"
