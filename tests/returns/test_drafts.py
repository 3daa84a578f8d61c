"""Checking a new return (hub.returns.drafts): the dates customers see are the shop's, not UTC's.

(Each field's rules, as the form, the CSV import and Slack show them: tests/web/test_new_return.py,
tests/returns/test_csv_import.py, tests/slack/test_new_return.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.returns import services as svc
from tests.factories import SYSTEM, make_draft


def test_the_return_window_is_counted_in_the_shops_days(session, workflow):
    # 00:30 on 5 March in Amsterdam is still 4 March in UTC: delivered "today" is not in the future
    just_after_midnight = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    assert workflow.today(just_after_midnight).isoformat() == "2026-03-05"
    r = svc.create_return(session, workflow, SYSTEM, make_draft(delivered_on="2026-03-05"), now=just_after_midnight)
    assert r.delivered_on.isoformat() == "2026-03-05"
