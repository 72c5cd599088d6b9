#!/usr/bin/env bash
# Set up everything the service and its tests need, idempotently:
#   1. Python 3.11+ with venv (Debian packages when missing),
#   2. a virtualenv in .venv with the package installed (reinstalled only when
#      pyproject.toml changes),
#   3. a PostgreSQL server with PostGIS:
#        - DATABASE_URL when given;
#        - else a PostgreSQL reachable locally (TCP 127.0.0.1:5432, then the Unix
#          socket), installing Debian's PostGIS package for its version when the
#          extension is missing;
#        - else PostgreSQL + PostGIS installed from Debian and a cluster started.
#   4. Debian's Chromium for the browser tests (only with --browser).
# The database URL found is written to var/database_url for the other scripts.
# A second run changes nothing and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
mkdir -p var
log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# ---- 1. Python
PY=""
for cand in python3.13 python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$(command -v "$cand"); break
  fi
done
if [ -z "$PY" ] || ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  log "installing Python 3 and venv from Debian"
  apt_install python3 python3-venv python3-dev gcc
  PY=$(command -v python3)
fi

# ---- 2. virtualenv + package
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
STAMP=var/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$STAMP" ]; then
  log "installing the package and its dependencies"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f var/.installed-*; touch "$STAMP"
fi

# ---- 3. PostgreSQL + PostGIS
can_connect() { .venv/bin/python - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYEOF
}
has_postgis() { .venv/bin/python - "$1" <<'PYEOF'
import sys, psycopg
with psycopg.connect(sys.argv[1], connect_timeout=3) as c:
    ok = c.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    print(c.execute("SHOW server_version_num").fetchone()[0][:2])
    sys.exit(0 if ok else 1)
PYEOF
}
start_clusters() {
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
      if [ "$status" != online ]; then
        log "starting PostgreSQL cluster $ver/$name"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
      fi
    done
  fi
}

ADMIN_URL="${DATABASE_URL:-}"
if [ -z "$ADMIN_URL" ]; then
  start_clusters
  for url in "postgresql://postgres@127.0.0.1:5432/postgres" \
             "postgresql:///postgres?host=/var/run/postgresql"; do
    if can_connect "$url"; then ADMIN_URL=$url; break; fi
  done
  if [ -z "$ADMIN_URL" ]; then
    if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
      log "installing PostgreSQL and PostGIS from Debian"
      apt_install postgresql postgresql-contrib
      start_clusters
    fi
    # a fresh Debian cluster only allows peer auth on the socket: give the
    # current OS user a superuser role of the same name
    me=$(id -un)
    if ! can_connect "postgresql:///postgres?host=/var/run/postgresql"; then
      log "creating PostgreSQL role $me"
      $SUDO -u postgres createuser -s "$me" 2>/dev/null || su postgres -c "createuser -s $me" || true
    fi
    ADMIN_URL="postgresql:///postgres?host=/var/run/postgresql"
    can_connect "$ADMIN_URL" || { log "cannot connect to PostgreSQL at $ADMIN_URL"; exit 1; }
  fi
fi
if ! major=$(has_postgis "$ADMIN_URL"); then
  major=${major:-15}
  log "PostGIS is missing: installing postgresql-$major-postgis-3 from Debian"
  apt_install "postgresql-$major-postgis-3"
  has_postgis "$ADMIN_URL" >/dev/null || { log "PostGIS still unavailable on $ADMIN_URL"; exit 1; }
fi
printf '%s\n' "$ADMIN_URL" > var/database_url

# ---- 4. Chromium (browser tests and the map benchmark)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium"
  apt_install chromium chromium-driver
fi
# ---- 5. poppler (the PDF tests read text with pdftotext and render pages with pdftoppm)
if ! command -v pdftoppm >/dev/null 2>&1; then
  log "installing Debian's poppler-utils"
  apt_install poppler-utils
fi
# ---- 5b. zbar (the tests decode the QR code printed on each notice, as a phone would)
if ! ldconfig -p 2>/dev/null | grep -q 'libzbar.so.0'; then
  log "installing Debian's libzbar0"
  apt_install libzbar0
fi
# ---- 6. WeasyPrint's system libraries and the documents' font (printed PDFs)
if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' \
   || ! ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so.0' \
   || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  log "installing WeasyPrint's libraries (pango, harfbuzz) and DejaVu fonts from Debian"
  apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fontconfig
fi
log "ready (database server: $(sed 's#//[^@]*@#//***@#' var/database_url))"
