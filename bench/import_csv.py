"""Time the CSV import: a realistic file of --rows lines into a fresh database (budget: 10,000 rows under 10 s).

    .venv/bin/python bench/import_csv.py [--rows 10000] [--runs 3] [--database-url URL] [--no-cli] [--keep]

Without --database-url it creates a fresh SQLite file in a temporary folder. With one, it migrates that
database and adds returns to it (their RMAs are unique to the run): use a scratch database.
Each of --runs imports a new file (its own RMAs), then imports it again (all already there); then, unless
--no-cli, `returns-hub import` runs once as a process. Every import is checked: the file must import cleanly
(every return created, none refused), the second time nothing new, and the CLI must exit 0 saying what it
imported; anything else stops the run with an error and no times.
Goal: DESIGN.md, 10,000 rows under 10 s; issue 12, under 5 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Refused, machine_header, run, table

from hub.accounts.services import sync_teams
from hub.core.db import make_engine, make_session_factory, unit_of_work, upgrade
from hub.returns.csv_import import COLUMNS, import_csv
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from hub.workflow import load_workflow

FIRST = [
    "Sanne",
    "Daan",
    "Emma",
    "Lucas",
    "Julia",
    "Noah",
    "Mila",
    "Finn",
    "Zoë",
    "Sem",
    "Anna",
    "Jonas",
    "Léa",
    "Hugo",
    "Sophie",
    "Ben",
    "Olivia",
    "James",
    "Fatima",
    "Mohammed",
    "Ayşe",
    "Jan",
    "Eva",
    "Tim",
]
LAST = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Müller",
    "Schmidt",
    "Dubois",
    "Martin",
    "Smith",
    "Jones",
    "O'Brien",
    "Yılmaz",
    "El Amrani",
    "Peeters",
    "Janssens",
    "Meyer",
]
LOCALES = ["nl", "nl", "nl", "de", "de", "en", "en", "fr", "nl-BE"]
CATALOG = [  # (sku stem, product name, category, price)
    ("TSHIRT", "T-shirt organic cotton", "shirts", "19.95"),
    ("POLO", "Polo piqué", "shirts", "34.95"),
    ("JEANS", "Jeans slim fit", "trousers", "59.95"),
    ("CHINO", "Chino, stretch", "trousers", "49.95"),
    ("DRESS", "Wrap dress", "dresses", "69.95"),
    ("SNEAKER", "Leather sneaker", "shoes", "89.95"),
    ("BOOT", "Chelsea boot", "shoes", "129.00"),
    ("KNIT", "Merino jumper", "knitwear", "79.95"),
    ("PARKA", "Parka, water-repellent", "outerwear", "199.00"),
    ("BELT", "Leather belt", "accessories", "29.95"),
    ("SCARF", "Wool scarf", "accessories", "24.95"),
    ("HOODIE", 'Hoodie "Classic"', "knitwear", "54.95"),
]
COLOURS = ["BLK", "WHT", "BLU", "GRN", "RED", "GRY", "NVY"]
SIZES = ["XS", "S", "M", "L", "XL", "36", "38", "40", "42", "44"]
STAGES = ["new"] * 30 + ["approved"] * 20 + ["in_transit"] * 25 + ["received"] * 15 + ["inspected"] * 10
NOTES = [
    "",
    "",
    "",
    "",
    "Sleeve seam torn",
    "Colour differs from the photo",
    "Ordered two sizes, kept one",
    'Box was wet, "fragile" sticker ignored',
    "Zip broken,\nnoticed after one wear",
]
CARRIERS = ["PostNL", "DHL", "DPD", "UPS"]


def generate(path: Path, rows: int, reasons: list[str], now: datetime, rma_prefix: str, seed: int) -> int:
    """Write a CSV of `rows` item lines like a shop's export; returns how many returns it holds."""
    rnd = random.Random(seed)
    returns = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        written = 0
        while written < rows:
            returns += 1
            n_items = min(rnd.choices([1, 2, 3], weights=[82, 14, 4])[0], rows - written)
            created = now - timedelta(days=rnd.uniform(0.05, 20))
            delivered = created.date() - timedelta(days=rnd.randint(1, 25))
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            stage = rnd.choice(STAGES)
            shipped = stage in ("in_transit", "received", "inspected")
            common = {
                "rma": f"{rma_prefix}{returns}",
                "order_number": f"ORD-{700000 + returns * 7}",
                "customer_name": f"{first} {last}",
                "customer_email": f"{first}.{last}{returns}@example.com".lower().replace(" ", "").replace("'", ""),
                "customer_locale": rnd.choice(LOCALES),
                "delivered_on": delivered.isoformat(),
                "stage": stage,
                "created_at": created.isoformat(timespec="seconds"),
                "priority": rnd.choices(["", "low", "normal", "high", "urgent"], weights=[60, 5, 20, 10, 5])[0],
                "carrier": rnd.choice(CARRIERS) if shipped else "",
                "tracking_number": "3S" + "".join(rnd.choices(string.ascii_uppercase + string.digits, k=12))
                if shipped
                else "",
            }
            for _ in range(n_items):
                stem, name, category, price = rnd.choice(CATALOG)
                colour, size = rnd.choice(COLOURS), rnd.choice(SIZES)
                writer.writerow(
                    {
                        **common,
                        "sku": f"{stem}-{colour}-{size}",
                        "product_name": f"{name} {colour.lower()} {size}",
                        "category": category,
                        "quantity": rnd.choices(["1", "2", "3"], weights=[90, 8, 2])[0],
                        "unit_price": price,
                        "reason_code": rnd.choice(reasons),
                        "reason_note": rnd.choice(NOTES),
                    }
                )
                written += 1
    return returns


def timed_imports(factory, workflow, tmp: Path, args: argparse.Namespace, run_id: str, now: datetime) -> dict:
    """Each run: a new file imported, then the same file again; samples in ms, and the files' sizes."""
    actor = Actor.system("CSV import (bench)", Channel.CLI)
    first: list[float] = []
    again: list[float] = []
    size = 0
    for k in range(args.runs):
        path = tmp / f"returns-{k}.csv"
        n_returns = generate(path, args.rows, list(workflow.reasons), now, f"B{run_id}{k}-", args.seed + k)
        size = path.stat().st_size
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            report = import_csv(session, workflow, path, actor=actor, now=now)
        first.append((time.perf_counter() - t0) * 1000)
        if report.errors or report.imported != n_returns or report.rows != args.rows:
            raise Refused(f"the generated file did not import cleanly: {report.summary()}\n{report.errors[:5]}")
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            repeat = import_csv(session, workflow, path, actor=actor, now=now)
        again.append((time.perf_counter() - t0) * 1000)
        if repeat.imported or repeat.already_imported_count != n_returns:
            raise Refused(f"importing the same file again created returns: {repeat.summary()}")
    return {"import": first, "re-import (all there)": again, "bytes": size}


def cli_import(url: str, tmp: Path, args: argparse.Namespace, run_id: str, now: datetime) -> float:
    """`returns-hub import` of a new file as a process, start-up included: milliseconds."""
    cli_path = tmp / "returns-cli.csv"
    generate(cli_path, args.rows, list(load_workflow().reasons), now, f"C{run_id}-", args.seed + 1000)
    env = {**os.environ, "HUB_DATABASE_URL": url}
    command = [sys.executable, "-c", "from hub.cli import main; main()", "import", str(cli_path)]
    t0 = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=False
    )
    ms = (time.perf_counter() - t0) * 1000
    if done.returncode or not done.stdout.startswith("Imported "):
        raise Refused(f"returns-hub import failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return ms


def main() -> None:
    """Generate, import, check, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="item lines in the file (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="files imported, each a new one (default 3)")
    parser.add_argument("--database-url", help="a scratch database (default: a fresh SQLite file)")
    parser.add_argument("--no-cli", action="store_true", help="skip timing `returns-hub import` as a process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the CSV and database")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hub-import-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    workflow = load_workflow()
    now = datetime.now(UTC)
    run_id = format(int(time.time()) % 36**5, "x").upper()

    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        sync_teams(session, workflow)
    found = timed_imports(factory, workflow, tmp, args, run_id, now)
    rows = [(f"{name}, {args.rows:,} rows", found[name]) for name in ("import", "re-import (all there)")]
    if not args.no_cli:
        rows.append((f"returns-hub import (a process), {args.rows:,} rows", [cli_import(url, tmp, args, run_id, now)]))
    print(
        machine_header(
            "bench/import_csv.py: import_csv() in process, and `returns-hub import`",
            n=f"{args.rows:,} item lines per file ({found['bytes'] / 1e6:.1f} MB), {args.runs} files",
            engine=engine,
            extra=[f"database: {engine.url.render_as_string(hide_password=True)}"],
        )
    )
    print("\n" + table(rows))
    seconds = sorted(found["import"])[len(found["import"]) // 2] / 1000
    verdict = ("OK" if seconds < 10 else "OVER") if args.rows == 10_000 else "(for 10,000 rows: run with --rows 10000)"
    print(f"\nmedian import: {args.rows / seconds:,.0f} rows/s; budget 10 s for 10,000 rows: {verdict}")

    engine.dispose()
    if args.keep:
        print(f"kept:      {tmp}")
    else:
        for p in sorted(tmp.iterdir(), reverse=True):
            p.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    run(main)
