"""`pip install .` (not only an editable install) gives a working app: templates, static files, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_templates_static_files_and_migrations_and_serves_pages(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("returns_hub-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "hub/templates/base.html",
        "hub/templates/board/_card.html",
        "hub/workflow/default.toml",
        "hub/static/app.css",
        "hub/static/board.js",
        "hub/static/vendor/htmx-2.0.11.min.js",
        "hub/static/vendor/sortable-1.15.7.min.js",
        "hub/migrations/env.py",
        "hub/migrations/versions/0001_initial_schema.py",
        "hub/migrations/script.py.mako",
    ):
        assert expected in names, f"{expected} missing from {wheel.name}"
    assert not any(n.startswith("tests/") for n in names)
    sources = {str(p.relative_to(ROOT)) for pkg in ("hub", "integrations", "jobs") for p in (ROOT / pkg).rglob("*.py")}
    sources |= {"hub/templates/" + str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.html")}
    assert sources - names == set(), "left out of the wheel (add the package to pyproject.toml)"

    # unpack it somewhere the source tree is not importable, and serve pages from it
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import hub, sys; assert hub.__file__.startswith(sys.argv[1]), hub.__file__\n"
        "from hub.core.config import Settings\n"
        "from hub.core.db import make_engine, upgrade\n"
        "from hub.app import create_app\n"
        "s = Settings.from_env({'HUB_INSTANCE_DIR': sys.argv[2], 'HUB_SECRET_KEY': 'x'})\n"
        "upgrade(make_engine(s.database_url))\n"
        "c = create_app(s).test_client()\n"
        "r = c.get('/login'); assert r.status_code == 200 and b'Log in' in r.data, r.status_code\n"
        "assert c.get('/static/vendor/htmx-2.0.11.min.js').status_code == 200\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", script, str(site), str(tmp_path / "instance")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")
