#!/usr/bin/env bash
# Set up Returns Hub and its test tools in .venv, then run the linters and the whole test suite.
# Extra arguments go to pytest. HUB_TEST_DATABASE_URL=postgresql+psycopg://... runs it on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
.venv/bin/python -m pip install --quiet -e '.[test]'
# the browser tests drive Debian's Chromium; Playwright never downloads a browser here
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install it (sudo apt-get install chromium) to run the browser tests." >&2
  fi
fi
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/pytest "$@"
