"""GraphiQL, served with its own assets, checked byte for byte and used in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

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
    from playwright.sync_api import sync_playwright

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.findall(r"```graphql\n(.*?)```", readme, re.S)[0]
    assert "recommendPeers" in example
    _, body = _get(served + "/graphql", json.dumps({"query": example}).encode(), {"content-type": "application/json"})
    expected = json.loads(body)["data"]["recommendPeers"][0]["city"]["name"]
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        try:
            page = browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(served + "/graphql", wait_until="networkidle")
            editor = ".graphiql-query-editor .CodeMirror"
            page.wait_for_selector(editor, timeout=20_000)
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
        finally:
            browser.close()
