#!/usr/bin/env bash
# Set everything up, then run the demo city: simulated operators, ingest
# scheduler and the web map on localhost. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DATABASE_URL="${DATABASE_URL:-$(cat var/database_url)}"
exec .venv/bin/fleet-monitor demo "$@"
