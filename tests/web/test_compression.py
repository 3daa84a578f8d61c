"""Compressed answers: brotli or gzip as the client accepts, the same bytes once decoded, the security headers kept,
small bodies left plain, conditional requests for static files still answered 304; and Chromium, which asks for
brotli, gets the board, its scripts and styles compressed and runs them under the CSP."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator

import brotli
import pytest

from hub.app import CSP
from hub.core.runtime import Runtime
from tests.factories import NOW, make_returns, make_user
from tests.web.browser_support import CHROMIUM, CHROMIUM_ARGS, ConsoleWatch, LiveServer, in_ci, log_in
from tests.web.support import hx, login_as, parse

pytestmark = pytest.mark.usefixtures("frozen_clock")

CHROMIUM_ACCEPTS = "gzip, deflate, br, zstd"  # what Chromium sends


# the CSRF token is signed with the second it was made in: two answers differ there and nowhere else
TOKEN = re.compile(rb'("X-CSRFToken": "|name="csrf_token" value=")[^"]+"')


def _same(body: bytes) -> bytes:
    return TOKEN.sub(rb'\1TOKEN"', body)


def _decoded(resp) -> bytes:
    body = resp.get_data()
    encoding = resp.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


@pytest.fixture
def board(client, session, workflow, now):
    """A logged-in client on a board with 60 new returns (a page of 50 cards and a "show more")."""
    make_returns(session, workflow, 60, stage="new", now=now)
    session.commit()
    login_as(client, session)
    return client


@pytest.mark.parametrize(
    ("path", "headers", "marker"),
    [
        ("/board", {}, b'id="board"'),
        ("/board?q=RMA", hx(target="board"), b'class="card'),
        ("/board/columns/new?offset=10", hx(), b'class="card'),
        ("/board/changes?after=0", {}, b'"cursor"'),
        ("/returns/RMA-5001", hx(), b'data-rma="RMA-5001"'),
    ],
)
@pytest.mark.parametrize(
    ("accept", "encoding"), [(CHROMIUM_ACCEPTS, "br"), ("gzip, deflate", "gzip"), ("br;q=0.5, gzip", "gzip")]
)
def test_pages_fragments_and_json_come_back_compressed_and_decode_to_the_same_bytes(
    board, path, headers, marker, accept, encoding
):
    plain = board.get(path, headers=headers)
    packed = board.get(path, headers={**headers, "Accept-Encoding": accept})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data())
    assert marker in plain.get_data()
    assert _same(_decoded(packed)) == _same(plain.get_data())


def test_security_headers_are_the_same_on_compressed_answers(board):
    plain = board.get("/board")
    packed = board.get("/board", headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert packed.headers[name] == plain.headers[name], name
    assert packed.headers["Content-Security-Policy"] == CSP
    assert packed.headers["Cache-Control"] == "no-store"


def test_without_accept_encoding_or_with_identity_only_nothing_is_compressed(board):
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, br;q=0"}):
        resp = board.get("/board", headers=headers)
        assert resp.status_code == 200
        assert "Content-Encoding" not in resp.headers, headers
        assert b'id="board"' in resp.get_data()


def test_small_answers_stay_plain(board):
    resp = board.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert resp.status_code == 200
    assert len(resp.get_data()) < 500
    assert "Content-Encoding" not in resp.headers
    # an empty feed is a few dozen bytes: compressing it would only add work
    feed = board.get("/board/changes?after=999999999", headers={"Accept-Encoding": "br, gzip"})
    assert feed.status_code == 200
    assert "Content-Encoding" not in feed.headers
    assert feed.get_json()["cards"] == []
    icon = board.get("/static/favicon.svg", headers={"Accept-Encoding": "br, gzip"})
    assert icon.status_code == 200
    assert len(icon.get_data()) < 500
    assert "Content-Encoding" not in icon.headers
    icon.close()


def test_redirects_and_errors_are_not_compressed(client):
    resp = client.get("/board", headers={"Accept-Encoding": "br"})
    assert resp.status_code == 302
    assert "Content-Encoding" not in resp.headers


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/static/app.css", "text/css"),
        ("/static/board.js", "text/javascript"),
        ("/static/vendor/htmx-2.0.11.min.js", "text/javascript"),
    ],
)
def test_static_files_come_back_compressed_and_decode_to_the_file(client, path, mimetype):
    plain = client.get(path)
    assert plain.status_code == 200
    assert plain.mimetype == mimetype
    packed = client.get(path, headers={"Accept-Encoding": CHROMIUM_ACCEPTS})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "br"
    assert _decoded(packed) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data())
    assert packed.headers["Content-Security-Policy"] == CSP
    assert "Accept-Ranges" not in packed.headers  # a range would count the plain file's bytes
    plain.close()
    packed.close()


def test_a_static_file_revalidates_with_the_etag_of_its_compressed_form(client):
    first = client.get("/static/app.css", headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    assert etag.endswith(':br"')
    first.close()
    again = client.get("/static/app.css", headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    again.close()
    # the gzip form is another representation: its own ETag, so the brotli one does not match it
    other = client.get("/static/app.css", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["Content-Encoding"] == "gzip"
    assert other.headers["ETag"].endswith(':gzip"')
    other.close()
    # a client without compression revalidates with the plain ETag, as before
    plain = client.get("/static/app.css")
    plain_etag = plain.headers["ETag"]
    plain.close()
    unchanged = client.get("/static/app.css", headers={"If-None-Match": plain_etag})
    assert unchanged.status_code == 304
    assert "Content-Encoding" not in unchanged.headers
    unchanged.close()


def test_a_range_of_a_static_file_is_the_plain_bytes(client):
    whole = client.get("/static/app.css")
    part = client.get("/static/app.css", headers={"Accept-Encoding": "br", "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert "Content-Encoding" not in part.headers
    assert part.get_data() == whole.get_data()[:100]
    whole.close()
    part.close()


def test_the_theme_stylesheet_is_compressed_when_large_enough(board):
    plain = board.get("/theme.css")
    packed = board.get("/theme.css", headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert _decoded(packed) == plain.get_data()
    expected = "gzip" if len(plain.get_data()) >= 500 else None
    assert packed.headers.get("Content-Encoding") == expected


def test_a_compressed_board_parses_to_the_same_cards(board):
    packed = board.get("/board", headers={"Accept-Encoding": "br"})
    tree = parse(_decoded(packed).decode())
    assert len(tree.find_all("li", cls="card")) == 50


# --- in Chromium ------------------------------------------------------------------------------------


@pytest.fixture
def chromium_page(runtime: Runtime, app) -> Iterator[tuple[object, str]]:
    """A headless Chromium page and the URL of a server running this test's app."""
    if not CHROMIUM.exists():
        if in_ci():
            pytest.fail(f"CI is set but {CHROMIUM} is missing: the browser tests must run in CI")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
    from playwright.sync_api import sync_playwright

    runtime.clock = lambda: NOW
    server = LiveServer().start()
    server.current = app
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.set_default_timeout(10_000)
            yield context.new_page(), server.url
            context.close()
            browser.close()
    finally:
        server.stop()


@pytest.mark.browser
def test_chromium_gets_the_board_its_scripts_and_styles_compressed_and_runs_them_under_the_csp(
    chromium_page, session, workflow
):
    page, base_url = chromium_page
    make_returns(session, workflow, 12, stage="new", now=NOW)
    user = make_user(session, team="customer_service")
    session.commit()
    console = ConsoleWatch().attach(page)
    encodings: dict[str, str | None] = {}  # each URL's first 200 (a revalidation of the cached copy is a 304)

    def seen(r) -> None:
        if r.status == 200:
            encodings.setdefault(r.url.split("?")[0], r.all_headers().get("content-encoding"))

    page.on("response", seen)
    log_in(page, base_url, user)  # waits for htmx, SortableJS and board.js: the compressed scripts ran
    assert page.locator("li.card").count() == 12
    assert encodings[f"{base_url}/board"] == "br"
    assert encodings[f"{base_url}/static/app.css"] == "br"
    assert encodings[f"{base_url}/static/vendor/htmx-2.0.11.min.js"] == "br"
    assert encodings[f"{base_url}/static/board.js"] == "br"
    board = page.request.get(f"{base_url}/board")
    assert board.headers["content-security-policy"] == CSP
    # the styles applied: a card is laid out as app.css says, not as an unstyled list item
    assert page.locator("li.card").first.evaluate("e => getComputedStyle(e).listStyleType") == "none"
    console.assert_clean()
