"""GraphiQL, served with its own assets, checked byte for byte and used in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_server import _get, serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(f"sqlite:///{tmp_path_factory.mktemp('graphiql') / 'g.db'}") as base:
        yield base


def test_the_page_loads_no_cdn_and_every_asset_matches_its_integrity_hash(served):
    status, page = _get(served + "/graphql", headers={"accept": "text/html"})
    assert status == 200 and "unpkg.com" not in page and "cdn" not in page.lower()
    assets = re.findall(r'(?:src|href)="(/graphiql-assets/[^"]+)"\s+integrity="(sha384-[^"]+)"', page)
    assert len(assets) == 7, assets
    for path, integrity in assets:
        request_status, _ = _get(served + path)
        raw = (ROOT / "web/graphiql" / path.rsplit("/", 1)[1]).read_bytes()
        digest = "sha384-" + base64.b64encode(hashlib.sha384(raw).digest()).decode()
        assert request_status == 200 and digest == integrity, f"{path}: replace it with the file Strawberry pins"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_a_readme_example_runs_in_graphiql_in_a_browser(served):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.findall(r"```graphql\n(.*?)```", readme, re.S)[0]
    assert "recommendPeers" in example
    _, body = _get(served + "/graphql", json.dumps({"query": example}).encode(), {"content-type": "application/json"})
    expected = json.loads(body)["data"]["recommendPeers"][0]["city"]["name"]
    with graphiql(served) as (page, failed):
        editor = ".graphiql-query-editor .CodeMirror"
        # paste the example as a user would (CodeMirror's own API: typing would trigger autocompletion)
        page.evaluate("([sel, q]) => document.querySelector(sel).CodeMirror.setValue(q)", [editor, example])
        page.click(".graphiql-execute-button")
        response = ".graphiql-response .CodeMirror"
        page.wait_for_function("sel => document.querySelector(sel).CodeMirror.getValue().includes('reason')",
                               arg=response, timeout=20_000)
        shown = json.loads(page.evaluate("sel => document.querySelector(sel).CodeMirror.getValue()", response))
        assert shown == json.loads(body)  # what the README example answers over plain HTTP
        assert shown["data"]["recommendPeers"][0]["city"]["name"] == expected
        assert failed == []  # every asset came from this server


@contextmanager
def graphiql(served: str) -> Iterator[tuple[Any, list[str]]]:
    """GraphiQL open in headless Chromium, its editor ready: the page, and the URLs of requests that failed."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        try:
            page = browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(served + "/graphql", wait_until="networkidle")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            yield page, failed
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_graphiql_loads_the_schema_docs_autocompletion_and_explorer(served):
    with graphiql(served) as (page, failed):
        page.click('button[aria-label="Show Documentation Explorer"]')
        docs = page.locator(".graphiql-doc-explorer")
        docs.get_by_text("Query", exact=True).first.click(timeout=20_000)  # the root type, once the schema loaded
        field = docs.get_by_text("recommendPeers", exact=True).first
        field.wait_for(timeout=20_000)
        field.click()
        docs.get_by_text("Peer cities that share the city's challenges, cohorts and partners.").wait_for(timeout=10_000)
        assert "Error fetching schema" not in page.content()
        editor = ".graphiql-query-editor .CodeMirror"
        page.evaluate("sel => document.querySelector(sel).CodeMirror.setValue('')", editor)
        page.click(editor)
        page.keyboard.type("{ recommendP")
        hint = page.locator(".CodeMirror-hints .CodeMirror-hint", has_text="recommendPeers")
        hint.first.wait_for(timeout=20_000)
        shown = page.locator(".CodeMirror-hints .CodeMirror-hint").all_inner_texts()
        assert shown and all(t.startswith("recommendP") for t in shown) and "recommendPeople" in shown
        page.keyboard.press("Escape")
        page.click('button[aria-label="Show GraphiQL Explorer"]')  # the schema explorer plugin
        page.locator(".graphiql-explorer-node.graphiql-explorer-recommendPeers").wait_for(timeout=20_000)
        assert failed == []
