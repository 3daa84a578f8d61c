"""docs/scaling.md and deploy/ name only what exists: every `returns-hub` command line parses with the real CLI
(subcommand and options), every HUB_* / SLACK_* variable is a setting, the compose file and the systemd units
run real commands with real settings, and the pooler caveats the page states still hold in the code."""

from __future__ import annotations

import ast
import configparser
import contextlib
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from hub.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scaling.md"
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNITS = DEPLOY / "systemd"
VARIABLE = re.compile(r"(?<![A-Za-z0-9_])((?:HUB|SLACK)_[A-Z0-9_]+|PROMETHEUS_MULTIPROC_DIR)(?![A-Za-z0-9_])")
# a command line starts at `returns-hub ` (not returns-hub-web@..., not /opt/returns-hub/...)
COMMAND = re.compile(r"(?<![\w/.@-])returns-hub (?=[a-z-])")


def settings_names() -> set[str]:
    """Every environment variable hub/core/config.py reads (Settings.from_env is the only reader)."""
    tree = ast.parse((ROOT / "hub" / "core" / "config.py").read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.fullmatch(node.value)
    }


def check_command(argv: list[str]) -> None:
    """Parse `returns-hub ARGV` as the CLI would, without running it: fails on an unknown command or option."""
    command: click.Command = main
    args = list(argv)
    while isinstance(command, click.Group):  # the groups here take no options of their own
        assert args, f"returns-hub {' '.join(argv)} names no command of group {command.name}"
        name, *args = args
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"returns-hub has no command {name!r}: returns-hub {' '.join(argv)}"
        command = sub
    # options that prompt get an answer; a UsageError is an unknown option or a bad value, but prose may leave
    # out a required file or e-mail address
    with CliRunner().isolation(input="placeholder\nplaceholder\n"), contextlib.suppress(click.MissingParameter):
        command.make_context(command.name or "", args)


def doc_command_lines(text: str) -> list[str]:
    """Every `returns-hub ...` command line of a page: in inline code, and in console blocks (to a comment)."""
    lines = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            match = COMMAND.search(line)
            if match:
                lines.append(line[match.start() :].split("  #")[0].strip())
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        match = COMMAND.search(span)
        if match:
            lines.append(span[match.start() :].strip())
    return lines


# --- docs/scaling.md ---------------------------------------------------------------------------------------


def test_the_page_names_commands_and_states_the_pooler_caveats():
    text = DOC.read_text()
    lines = doc_command_lines(text)
    subcommands = {shlex.split(line)[1] for line in lines}
    assert {"serve", "worker", "init-db", "user", "import"} <= subcommands
    for topic in ("PgBouncer", "pg_advisory_xact_lock", "LISTEN", "pg_dump", "pg_restore", "check_schema"):
        assert topic in text, topic


def test_every_command_line_on_the_page_is_a_real_command_with_real_options():
    lines = doc_command_lines(DOC.read_text())
    assert len(lines) >= 8
    for line in lines:
        argv = shlex.split(line.replace("…", "x"))
        assert argv[0] == "returns-hub", line
        check_command(argv[1:])


@pytest.mark.parametrize(
    "line",
    ["returns-hub serv", "returns-hub serve --procs 4", "returns-hub user ad --email a@b.c", "returns-hub init-db x"],
)
def test_the_command_check_catches_a_wrong_command_or_option(line):
    with pytest.raises((AssertionError, click.UsageError)):
        check_command(shlex.split(line)[1:])


def test_every_variable_on_the_page_is_a_setting():
    names = settings_names()
    assert {"HUB_DATABASE_URL", "HUB_SECRET_KEY", "HUB_METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR"} <= names
    used = set(VARIABLE.findall(DOC.read_text()))
    assert {"HUB_METRICS_TOKEN", "HUB_TRUSTED_PROXIES", "PROMETHEUS_MULTIPROC_DIR"} <= used
    assert used <= names, f"not settings: {sorted(used - names)}"


def test_the_code_takes_only_transaction_level_advisory_locks_and_never_listens():
    """What the page promises a pooler in transaction mode: locks end with the transaction, no LISTEN."""
    calls: list[str] = []
    for folder in ("hub", "integrations", "jobs"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text()
            calls += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"pg_(?:try_)?advisory\w*", source)]
            assert not re.search(r"\b(LISTEN|pg_notify|UNLISTEN)\b", source), path
            assert not re.search(r"""["']\s*SET\s+(SESSION|search_path|TIME ZONE|timezone)""", source, re.I), path
    assert calls, "the page says RMA numbering, the login limit and the job leases take advisory locks"
    assert all(c.endswith(("pg_advisory_xact_lock", "pg_try_advisory_xact_lock")) for c in calls), calls
    assert any("leases.py" in c for c in calls), calls


# --- deploy/compose.yaml -----------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def hub_services(doc: dict) -> dict[str, dict]:
    """The services that run the hub's own image."""
    return {name: s for name, s in doc["services"].items() if str(s.get("image", "")).startswith("returns-hub")}


def test_compose_runs_postgres_two_app_servers_two_workers_and_nginx():
    doc = compose()
    services = doc["services"]
    assert str(services["postgres"]["image"]).startswith("postgres:")
    assert str(services["nginx"]["image"]).startswith("nginx:")
    hub = hub_services(doc)
    commands = {name: s["command"] for name, s in hub.items()}
    assert sorted(n for n, c in commands.items() if c[:2] == ["returns-hub", "serve"]) == ["web-1", "web-2"]
    assert sorted(n for n, c in commands.items() if c[:2] == ["returns-hub", "worker"]) == ["worker-1", "worker-2"]
    assert commands["init-db"] == ["returns-hub", "init-db"]
    for name in ("web-1", "web-2", "worker-1", "worker-2"):
        assert hub[name]["depends_on"]["init-db"] == {"condition": "service_completed_successfully"}, name
    assert set(services["nginx"]["depends_on"]) == {"web-1", "web-2"}
    mounted = services["nginx"]["volumes"][0].split(":")[0]
    assert (COMPOSE.parent / mounted).resolve() == DEPLOY / "nginx.conf"
    upstreams = re.findall(r"^\s*server\s+([\w.-]+:\d+)", (DEPLOY / "nginx.conf").read_text(), flags=re.M)
    ports = {name: hub[name]["command"][hub[name]["command"].index("--port") + 1] for name in ("web-1", "web-2")}
    assert upstreams == [f"{name}:{port}" for name, port in ports.items()]


def test_compose_commands_are_real_cli_commands():
    for name, service in hub_services(compose()).items():
        command = service["command"]
        assert command[0] == "returns-hub", name
        check_command(command[1:])
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Dockerfile").read_text(), flags=re.M)
    assert cmd is not None
    argv = yaml.safe_load(cmd.group(1))
    assert argv[0] == "returns-hub"
    check_command(argv[1:])
    build = hub_services(compose())["web-1"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_compose_sets_only_real_settings():
    names = settings_names()
    for name, service in hub_services(compose()).items():
        env = service["environment"]
        assert {"HUB_DATABASE_URL", "HUB_SECRET_KEY"} <= set(env), name
        assert set(env) <= names, f"{name}: not settings: {sorted(set(env) - names)}"
        assert env["HUB_DATABASE_URL"].startswith("postgresql+psycopg://"), name
    dockerfile_env = re.findall(r"^ENV (\w+)=", (DEPLOY / "Dockerfile").read_text(), flags=re.M)
    assert set(dockerfile_env) <= names
    assert set(VARIABLE.findall(COMPOSE.read_text())) <= names


# --- deploy/systemd ----------------------------------------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize(
    ("name", "subcommand"), [("returns-hub-web@.service", "serve"), ("returns-hub-worker.service", "worker")]
)
def test_the_systemd_units_run_real_commands_with_the_environment_file(name, subcommand):
    parsed = unit(name)
    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    service = parsed["Service"]
    argv = shlex.split(service["ExecStart"].replace("%i", "8001"))
    assert Path(argv[0]).name == "returns-hub", argv
    assert argv[1] == subcommand
    check_command(argv[1:])
    assert service["EnvironmentFile"] == "/etc/returns-hub/returns-hub.env"
    assert service["User"] == "returns-hub"
    names = settings_names()
    for assignment in shlex.split(service.get("Environment", "")):
        assert assignment.split("=", 1)[0] in names, assignment


def test_the_web_unit_listens_on_its_instance_port_and_shares_a_metrics_folder():
    service = unit("returns-hub-web@.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[argv.index("--port") + 1] == "%i"
    env = dict(a.split("=", 1) for a in shlex.split(service["Environment"]))
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/" + service["RuntimeDirectory"]
    assert service["RuntimeDirectoryPreserve"] == "yes"  # one instance's restart keeps the others' samples


def test_the_environment_file_sets_only_real_settings():
    names = settings_names()
    assigned = {}
    for line in (UNITS / "returns-hub.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assigned[key] = value
    assert {"HUB_DATABASE_URL", "HUB_SECRET_KEY", "HUB_BASE_URL", "HUB_TRUSTED_PROXIES"} <= set(assigned)
    assert set(assigned) <= names, f"not settings: {sorted(set(assigned) - names)}"
    commented = set(VARIABLE.findall((UNITS / "returns-hub.env").read_text()))
    assert commented <= names
