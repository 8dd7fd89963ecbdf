#!/usr/bin/env bash
# The whole test suite on a fresh machine: dependencies, real servers, static checks, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/services.sh
scripts/browsers.sh
echo "== ruff"
uv run --frozen ruff check src tests bench
uv run --frozen ruff format --check src tests bench
echo "== import-linter (one direction between packages, no domain in generic code)"
uv run --frozen lint-imports
echo "== mypy (strict, src)"
uv run --frozen mypy
echo "== pytest"
uv run --frozen pytest "$@"
