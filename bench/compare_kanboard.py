"""Render the same 250 cards in Kanboard's board template and in Returns Hub's; print both times and the ratio.

Run: .venv/bin/python bench/compare_kanboard.py --kanboard PATH [--runs 50] [--php php] [--open 1000]
Needs `php` (8.1 or later, with pdo_sqlite and mbstring) on PATH, and a Kanboard checkout at PATH with its PHP
dependencies (`composer install --no-dev` in it; a release archive ships them in vendor/). Without either it
says exactly what is missing and exits 2: it is optional, and not run in CI.

Returns Hub: fills a SQLite file with --open open returns (bench/common.py), loads the board's five open
columns once and renders their first 50 cards each (board/_more.html with the request's card context, as the
board does) inside one request of the bench lead: template work only, no SQL, no HTTP.
Kanboard: a PHP script (written next to a fresh Kanboard SQLite database in a temp folder) creates one project
with the same 250 cards as tasks, in as many columns (title: the customer and product; reference: the RMA;
due date: the stage's due time; owner when the return has an assignee; priority), loads them as Kanboard's
board does (its task lexer and board formatter) and renders each with board/task_private, the template of
Kanboard's own board: template work only, too. opcache is enabled for the PHP CLI (-d opcache.enable_cli=1)
when the extension is there, as in production.
Both sides must render every card (counted in the HTML) or the run stops with an error. Prints the machine,
versions, N, median and p95 per 250 cards and per card, and the ratio of the medians.
Goal (issue 12, item 2): Returns Hub's per-card rendering at least 2x faster than Kanboard's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import NOW, Refused, fill, fresh_runtime, machine_header, percentiles, run, table
from flask import g, render_template
from sqlalchemy import select

from hub.accounts.models import User
from hub.app import create_app
from hub.returns import queries
from hub.returns.queries import BoardFilters
from hub.web.context import db
from hub.web.fragments import card_context

PHP = r"""<?php
// Written and run by bench/compare_kanboard.py: Kanboard renders the given cards with its board's card template.
[, $kb, $data, $cardsFile, $runs] = $argv;
define('DATA_DIR', $data);
define('DB_DRIVER', 'sqlite');
define('DB_FILENAME', $data.'/db.sqlite');
$_SERVER += ['SERVER_NAME' => 'localhost', 'HTTP_HOST' => 'localhost', 'REQUEST_URI' => '/'];
$_SERVER += ['SCRIPT_NAME' => '/index.php'];
date_default_timezone_set('UTC');
require $kb.'/app/common.php';
$_SESSION = [];
$admin = $container['userModel']->getByUsername('admin');
$container['userSession']->initialize($admin);
$projectId = $container['projectModel']->create(['name' => 'Returns'], $admin['id'], true);
$columnIds = array_keys($container['columnModel']->getList($projectId));
$cards = json_decode(file_get_contents($cardsFile), true);
$stages = array_values(array_unique(array_column($cards, 'column')));
while (count($columnIds) < count($stages)) {
    $columnIds[] = $container['columnModel']->create($projectId, 'Stage '.count($columnIds));
}
foreach ($cards as $i => $card) {
    $ok = $container['taskCreationModel']->create([
        'project_id' => $projectId,
        'column_id' => $columnIds[array_search($card['column'], $stages)],
        'title' => $card['title'],
        'reference' => $card['reference'],
        'owner_id' => $card['assigned'] ? $admin['id'] : 0,
        'date_due' => $card['due'],
        'priority' => $card['priority'],
    ]);
    if (! $ok) {
        fwrite(STDERR, "Kanboard refused to create card $i: ".json_encode($card)."\n");
        exit(1);
    }
}
$project = $container['projectModel']->getById($projectId);
$formatter = $container['boardFormatter']->withProjectId($projectId);  // as BoardViewController::show() loads it
$swimlanes = $container['taskLexer']->build('status:open')->format($formatter);
$highlight = $container['configModel']->get('board_highlight_period');
$template = $container['template'];
$render = function () use ($template, $swimlanes, $project, $highlight) {
    $html = '';
    foreach ($swimlanes as $swimlane) {
        foreach ($swimlane['columns'] as $column) {
            foreach ($column['tasks'] as $task) {
                $html .= $template->render('board/task_private', [
                    'project' => $project,
                    'task' => $task,
                    'board_highlight_period' => $highlight,
                    'not_editable' => false,
                ]);
            }
        }
    }
    return $html;
};
$html = $render();  // warm-up
$rendered = substr_count($html, 'data-task-id=');
if ($rendered !== count($cards)) {
    fwrite(STDERR, "Kanboard rendered $rendered cards of ".count($cards)."\n");
    exit(1);
}
$samples = [];
for ($k = 0; $k < (int) $runs; $k++) {
    $t = hrtime(true);
    $render();
    $samples[] = (hrtime(true) - $t) / 1e6;
}
echo json_encode([
    'php' => PHP_VERSION,
    'kanboard' => defined('APP_VERSION') ? APP_VERSION : 'unknown',
    'opcache' => (function_exists('opcache_get_status') && opcache_get_status(false)) ? 'on' : 'off',
    'cards' => $rendered,
    'bytes' => strlen($html),
    'samples' => $samples,
]);
"""


def missing(kanboard: Path | None, php: str) -> list[str]:
    """What this machine lacks to run the comparison, one sentence each."""
    problems = []
    if shutil.which(php) is None:
        problems.append(f"`{php}` is not on PATH: install PHP 8.1 or later with pdo_sqlite and mbstring.")
    if kanboard is None:
        problems.append(
            "No Kanboard checkout given: pass --kanboard PATH (git clone the kanboard/kanboard repository)."
        )
    elif not (kanboard / "app/Template/board/task_private.php").is_file():
        problems.append(f"{kanboard} is not a Kanboard checkout: app/Template/board/task_private.php is missing.")
    elif not (kanboard / "vendor/autoload.php").is_file():
        problems.append(f"{kanboard} has no vendor/autoload.php: run `composer install --no-dev` in it.")
    return problems


def returns_hub(open_returns: int, runs: int, folder: Path) -> tuple[list[dict], list[float], int]:
    """Returns Hub's side: (the cards, for Kanboard), the milliseconds of each rendering of them all, HTML bytes."""
    rt = fresh_runtime(f"sqlite:///{folder / 'cards.sqlite3'}")
    fill(rt, open_returns)
    app = create_app(runtime=rt, WTF_CSRF_ENABLED=False)
    with app.test_request_context("/board"):
        me = db().scalars(select(User).where(User.email == "lead@bench.example")).one()
        g._login_user = me  # flask-login's current user, without a login row: nothing here checks it
        columns = queries.board(db(), rt.workflow, BoardFilters(), user_id=me.id, now=NOW)
        cards = [
            {
                "column": col.stage.key,
                "title": f"{card.customer_name} · {card.first_product}",
                "reference": card.rma,
                "assigned": card.assignee_id is not None,
                "due": int(card.stage_due_at.timestamp()) if card.stage_due_at else 0,
                "priority": card.priority,
            }
            for col in columns
            for card in col.cards
        ]

        def render() -> int:
            ctx = card_context()  # once per request, so timed with the cards
            size = 0
            for col in columns:
                html = render_template("board/_more.html", cards=col.cards, has_more=False, **ctx)
                if html.count('class="card') < len(col.cards):
                    raise Refused(f"Returns Hub: the {col.stage.key} column did not render its {len(col.cards)} cards")
                size += len(html.encode())
            return size

        size = render()  # warm-up: templates compiled
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            render()
            samples.append((time.perf_counter() - t) * 1000)
    rt.engine.dispose()
    return cards, samples, size


def kanboard(path: Path, php: str, cards: list[dict], runs: int, folder: Path) -> dict:
    """Kanboard's side: the PHP script's answer (versions, samples in ms, HTML bytes)."""
    data = folder / "kanboard-data"
    data.mkdir()
    script, cards_file = folder / "render.php", folder / "cards.json"
    script.write_text(PHP, encoding="utf-8")
    cards_file.write_text(json.dumps(cards), encoding="utf-8")
    command = [php, "-d", "opcache.enable_cli=1", str(script), str(path.resolve()), str(data), str(cards_file)]
    done = subprocess.run([*command, str(runs)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise Refused(f"Kanboard's side failed ({done.returncode}):\n{done.stderr[-2000:]}{done.stdout[-2000:]}")
    try:
        answer = json.loads(done.stdout[done.stdout.index("{") :])
    except ValueError:
        raise Refused(f"Kanboard's side printed no figures:\n{done.stdout[-2000:]}{done.stderr[-2000:]}") from None
    if answer["cards"] != len(cards) or len(answer["samples"]) != runs:
        raise Refused(f"Kanboard rendered {answer['cards']} cards of {len(cards)}, {len(answer['samples'])} times")
    return answer


def main() -> None:
    """Check what is needed, render both, print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kanboard", type=Path, help="a Kanboard checkout with its vendor/ folder")
    parser.add_argument("--php", default="php", help="the PHP command (default: php)")
    parser.add_argument("--runs", type=int, default=50, help="timed renderings of all the cards on each side")
    parser.add_argument("--open", type=int, default=1000, help="open returns in Returns Hub's database")
    args = parser.parse_args()
    problems = missing(args.kanboard, args.php)
    if problems:
        print("bench/compare_kanboard.py cannot run here:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.TemporaryDirectory() as tmp:
        cards, ours, our_bytes = returns_hub(args.open, args.runs, Path(tmp))
        theirs = kanboard(args.kanboard, args.php, cards, args.runs, Path(tmp))
    n = len(cards)
    print(
        machine_header(
            "bench/compare_kanboard.py: the same cards rendered by each app's board template (no SQL, no HTTP)",
            n=f"{n} cards ({args.open:,} open returns in Returns Hub's database), {args.runs} renderings each",
            extra=[
                f"kanboard: {theirs['kanboard']} at {args.kanboard}, PHP {theirs['php']} (opcache {theirs['opcache']})",
                f"HTML:     Returns Hub {our_bytes:,} bytes, Kanboard {theirs['bytes']:,} bytes for the {n} cards",
            ],
        )
    )
    per_card = [("Returns Hub, µs per card", [ms * 1000 / n for ms in ours])]
    per_card.append(("Kanboard, µs per card", [ms * 1000 / n for ms in theirs["samples"]]))
    print("\n" + table([(f"Returns Hub, {n} cards", ours), (f"Kanboard, {n} cards", theirs["samples"])]))
    print(table(per_card, unit="µs"))
    ratio = percentiles(theirs["samples"])[0] / percentiles(ours)[0]
    verdict = "faster" if ratio >= 1 else "slower"
    print(f"\nratio of the medians: Returns Hub renders a card {max(ratio, 1 / ratio):.2f}x {verdict} than Kanboard")


if __name__ == "__main__":
    run(main)
