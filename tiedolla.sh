#!/usr/bin/env bash
# The two commands of Tiedolla (see README):
#   ./tiedolla.sh run    create the Python environment when missing and start the app on the bundled snapshot (and
#                        the refresh worker beside it when config.toml says `[refresh] auto = true`)
#   ./tiedolla.sh test   set up everything the tests need (Python packages, Debian's Chromium, PostgreSQL and nginx)
#                        and run all tests, on two pytest-xdist workers (TIEDOLLA_TEST_WORKERS)
# Works on a fresh Debian/Ubuntu machine with Python 3.11+, offline except for the package registries.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      # Debian and Ubuntu ship venv's pip bootstrap separately.
      rm -rf "$VENV"
      apt_install python3-venv
      "$PYTHON" -m venv "$VENV"
    fi
  fi
}

# Install a requirements file only when it changed since the last install (a stamp holds its hash).
ensure_requirements() {
  local file=$1 stamp="$VENV/.installed-$1"
  local digest
  digest=$(cat "$file" requirements.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$file"
    echo "$digest" > "$stamp"
  fi
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium chromium-driver
  fi
}

# The project's packages and the example plugin, installed editable, so that the plugin finds `sources.contract`
# as any plugin would and its entry point registers its kind (once, again only when a pyproject.toml changed).
ensure_project() {
  local stamp="$VENV/.installed-project" digest
  digest=$(cat pyproject.toml examples/csv_source/pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . -e examples/csv_source
    echo "$digest" > "$stamp"
  fi
}

# The PostgreSQL backend's tests start a throwaway server of their own (initdb + pg_ctl), so they need the binaries.
ensure_postgresql() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
}

# The deployment test puts nginx in front of two app replicas, with deploy/nginx/tiedolla.conf.template as in production.
ensure_nginx() {
  if [ ! -x /usr/sbin/nginx ]; then
    apt_install nginx
  fi
}

# The PDF report test: poppler's pdftoppm and pdftotext read the PDF back; WeasyPrint, which writes it, needs Pango
# and a font.
ensure_pdf_tools() {
  local missing=()
  command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null || missing+=(poppler-utils)
  local package
  for package in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

# Both passes of the suite run on this many pytest-xdist workers (the machines have 2 cores). Each worker starts its
# own throwaway PostgreSQL server; the browser and deployment tests share one group, so they run one at a time.
ensure_axe() {
  # axe-core for the accessibility browser tests, from the npm registry at the version tests/a11y pins.
  if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    npm ci --prefix tests/a11y --no-audit --no-fund --silent
  fi
}

TEST_WORKERS=${TIEDOLLA_TEST_WORKERS:-2}

case "${1:-}" in
  run)
    shift
    ensure_venv
    ensure_requirements requirements.txt
    if "$VENV/bin/python" -m sources worker --auto-enabled; then
      # The worker refreshes what is due on the configured schedule; it stops with the app.
      "$VENV/bin/python" -m sources worker &
      worker=$!
      trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT
      "$VENV/bin/python" -m ui.serve --server.headless true "$@"
      exit $?
    fi
    exec "$VENV/bin/python" -m ui.serve --server.headless true "$@"
    ;;
  test)
    shift
    ensure_venv
    ensure_requirements requirements-dev.txt
    ensure_project
    ensure_chromium
    ensure_postgresql
    ensure_nginx
    ensure_pdf_tools
    ensure_axe
    if [ "$#" -gt 0 ]; then
      exec "$VENV/bin/python" -m pytest "$@"
    fi
    # The linter first (rules in pyproject.toml), then every test on the local store (the warehouse and browser-round
    # tests cover PostgreSQL too), then again every test that opens a warehouse (not the browser ones, not those
    # marked no_warehouse) with each test's warehouse in a fresh PostgreSQL database.
    "$VENV/bin/ruff" check .
    "$VENV/bin/python" -m pytest -n "$TEST_WORKERS" --dist loadgroup
    echo "--- the same tests with the warehouse in PostgreSQL (TIEDOLLA_TEST_BACKEND=postgres) ---"
    TIEDOLLA_TEST_BACKEND=postgres exec "$VENV/bin/python" -m pytest -m "not browser and not no_warehouse" -q \
      -n "$TEST_WORKERS" --dist loadgroup
    ;;
  *)
    echo "usage: $0 run | test [pytest arguments]" >&2
    exit 64
    ;;
esac
