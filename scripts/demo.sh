#!/usr/bin/env bash
# Run the demo: Returns Hub with demo data on http://127.0.0.1:5000 (arguments go to `returns-hub demo`:
# --port 5001, --fresh, --help).
#
# The demo has its own environment, .venv-demo: a regular (not editable) install of this tree, redone only
# when pyproject.toml or a file of the package (hub, integrations, jobs, templates) changed since the last
# one, so a restart is quick. scripts/test.sh keeps to .venv, so tests never pull files from under a
# running demo, and the two run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-demo
stamp=$venv/.returns-hub-sources.sha256

sources_hash() {  # what the install is made of: every file `pip install .` packs, and the build settings
  "${PYTHON:-python3}" - <<'PY'
import hashlib
from pathlib import Path

files = [Path("pyproject.toml")] + sorted(
    p
    for top in ("hub", "integrations", "jobs", "templates")
    for p in Path(top).rglob("*")
    if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
)
digest = hashlib.sha256()
for path in files:
    digest.update(f"{path}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
print(digest.hexdigest())
PY
}

port_in_use() {  # is 127.0.0.1:$1 taken (say by a demo running from $venv, which an install would pull files from)?
  "$venv/bin/python" - "$1" <<'PY'
import socket
import sys

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
sys.exit(1)
PY
}

wanted=$(sources_hash)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  if [ -x "$venv/bin/python" ]; then
    # the project changed: re-install, but not under a demo that runs on this port (it would lose its
    # files); `returns-hub demo` itself says the same for a busy port when nothing needs installing
    port=5000
    prev=
    for arg in "$@"; do
      case "$prev:$arg" in
        --port:*) port=$arg ;;
        *:--port=*) port=${arg#--port=} ;;
      esac
      prev=$arg
    done
    if [[ $port =~ ^[0-9]+$ ]] && port_in_use "$port"; then
      echo "port $port is in use (is a demo already running?); try --port $((port + 1))" >&2
      exit 1
    fi
  else
    echo "Setting up $venv for the demo (once; later starts install again only when the project changed)..."
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  rm -f "$stamp"
  # build from a copy, so the install writes nothing (build/, *.egg-info) into the tree others work in
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  tar -cf - --exclude=__pycache__ --exclude='*.py[co]' pyproject.toml README.md LICENSE hub integrations jobs templates \
    | tar -xf - -C "$src"
  echo "Installing Returns Hub into $venv..."
  "$venv/bin/python" -m pip install --quiet "$src"
  rm -rf "$src"
  trap - EXIT
  echo "$wanted" >"$stamp"
fi
exec "$venv/bin/returns-hub" demo "$@"
