"""Helpers for the web tests (and any test that logs in): logins, htmx headers, a small HTML tree, a return's state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Role, User
from hub.returns.models import Event, Return
from tests.factories import PASSWORD, make_user

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD) -> str:
    """Log the client in; returns the session's CSRF token for later posts."""
    token = csrf_token(client)
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return csrf_token(client, "/board")


def login_as(
    client, session: Session, *, team: str | None = "customer_service", role: Role | str = Role.MEMBER, **overrides: Any
) -> tuple[User, str]:
    """A new user, committed and logged in: (user, CSRF token)."""
    user = make_user(session, team=team, role=role, **overrides)
    session.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    # a login starts a new session, with a new CSRF token: read it from a light page, not the board
    return user, csrf_token(client, "/account")


def hx(token: str | None = None, *, target: str | None = None, **extra: str) -> dict[str, str]:
    """Headers of an htmx request (with the CSRF header when a token is given)."""
    headers = {"HX-Request": "true", **extra}
    if token:
        headers["X-CSRFToken"] = token
    if target:
        headers["HX-Target"] = target
    return headers


# --- the state of a return, read outside the app --------------------------------------------


@dataclass(frozen=True)
class State:
    """A return's columns that actions change, and its event count."""

    version: int
    stage: str
    assignee_id: int | None
    is_blocked: bool
    blocked_reason: str | None
    carrier: str | None
    tracking_number: str | None
    resolution: str | None
    events: int
    event_kinds: tuple[str, ...] = field(default=())


def state(session: Session, rma: str) -> State:
    """What the database holds now for this return (ends the test session's transaction afterwards)."""
    session.commit()
    r = session.scalar(select(Return).where(Return.rma == rma).execution_options(populate_existing=True))
    assert r is not None, f"no return {rma}"
    kinds = tuple(session.scalars(select(Event.kind).where(Event.return_id == r.id).order_by(Event.id)))
    s = State(
        r.version,
        r.stage,
        r.assignee_id,
        r.is_blocked,
        r.blocked_reason,
        r.carrier,
        r.tracking_number,
        r.resolution.value if r.resolution else None,
        len(kinds),
        kinds,
    )
    # SQLite takes its write lock at BEGIN: never hold a transaction open during a request. Commit, not
    # rollback: the session keeps its objects loaded (expire_on_commit=False), so reading one later
    # does not start a transaction behind the test's back.
    session.commit()
    return s


def count(session: Session, model: type) -> int:
    """Rows of a model (ends the transaction afterwards)."""
    session.commit()
    n = session.scalar(select(func.count()).select_from(model)) or 0
    session.commit()
    return n


# --- a small HTML tree ----------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    """An element of a parsed page."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    @property
    def classes(self) -> set[str]:
        """The element's classes."""
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        parts: list[str] = []

        def walk(n: Node) -> None:
            for c in n.children:
                if isinstance(c, str):
                    parts.append(c)
                else:
                    walk(c)

        walk(self)
        return " ".join("".join(parts).split())

    def iter(self):
        """This element and every element below it, in document order."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, *, cls: str | None = None, **attrs: str) -> list[Node]:
        """Elements below (and including) this one with this tag, class and attribute values."""
        out = []
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes:
                continue
            if any(n.attrs.get(k.rstrip("_").replace("_", "-")) != v for k, v in attrs.items()):
                continue
            out.append(n)
        return out

    def find(self, tag: str | None = None, *, cls: str | None = None, **attrs: str) -> Node | None:
        """The first element matching, or None."""
        found = self.find_all(tag, cls=cls, **attrs)
        return found[0] if found else None

    def by_id(self, id_: str) -> Node:
        """The element with this id (fails the test when there is none, or more than one)."""
        found = [n for n in self.iter() if n.attrs.get("id") == id_]
        assert len(found) == 1, f"{len(found)} elements with id {id_!r}"
        return found[0]

    def has_id(self, id_: str) -> bool:
        """Whether an element with this id is there."""
        return any(n.attrs.get("id") == id_ for n in self.iter())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs}, parent=self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, {k: v if v is not None else "" for k, v in attrs}, parent=self.cur))

    def handle_endtag(self, tag: str) -> None:
        n: Node | None = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def parse(html: str) -> Node:
    """A page or fragment as a tree of Nodes."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(resp) -> Node:
    """A response's HTML as a tree."""
    return parse(resp.get_data(as_text=True))


def card_ids(tree: Node, stage: str) -> list[str]:
    """The RMAs of the cards in a column, top to bottom."""
    return [n.attrs["data-rma"] for n in tree.by_id(f"cards-{stage}").find_all("li", cls="card")]


def column_count(tree: Node, stage: str) -> int:
    """The count a column's header shows."""
    return int(tree.by_id(f"head-{stage}").find("span", cls="count").text)
