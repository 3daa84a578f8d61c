#!/usr/bin/env bash
# Set up Returns Hub in .venv and run the demo: fresh SQLite data, web app on http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet .
exec .venv/bin/returns-hub demo "$@"
