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
# one pytest worker per core, at most 4 (each has its own template database; tests use
# free ports): about 8.5 min instead of 14 on a 2-core machine. "-n 0" runs in one process.
exec .venv/bin/pytest -n auto --maxprocesses=4 "$@"
