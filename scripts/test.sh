#!/usr/bin/env bash
# Set everything up, then run the whole test suite (lint, types, layer contracts, pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$(cat var/database_url)}"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --check .; exit 1; }
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/pytest "$@"
