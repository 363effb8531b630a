"""The front door of the served app: a landing page at /, the SDL at /schema.graphql, readiness that says
when the store is empty, and introspection that GraphiQL can use without opening a way around the limits."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from graphql import get_introspection_query

import landing
from matching.engine import Engine
from schema import Context, Loaders
from seeds import load_seeds
from server import Settings, create_app
from tests.conftest import ROOT
from tests.test_graphql import SCHEMA
from tests.test_server import _asgi


@pytest.fixture
def app(tmp_path):
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'front.db'}"))
    yield app
    app.state.store.close()


def _get(app, path: str) -> tuple[int, dict, str]:
    sent = _asgi(app, "GET", path, headers=[(b"accept", b"text/html")])  # as a browser follows a link
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:]).decode()


def test_an_empty_store_says_so_on_the_landing_page_and_in_readiness(app):
    status, headers, page = _get(app, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "The store is empty (data version 0)" in page and "citypeers seed" in page
    assert "<code>citypeers serve --seed-if-empty</code>" in page and "`" not in page
    assert "`citypeers serve`" not in page  # this server is citypeers serve, and the store is still empty
    status, _, body = _get(app, "/readyz")
    ready = json.loads(body)
    assert status == 503 and ready["status"] == "empty" and "citypeers seed" in ready["hint"]


def test_a_store_that_does_not_answer_is_said_on_the_landing_page(app, caplog):
    import os

    caplog.set_level("INFO", logger="citypeers.errors")
    path = str(app.state.store.path)
    for suffix in ("", "-wal", "-shm"):  # under the running app: the file it had open is gone
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    status, headers, page = _get(app, "/")  # was a bare 500 "Internal Server Error", and a traceback in the log
    assert status == 503 and headers["retry-after"] == "2" and headers["content-type"].startswith("text/html")
    assert "The store does not answer: the store cannot be reached right now; try again shortly." in page
    assert '<a href="/readyz">' in page and f"{path!r} was deleted" in caplog.text  # why: in the log


def test_the_landing_page_shows_counts_and_every_link_works(app):
    load_seeds(app.state.store)
    status, _, page = _get(app, "/")
    assert status == 200 and "A peer network and matching service for city leaders" in page
    assert '<td>City</td><td class="n">24</td>' in page and "Data version 1." in page
    links = re.findall(r'<a href="([^"]+)"', page)
    assert {"/graphql", "/schema.graphql", "/healthz", "/readyz"} <= set(links)
    assert all(link.startswith("/") for link in links)  # nothing from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page
    assert "an embedded SQLite file" in page and "front.db" not in page and "sqlite:" not in page  # no path
    assert "/explore" in links  # the explorer's page (a FileResponse, which waits on a real client's
    # disconnect: tests/test_explorer_page.py opens it in a browser) is followed by its own tests
    for link in (link for link in links if link != "/explore"):
        assert _get(app, link)[0] == 200, link


def test_the_landing_page_gives_the_browser_its_icon_so_it_asks_for_no_favicon(app):
    """A browser asks a page without an icon of its own for /favicon.ico, which is not served: opening the page
    showed "Failed to load resource: ... 404" in the console. An empty data: icon, as the explorer's page has."""
    assert _get(app, "/favicon.ico")[0] == 404
    for page in (_get(app, "/")[2], landing.render(url="sqlite:///x.db", version=None, counts={}, explorer=True,
                                                   unavailable="down")):
        icons = re.findall(r"<link rel=icon href=\"([^\"]*)\">", page)
        assert icons == ["data:,"], icons


def test_with_graphiql_turned_off_the_page_and_a_browser_are_told_so(tmp_path):
    """CITYPEERS_GRAPHIQL=0: the landing page names /graphql as the endpoint, not as an editor to open, and a
    browser that opens /graphql anyway is told GraphiQL is off and how to send queries (it was "Not Found")."""
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'off.db'}", graphiql=False))
    try:
        page = _get(app, "/")[2]
        assert 'href="/graphql"' not in page and "GraphiQL, the in-browser editor, is turned off" in page
        status, _, body = _get(app, "/graphql")
        error = json.loads(body)["errors"][0]
        assert status == 404 and error["extensions"]["code"] == "NOT_FOUND"  # its status's code, as elsewhere
        assert error["message"].startswith("GraphiQL is turned off on this server (CITYPEERS_GRAPHIQL=0): send "
                                           "GraphQL queries with POST")
    finally:
        app.state.store.close()


def test_the_sdl_is_served_as_the_checked_in_schema(app):
    status, headers, body = _get(app, "/schema.graphql")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert body == (ROOT / "schema.graphql").read_text(encoding="utf-8") and "recommendPeers(" in body


def _run(store, query: str) -> list[dict]:
    context = Context(store=store, engine=Engine(store), loaders=Loaders(store))
    result = asyncio.run(SCHEMA.execute(query, context_value=context))
    return [{"message": e.message, **(e.extensions or {})} for e in result.errors or []]


FULL = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                               schema_description=True, input_value_deprecation=True)


@pytest.mark.parametrize("query", [FULL, get_introspection_query(),
                                   '{ __type(name: "City") { fields { name type { name } } } }',
                                   '{ a: __type(name: "City") { name } b: __type(name: "Leader") { name } }',
                                   "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }"])
def test_introspection_within_the_full_querys_shape_is_answered(sqlite_store, query):
    assert _run(sqlite_store, query) == []


@pytest.mark.parametrize(("query", "code"), [
    # deeper than the full introspection query goes: its answer grows with each level, so it is weighed
    ("{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } }"
     " } } } } } }", "QUERY_TOO_DEEP"),
    # introspection next to data: weighed as a whole
    ("{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } }"
     " } } cities { totalCount } }", "QUERY_TOO_DEEP"),
    # aliases stay limited
    ("{ " + " ".join(f'a{i}: __type(name: "City") {{ name }}' for i in range(20)) + " }", "TOO_MANY_ALIASES"),
    # the whole schema three times over: each answer is bounded, but 15 copies took 2.7 s of CPU
    ("{ ...S b: __schema { queryType { name } } c: __schema { queryType { name } } } "
     "fragment S on Query { __schema { queryType { name } } }", "QUERY_TOO_COSTLY"),
])
def test_introspection_beyond_it_meets_the_usual_limits(sqlite_store, query, code):
    assert code in [e["code"] for e in _run(sqlite_store, query)]


def test_readiness_says_busy_when_no_worker_is_free_not_that_the_store_is_down(tmp_path):
    """Every worker held (here by a sleep; in the walk, by requests past their deadline): /readyz said
    STORE_UNAVAILABLE, "the store cannot be reached right now", of a store that was fine."""
    import threading

    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'busy.db'}", workers=1))
    release = threading.Event()
    try:
        load_seeds(app.state.store)
        held = app.state.workers.submit(release.wait, 30)
        status, headers, body = _get(app, "/readyz")
        assert status == 503 and headers["retry-after"] == "2"
        assert json.loads(body) == {"status": "busy", "code": "SERVER_BUSY", "error": (
            "every worker of this server is busy with other requests, so the store was not asked; try again "
            "shortly (the store may be fine)")}
        release.set()
        held.result(timeout=30)
        status, _, body = _get(app, "/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready"
    finally:
        release.set()
        app.state.store.close()
