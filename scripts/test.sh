#!/usr/bin/env bash
# Set up Returns Hub and its test tools in .venv, then run the linters and the whole test suite.
# Extra arguments go to pytest. HUB_TEST_DATABASE_URL=postgresql+psycopg://... runs it on PostgreSQL.
#
# .venv is the tests' own environment (an editable install with the test extra); the demo keeps to
# .venv-demo (scripts/demo.sh), so the two run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.returns-hub-editable.sha256
root=$(pwd -P)
wanted=$( (echo "$root" && cat pyproject.toml) | "${PYTHON:-python3}" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
# an editable install follows the sources by itself: install again only when pyproject.toml or the tree's
# place changed since the last one, or when .venv's `hub` is not this tree's (a `pip install .` by hand)
installed=$("$venv/bin/python" -I -c 'import importlib.util as u; s = u.find_spec("hub"); print(s.origin if s else "")')
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ "$installed" != "$root/hub/__init__.py" ]; then
  rm -f "$stamp"
  "$venv/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
  "$venv/bin/python" -m pip install --quiet -e '.[test]'
  echo "$wanted" >"$stamp"
fi
# the browser tests drive Debian's Chromium; Playwright never downloads a browser here
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install it (sudo apt-get install chromium) to run the browser tests." >&2
  fi
fi
"$venv/bin/ruff" check .
"$venv/bin/lint-imports"
"$venv/bin/mypy"
exec "$venv/bin/pytest" "$@"
