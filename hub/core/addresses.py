"""One e-mail address as people type it (a form, a CSV cell, a Slack modal, the config): parsed, never a list."""

from __future__ import annotations

import re
from email.utils import getaddresses

MAX_ADDRESS = 254  # RFC 5321's limit on a path, and the width of every e-mail column

# a dot-atom local part (RFC 5322 atext; letters beyond ASCII too), an @, and a domain of two or more labels:
# nothing that makes a list or a display name ("," ";" "<" ">" quotes, brackets, spaces) gets through
_ATOM = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\W\x00-\x7f])+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
ADDRESS_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def is_several(text: str) -> bool:
    """Whether `text` reads as a list of addresses (a comma or semicolon, or two addresses) to a mail program."""
    pairs = getaddresses([text])
    return any(c in text for c in ",;") or sum("@" in address for _, address in pairs) > 1


def is_one_address(text: str) -> bool:
    """Whether `text` is exactly one bare e-mail address: no name, no brackets, no list, no spaces around it."""
    return (
        len(text) <= MAX_ADDRESS
        and not is_several(text)
        and getaddresses([text]) == [("", text)]
        and ADDRESS_RE.fullmatch(text) is not None
    )


def address_problem(text: str) -> str | None:
    """Why `text` (stripped) is not exactly one e-mail address, in words; None when it is one."""
    value = text.strip()
    if is_several(value):
        return f"“{value}” is more than one address; give exactly one."
    if len(value) > MAX_ADDRESS:
        return f"The address is {len(value)} characters long; at most {MAX_ADDRESS} fit."
    if not is_one_address(value):
        return f"“{value}” is not an e-mail address."
    return None


def parse_address(text: str) -> str:
    """Exactly one e-mail address, stripped and lower-cased (addresses compare case-insensitively);
    ValueError says what is wrong."""
    problem = address_problem(text)
    if problem:
        raise ValueError(problem)
    return text.strip().lower()
