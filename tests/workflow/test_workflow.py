"""The workflow configuration: the built-in default is DESIGN.md's, and every error names its key.

(`returns-hub check-config`: tests/cli/test_setup.py.)
"""

from __future__ import annotations

import tomllib
from datetime import date, time

import pytest

from hub.workflow import RESOLUTIONS, ConfigError, Sla, Workflow, load_workflow, parse_workflow
from tests.factories import default_workflow_toml, workflow_toml
from tests.workflow.support import APPROVED, CS, HEADER, NEW, POLICY, TEAMS, config


def errors_of(text: str) -> list[str]:
    """The errors parse_workflow reports for this text (fails when it parses)."""
    with pytest.raises(ConfigError) as info:
        parse_workflow(text, source="broken.toml")
    assert info.value.source == "broken.toml"
    return info.value.errors


# --- the built-in default ----------------------------------------------------------------------

# DESIGN.md, "Default workflow": stage, owning team, SLA, typical next stages
DESIGN_DEFAULT = [
    ("new", "New request", "customer_service", "1 business day", {"approved", "rejected"}),
    ("approved", "Approved — label / pickup", "logistics", "1 business day", {"in_transit"}),
    ("in_transit", "In transit", "logistics", "5 calendar days", {"received"}),
    ("received", "Received — to inspect", "warehouse", "1 business day", {"inspected"}),
    ("inspected", "Inspected — to resolve", "customer_service", "1 business day", {"resolved"}),
    ("resolved", "Resolved", None, None, set()),
    ("rejected", "Rejected", None, None, set()),
]


def test_the_built_in_default_is_the_design_default_workflow():
    wf = load_workflow()
    assert wf.source == "<built-in default>"
    assert wf.promise_days == 14
    assert list(wf.teams) == ["customer_service", "logistics", "warehouse"]
    assert [t.name for t in wf.teams.values()] == ["Customer service", "Logistics", "Warehouse"]
    assert list(wf.stages) == [row[0] for row in DESIGN_DEFAULT]
    for key, name, team, sla, typical_next in DESIGN_DEFAULT:
        stage = wf.stages[key]
        assert stage.name == name
        assert stage.team == team
        assert (str(stage.sla) if stage.sla else None) == sla
        assert stage.closed is (team is None)
        assert typical_next <= set(stage.next), key
    assert wf.initial_stage.key == "new"
    assert wf.closed_stage_keys == {"resolved", "rejected"}
    # a closed stage can be reopened into an open one
    assert all(wf.stages[k].next and not wf.stages[wf.stages[k].next[0]].closed for k in wf.closed_stage_keys)
    assert wf.stages["resolved"].requires_resolution
    assert wf.policy.allowed_resolutions == RESOLUTIONS == ("refund", "exchange", "store_credit")


def test_the_default_handoffs_follow_the_design():
    wf = load_workflow()
    handoffs = {
        (a, b) for a, s in wf.stages.items() for b in s.next if not s.closed and wf.stages[b].team not in (None, s.team)
    }
    assert handoffs == {("new", "approved"), ("in_transit", "received"), ("received", "inspected")}


def test_the_default_team_calendars_are_business_days_in_amsterdam():
    wf = load_workflow()
    for team in wf.teams.values():
        assert team.timezone.key == "Europe/Amsterdam"
        assert team.working_days == frozenset(range(5))
        assert team.opens < team.closes


def test_the_tests_workflow_toml_without_changes_is_the_built_in_file():
    # tests.factories.workflow_toml writes the file the other tests change: unchanged, it is the default
    assert tomllib.loads(workflow_toml()) == tomllib.loads(default_workflow_toml())
    assert parse_workflow(workflow_toml(), source="<built-in default>") == load_workflow()


def test_a_valid_file_parses_into_typed_values():
    wf = parse_workflow(config(), source="good.toml")
    assert isinstance(wf, Workflow)
    assert wf.source == "good.toml"
    cs = wf.teams["customer_service"]
    assert (cs.opens, cs.closes, cs.hours_per_day) == (time(9), time(17), 8)
    assert cs.holidays == {date(2026, 12, 25), date(2026, 12, 26)}
    assert wf.teams["logistics"].working_days == frozenset(range(5))  # the default calendar
    assert wf.stages["new"].sla == Sla(1, "days", "business")
    assert wf.stages["approved"].sla == Sla(5, "days", "calendar")
    assert wf.stages["new"].wip_limit == 60
    assert wf.policy.non_returnable_skus == {"GIFTCARD"}
    assert wf.policy.allowed_resolutions == ("refund", "exchange")
    assert wf.reasons == {"too_small": "Too small", "defective": "Defective"}


# --- every error with its location ---------------------------------------------------------------

CASES = [
    pytest.param(
        {"x": ('team = "customer_service"', 'team = "support"')},
        f"{NEW}.team",
        "unknown team 'support'; teams are: customer_service, logistics",
        id="unknown-team-in-a-stage",
    ),
    pytest.param(
        {"x": ('next = ["approved", "rejected"]', 'next = ["approved", "refunded"]')},
        f"{NEW}.next[1]",
        "transition to a missing stage 'refunded'",
        id="transition-to-a-missing-stage",
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', 'sla = "-2 business days"')},
        f"{NEW}.sla",
        "an SLA must be positive, got '-2 business days'",
        id="negative-sla",
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', 'sla = "0 hours"')}, f"{NEW}.sla", "an SLA must be positive", id="zero-sla"
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', 'sla = "one business day"')},
        f"{NEW}.sla",
        'expected e.g. "1 business day"',
        id="malformed-sla-words",
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', 'sla = "2 weeks"')}, f"{NEW}.sla", "got '2 weeks'", id="malformed-sla-unit"
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', 'sla = "1 working day"')},
        f"{NEW}.sla",
        "got '1 working day'",
        id="malformed-sla-clock",
    ),
    pytest.param(
        {"x": ('sla = "1 business day"', "sla = 1")},
        f"{NEW}.sla",
        "expected a string, got a number (1)",
        id="sla-not-a-string",
    ),
    pytest.param(
        {"x": ("\n[policy]", '\n[[stages]]\nkey = "new"\nname = "Again"\nclosed = true\n\n[policy]')},
        "stages[4] (new).key",
        "duplicate stage key 'new'",
        id="duplicate-stage-key",
    ),
    pytest.param(
        {"x": ("wip_limit = 60", 'wip_limit = "ten"')},
        f"{NEW}.wip_limit",
        "expected an integer, got a string ('ten')",
        id="wrong-type",
    ),
    pytest.param(
        {"x": ("wip_limit = 60", "wip_limit = true")},
        f"{NEW}.wip_limit",
        "expected an integer, got a boolean",
        id="boolean-for-a-number",
    ),
    pytest.param(
        {"x": ("wip_limit = 60", "wip_limit = 0")}, f"{NEW}.wip_limit", "must be a positive number", id="zero-wip-limit"
    ),
    pytest.param(
        {"x": ("promise_days = 14", "promise_days = 14.5")},
        "promise_days",
        "expected an integer, got a number (14.5)",
        id="float-promise",
    ),
    pytest.param(
        {"x": ('color = "#2563eb"', 'colour = "#2563eb"')},
        f"{CS}.colour",
        "unknown key; allowed keys are: name, color,",
        id="unknown-key-in-a-team",
    ),
    pytest.param(
        {"x": ("promise_days = 14", "promise_days = 14\npromise = 10")},
        "promise",
        "unknown key; allowed keys are: promise_days, teams,",
        id="unknown-top-level-key",
    ),
    pytest.param(
        {"x": ("wip_limit = 60", "wip_limit = 60\nowner = 'Sanne'")},
        f"{NEW}.owner",
        "unknown key",
        id="unknown-key-in-a-stage",
    ),
    pytest.param(
        {"x": ("return_window_days = 30", "return_window_days = 30\nwindow = 30")},
        "policy.window",
        "unknown key",
        id="unknown-key-in-the-policy",
    ),
    pytest.param(
        {"x": ('timezone = "Europe/Amsterdam"', 'timezone = "Europe/Amsterdan"')},
        f"{CS}.timezone",
        "unknown time zone 'Europe/Amsterdan'",
        id="bad-timezone",
    ),
    pytest.param(
        {"x": ('timezone = "Europe/Amsterdam"', 'timezone = "/etc/localtime"')},
        f"{CS}.timezone",
        "unknown time zone '/etc/localtime'",
        id="timezone-path",
    ),
    pytest.param(
        {"x": ('timezone = "Europe/Amsterdam"', 'timezone = ""')},
        f"{CS}.timezone",
        "unknown time zone ''",
        id="empty-timezone",
    ),
    pytest.param(
        {"x": ('working_hours = ["09:00", "17:00"]', 'working_hours = ["9:00", "17:00"]')},
        f"{CS}.working_hours",
        "expected [\"HH:MM\", \"HH:MM\"], got ['9:00', '17:00']",
        id="working-hours-format",
    ),
    pytest.param(
        {"x": ('working_hours = ["09:00", "17:00"]', 'working_hours = ["09:00"]')},
        f"{CS}.working_hours",
        'expected ["HH:MM", "HH:MM"]',
        id="working-hours-one-time",
    ),
    pytest.param(
        {"x": ('working_hours = ["09:00", "17:00"]', 'working_hours = ["17:00", "09:00"]')},
        f"{CS}.working_hours",
        "the day must open before it closes, got 17:00 to 09:00",
        id="working-hours-reversed",
    ),
    pytest.param(
        {"x": ('working_hours = ["09:00", "17:00"]', 'working_hours = "09:00-17:00"')},
        f"{CS}.working_hours",
        "expected an array, got a string ('09:00-17:00')",
        id="working-hours-not-an-array",
    ),
    pytest.param(
        {"x": ('working_days = ["mon", "tue", "wed", "thu", "fri"]', 'working_days = ["mon", "friday"]')},
        f"{CS}.working_days",
        "unknown day(s) 'friday'",
        id="bad-working-day",
    ),
    pytest.param(
        {"x": ('working_days = ["mon", "tue", "wed", "thu", "fri"]', "working_days = []")},
        f"{CS}.working_days",
        "at least one working day is needed",
        id="no-working-days",
    ),
    pytest.param(
        {"x": ('working_days = ["mon", "tue", "wed", "thu", "fri"]', 'working_days = "mon-fri"')},
        f"{CS}.working_days",
        "expected an array, got a string ('mon-fri')",
        id="working-days-not-an-array",
    ),
    pytest.param(
        {"x": ('holidays = [2026-12-25, "2026-12-26"]', 'holidays = ["25-12-2026"]')},
        f"{CS}.holidays[0]",
        "expected a date like 2026-12-25, got '25-12-2026'",
        id="bad-holiday",
    ),
    pytest.param(
        {"x": ('holidays = [2026-12-25, "2026-12-26"]', "holidays = [2026-12-25T00:00:00]")},
        f"{CS}.holidays[0]",
        "expected a date like 2026-12-25, got a date and time",
        id="holiday-datetime",
    ),
    pytest.param(
        {"x": ('color = "#2563eb"', 'color = "blue"')},
        f"{CS}.color",
        "expected a colour like \"#2563eb\", got 'blue'",
        id="bad-colour",
    ),
    pytest.param({"x": ('color = "#2563eb"', 'color = "#25e"')}, f"{CS}.color", "got '#25e'", id="short-colour"),
    pytest.param({"x": ('color = "#2563eb"', 'color = ""')}, f"{CS}.color", "got ''", id="empty-colour"),
    pytest.param(
        {"x": ('[teams.logistics]\nname = "Logistics"', '[teams.logistics]\nname = "Logistics"\nemail = "x"')},
        "teams.logistics.email",
        "not an e-mail address: 'x'",
        id="bad-team-email",
    ),
    pytest.param(
        {"x": ('allowed_resolutions = ["refund", "exchange"]', 'allowed_resolutions = ["refund", "voucher"]')},
        "policy.allowed_resolutions",
        "unknown resolution(s) 'voucher'; use refund, exchange, store_credit",
        id="unknown-resolution",
    ),
    pytest.param(
        {"x": ('allowed_resolutions = ["refund", "exchange"]', "allowed_resolutions = []")},
        "policy.allowed_resolutions",
        "at least one resolution is needed",
        id="no-resolutions",
    ),
    pytest.param(
        {"x": ("return_window_days = 30", "return_window_days = -1")},
        "policy.return_window_days",
        "cannot be negative, got -1",
        id="negative-return-window",
    ),
    pytest.param(
        {"x": ('next = ["resolved", "rejected"]', "next = []")},
        f"{APPROVED}.next",
        "an open stage needs at least one next stage",
        id="open-stage-with-no-next",
    ),
    pytest.param(
        {"x": ('sla = "5 calendar days"\nnext = ["resolved", "rejected"]', 'sla = "5 calendar days"')},
        f"{APPROVED}.next",
        "an open stage needs at least one next stage",
        id="open-stage-without-next-key",
    ),
    pytest.param(
        {"x": ('next = ["resolved", "rejected"]', 'next = ["approved", "rejected"]')},
        f"{APPROVED}.next[0]",
        "a stage cannot move to itself",
        id="move-to-itself",
    ),
    pytest.param(
        {"x": ('next = ["resolved", "rejected"]', 'next = ["resolved", "rejected", "resolved"]')},
        f"{APPROVED}.next[2]",
        "'resolved' is listed twice",
        id="transition-listed-twice",
    ),
    pytest.param(
        {
            "x": (
                "closed = true\nrequires_resolution = true",
                'closed = true\nrequires_resolution = true\nteam = "customer_service"',
            )
        },
        "stages[2] (resolved).team",
        "a closed stage has no team, SLA or WIP limit",
        id="closed-stage-with-a-team",
    ),
    pytest.param(
        {
            "x": (
                "closed = true\nrequires_resolution = true",
                'closed = true\nrequires_resolution = true\nsla = "1 business day"',
            )
        },
        "stages[2] (resolved).sla",
        "a closed stage has no team, SLA or WIP limit",
        id="closed-stage-with-an-sla",
    ),
    pytest.param(
        {"x": ("wip_limit = 60", "wip_limit = 60\nrequires_note = true")},
        f"{NEW}.requires_note",
        "only a closed stage can require this",
        id="open-stage-requires-note",
    ),
    pytest.param(
        {"x": ("\n[policy]", '\n[[stages]]\nkey = "Refunded"\nname = "Refunded"\nclosed = true\n\n[policy]')},
        "stages[4] (Refunded).key",
        "a stage key uses lowercase letters",
        id="bad-stage-key",
    ),
    pytest.param(
        {"x": ('code = "defective"', 'code = "too_small"')},
        "reasons[1].code",
        "duplicate reason code 'too_small'",
        id="duplicate-reason-code",
    ),
    pytest.param(
        {"x": ('name = "Logistics"\ncolor', "color")}, "teams.logistics.name", "missing", id="team-without-a-name"
    ),
]


@pytest.mark.parametrize(("replace", "location", "message"), CASES)
def test_each_error_names_its_location(replace, location, message):
    errors = errors_of(config(**replace))
    assert len(errors) == 1, errors
    loc, _, text = errors[0].partition(": ")
    assert loc == location
    assert message in text


@pytest.mark.parametrize(
    ("replace", "line"),
    [
        (("promise_days = 14", "promise_days = 14\npromise_days = 10"), "line 2"),
        (("[teams.logistics]", '[teams.customer_service]\nname = "Again"\n\n[teams.logistics]'), "line"),
    ],
    ids=["duplicate-key", "duplicate-table"],
)
def test_a_duplicate_is_reported_by_the_toml_parser_with_its_line(replace, line):
    [error] = errors_of(config(x=replace))
    assert error.startswith("not valid TOML: ")
    assert line in error


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param(
            config(order=("rejected", "new", "approved", "resolved")),
            ["stages[0]: the first stage is where new returns start; it cannot be closed"],
            id="the-first-stage-cannot-be-closed",
        ),
        pytest.param(
            config(
                order=("new", "approved"),
                a=('next = ["approved", "rejected"]', 'next = ["approved"]'),
                b=('next = ["resolved", "rejected"]', 'next = ["new"]'),
            ),
            ["stages: at least one closed stage (closed = true) is needed to finish a return"],
            id="a-workflow-needs-a-closed-stage",
        ),
        pytest.param(
            "promise_days = 14\n",
            ["teams: missing", "stages: missing", "reasons: at least one return reason is needed"],
            id="missing-sections-are-each-reported",
        ),
        pytest.param(
            HEADER + TEAMS + '\n[stages]\nkey = "new"\n' + POLICY,
            ["stages: expected an array, got a table"],
            id="stages-must-be-an-array-of-tables",
        ),
    ],
)
def test_errors_about_the_whole_file(text, errors):
    assert errors_of(text) == errors


def test_a_file_with_several_errors_reports_all_of_them_at_once():
    text = config(
        team=('team = "customer_service"', 'team = "support"'),
        sla=('sla = "5 calendar days"', 'sla = "-1 calendar days"'),
        wip=("wip_limit = 60", 'wip_limit = "ten"'),
        tz=('timezone = "Europe/Amsterdam"', 'timezone = "Mars/Olympus"'),
        colour=('color = "#d97706"', 'color = "orange"'),
        hours=('working_hours = ["09:00", "17:00"]', 'working_hours = ["17:00", "09:00"]'),
        key=("return_window_days = 30", "return_window_days = 30\nrestocking_fee = 5"),
        res=('allowed_resolutions = ["refund", "exchange"]', 'allowed_resolutions = ["refund", "voucher"]'),
        nxt=('next = ["new"]', 'next = ["nowhere"]'),
    )
    with pytest.raises(ConfigError) as info:
        parse_workflow(text, source="broken.toml")
    locations = [e.partition(": ")[0] for e in info.value.errors]
    assert locations == [
        "teams.customer_service.timezone",
        "teams.customer_service.working_hours",
        "teams.logistics.color",
        f"{NEW}.wip_limit",
        f"{NEW}.team",
        f"{APPROVED}.sla",
        "stages[3] (rejected).next[0]",
        "policy.restocking_fee",
        "policy.allowed_resolutions",
    ]
    described = info.value.describe().splitlines()
    assert described == [f"broken.toml: {e}" for e in info.value.errors]
    assert str(info.value) == info.value.describe()


def test_load_workflow_names_the_file(tmp_path):
    path = tmp_path / "workflow.toml"
    path.write_text(config(x=('color = "#2563eb"', 'color = "blue"')), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workflow(path)
    assert info.value.source == str(path)
    assert info.value.describe().startswith(f"{path}: {CS}.color: ")
    path.write_text(config(), encoding="utf-8")
    assert load_workflow(path).source == str(path)


def test_load_workflow_reports_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_workflow(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("promise_days = 14 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_workflow(bad)
