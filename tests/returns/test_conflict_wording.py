"""A version conflict in words: who changed the return, how and when (in the reader's zone, named), and what to do."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.core.errors import LastChange, VersionConflict
from hub.returns.timeline import conflict_text, worded_conflict

ANN = LastChange("Ann de Wit", "moved", datetime(2026, 12, 1, 13, 5, tzinfo=UTC))


def test_a_conflict_names_the_time_in_the_readers_zone():
    assert conflict_text("RMA-1042", ANN, ZoneInfo("Europe/Amsterdam"), shown_in="The panel") == (
        "RMA-1042 was changed by Ann de Wit (moved, Tue 1 Dec 14:05 CET) after you opened it; nothing was changed. "
        "The panel now shows the change; check it and try again."
    )
    assert conflict_text("RMA-1042", ANN, ZoneInfo("America/New_York"), shown_in="The card").startswith(
        "RMA-1042 was changed by Ann de Wit (moved, Tue 1 Dec 08:05 EST) after you opened it;"
    )


def test_only_when_nothing_shows_the_change_is_the_reader_asked_to_reload():
    text = conflict_text("RMA-1042", ANN, ZoneInfo("UTC"))
    assert text.endswith("nothing was changed. Reload to see the change, then try again.")
    assert "now shows" not in conflict_text("RMA-1042", ANN, ZoneInfo("UTC"), next_step="Look again.")


def test_a_conflict_without_a_return_keeps_its_own_message():
    numbering = VersionConflict("Could not number the new return: many were created at once; try again.")
    assert worded_conflict(numbering, ZoneInfo("UTC"), shown_in="The panel") == numbering.message
    unknown = VersionConflict("x", rma="RMA-7", last_change=None)
    assert worded_conflict(unknown, ZoneInfo("UTC"), shown_in=None) == (
        "RMA-7 was changed by someone after you opened it; nothing was changed. "
        "Reload to see the change, then try again."
    )
