"""A small valid workflow file for the validation tests, and the names of its parts in error locations.

It is deliberately not the built-in default (tests.factories.workflow_toml builds on that): two teams and
four stages, so that each error case of tests/workflow/test_workflow.py names one short location.
"""

from __future__ import annotations

HEADER = """\
promise_days = 14
"""

TEAMS = """
[teams.customer_service]
name = "Customer service"
color = "#2563eb"
timezone = "Europe/Amsterdam"
working_days = ["mon", "tue", "wed", "thu", "fri"]
working_hours = ["09:00", "17:00"]
holidays = [2026-12-25, "2026-12-26"]

[teams.logistics]
name = "Logistics"
color = "#d97706"
timezone = "Europe/Amsterdam"
"""

STAGES = {
    "new": """
[[stages]]
key = "new"
name = "New request"
team = "customer_service"
sla = "1 business day"
wip_limit = 60
next = ["approved", "rejected"]
""",
    "approved": """
[[stages]]
key = "approved"
name = "Approved"
team = "logistics"
sla = "5 calendar days"
next = ["resolved", "rejected"]
""",
    "resolved": """
[[stages]]
key = "resolved"
name = "Resolved"
closed = true
requires_resolution = true
next = ["approved"]
""",
    "rejected": """
[[stages]]
key = "rejected"
name = "Rejected"
closed = true
requires_note = true
next = ["new"]
""",
}

POLICY = """
[policy]
return_window_days = 30
non_returnable_skus = ["giftcard"]
allowed_resolutions = ["refund", "exchange"]

[[reasons]]
code = "too_small"
label = "Too small"

[[reasons]]
code = "defective"
label = "Defective"
"""


def config(order: tuple[str, ...] = ("new", "approved", "resolved", "rejected"), **replace: tuple[str, str]) -> str:
    """A valid workflow file, with stages in `order`, after applying each (old, new) replacement."""
    text = HEADER + TEAMS + "".join(STAGES[k] for k in order) + POLICY
    for old, new in replace.values():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# where errors in it are reported
NEW = "stages[0] (new)"
APPROVED = "stages[1] (approved)"
CS = "teams.customer_service"
