"""The edge of the web app: text no field can hold is refused once, before any view, the login or the CSRF
check reads it.

C0 control characters (U+0000 to U+001F) other than tab and newline mean nothing in a return, a comment or a
search, and PostgreSQL cannot store U+0000 at all: a query argument, a form field (where carriage return is
allowed too: browsers send line breaks as CRLF) or the address itself that holds one gets a 400 that names it,
and changes nothing. The domain's validators still check everything else.
"""

from __future__ import annotations

import re

from flask import Flask, abort, request

# C0 controls but tab and newline; form text may carry carriage returns as well (CRLF line breaks)
IN_QUERY = re.compile(r"[\x00-\x08\x0b-\x1f]")
IN_FORM = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
IN_PATH = re.compile(r"[\x00-\x1f]")

# endpoints that read their own body: Slack's (signed, then checked by integrations.slack), and static files
OWN_INPUT = {"slack.events", "static"}


def init_app(app: Flask) -> None:
    """Refuse control characters before every other request hook (register this first)."""

    @app.before_request
    def _refuse_control_characters() -> None:
        if request.endpoint in OWN_INPUT:
            return
        problem = control_character_problem()
        if problem:
            abort(400, problem)


def control_character_problem() -> str | None:
    """What in this request holds a control character (the address, a query argument or a form field), or None."""
    found = IN_PATH.search(request.path)
    if found:
        return _refusal("The address", found.group())
    for pattern, fields in ((IN_QUERY, request.args), (IN_FORM, request.form)):
        for name, values in fields.lists():
            for text in (name, *values):
                found = pattern.search(text)
                if found:
                    return _refusal(_field(name), found.group())
    return None


def _field(name: str) -> str:
    shown = IN_PATH.sub("\N{REPLACEMENT CHARACTER}", name)[:60]
    return f"The field {shown}"


def _refusal(where: str, char: str) -> str:
    return (
        f"{where} contains a control character (U+{ord(char):04X}), which cannot be stored: "
        "remove it and try again. Nothing was changed."
    )
