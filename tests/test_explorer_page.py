"""The explorer page in a real headless Chromium (Debian's, driven by Playwright), against a served seeded store.

Every check compares what the page shows with what the API answers for the same question.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
import os
import shutil
import urllib.request
from pathlib import Path

import networkx as nx
import pytest

from graph.cells import unescape
from graph.store import open_store
from graph.tokens import create_token
from tests.test_server import serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHARED_DATA = ROOT.parent / "shared" / "data"
# the flags of tests/test_graphiql.py, and WebGL in software (no GPU here or in CI)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")


def api(base: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(base + "/graphql", json.dumps({"query": query, "variables": variables or {}})
                                     .encode(), headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    assert not body.get("errors"), body["errors"]
    return body["data"]


def view_ids(base: str, filters: dict | None = None) -> set[str]:
    data = api(base, "query($f: NetworkFilters) { networkView(filters: $f, first: 20000) { nodes { id } } }",
               {"f": filters})
    return {n["id"] for n in data["networkView"]["nodes"]}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("explorer") / "e.db"
    with serving(f"sqlite:///{db}") as base:
        yield base


DRAWN = ("() => window.__explorer && window.__explorer.probe.rendered > 0"
         " && document.getElementById('messages').textContent === ''")
SAID = "() => document.getElementById('messages').className === 'error'"  # an error is on screen


class Page:
    """A page of the explorer with what it logged: console errors and requests outside the server.

    `setup(page)` runs before the page opens (routes, init scripts); the page is ready when `ready` holds (by
    default: a view drawn with no message)."""

    def __init__(self, browser, base: str, query: str = "", *, setup=None, ready: str = DRAWN,
                 viewport: tuple[int, int] = (1400, 850)):
        self.base = base
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.outside.append(r.url)
                     if not r.url.startswith((base, "data:", "blob:")) else None)
        self.in_flight = 0  # requests sent and not yet answered
        self.page.on("request", lambda r: setattr(self, "in_flight", self.in_flight + 1))
        for done in ("requestfinished", "requestfailed"):
            self.page.on(done, lambda r: setattr(self, "in_flight", self.in_flight - 1))
        if setup:
            setup(self.page)
        self.response = self.page.goto(f"{base}/explore{query}", wait_until="networkidle")
        self.page.wait_for_function(ready, timeout=60_000)

    def nodes(self) -> int:
        return int(self.page.get_attribute("#count", "data-nodes"))

    def loaded(self, count: int) -> None:
        """Wait until the page has finished its `count`-th view load, and what the load set off: a selection it
        keeps reloads its panel and suggestions after the view is drawn, bringing the suggested peers into it."""
        self.page.wait_for_function(f"() => window.__explorer.probe.loads >= {count} && "
                                    f"document.getElementById('messages').textContent !== 'Loading…'",
                                    timeout=60_000)
        self.settled()

    def settled(self, quiet_ms: int = 300, timeout_ms: int = 30_000) -> None:
        """Wait until no request has been in flight for `quiet_ms`: what a change set off in the background (a
        token change reloads the selection's panel) is done, and cannot pick up what the test changes next."""
        quiet = waited = 0
        while quiet < quiet_ms:
            assert waited < timeout_ms, f"{self.in_flight} requests still in flight after {timeout_ms} ms"
            self.page.wait_for_timeout(50)
            waited += 50
            quiet = quiet + 50 if self.in_flight == 0 else 0

    def change_token(self, value: str) -> None:
        """Type a token in the field and leave it, as staff do (one change event: `change` dispatches one and the
        browser its own when the field loses the focus, a second reload of the panel that wiped a message said
        meanwhile); then wait until the selection's panel is drawn again, its reload's end clearing the message
        line."""
        self.page.evaluate("document.getElementById('panel-title').dataset.before = 'token'")
        self.page.fill("#token", value)
        self.page.evaluate("document.getElementById('token').blur()")
        self.page.wait_for_function("() => document.querySelector('#panel-title')"
                                    " && !document.querySelector('#panel-title[data-before]')")

    def message(self) -> str:
        return self.page.inner_text("#messages")

    def uncaught(self) -> list[str]:
        """Errors but the browser's own line for each failed request (a refused token, a route cut on purpose)."""
        return [e for e in self.errors if not e.startswith("Failed to load resource")]

    def change(self, field: str, value: str) -> None:
        self.page.fill(field, value)
        self.page.dispatch_event(field, "change")

    def select(self, name: str, city_id: str) -> None:
        self.page.evaluate("document.activeElement?.blur()")
        self.page.keyboard.press("/")
        self.page.keyboard.type(name)
        self.page.wait_for_selector(f"#search-list li >> text={name}")
        self.page.keyboard.press("Enter")
        self.page.wait_for_function(f"() => document.body.dataset.selected === {json.dumps(city_id)}")
        # the camera glides to the node (400 ms): positions read before it stops are not where things end up
        self.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")

    def close(self) -> None:
        self.context.close()


def non_blank(page, png: bytes) -> float:
    """Share of the image's pixels that are not (near) white, decoded by the browser itself."""
    return page.evaluate("""async (b64) => {
        const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data; let ink = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) ink++;
        return ink / (d.length / 4); }""", base64.b64encode(png).decode())


def dark(page, png: bytes, below: int = 80) -> int:
    """Pixels of the image darker than `below` in every channel, decoded by the browser itself."""
    return page.evaluate("""async ([b64, below]) => {
        const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < below && d[i + 1] < below && d[i + 2] < below) n++;
        return n; }""", [base64.b64encode(png).decode(), below])


def pixel(page, png: bytes, x: float, y: float) -> list[int]:
    """[r, g, b] of the image at (x, y) in CSS pixels."""
    return page.evaluate("""async ([b64, x, y]) => {
        const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0); const k = window.devicePixelRatio || 1;
        return [...ctx.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data.slice(0, 3)]; }""",
                         [base64.b64encode(png).decode(), x, y])


def test_the_page_loads_the_seeded_network_with_no_error_and_no_outside_request(browser, served):
    base = served
    page = Page(browser, base)
    try:
        assert "default-src 'self'" in page.response.headers["content-security-policy"]
        assert page.nodes() == len(view_ids(base)) > 30
        assert page.page.inner_text("#count").startswith(f"Showing {page.nodes()} nodes")
        assert page.page.locator("#legend-items li").count() >= 2  # a legend for the colours
        assert page.errors == [] and page.outside == []
    finally:
        page.close()


def test_search_finds_amsterdam_by_keyboard_and_the_panel_shows_its_facts(browser, served):
    base = served
    page = Page(browser, base)
    try:
        page.select("Amsterdam", "amsterdam")
        assert page.page.evaluate("document.activeElement.id") == "panel-title"  # the panel takes the focus
        city = api(base, """{ city(id: "amsterdam") { name country population
            challenges { challenge { name } priority } cohorts { cohort { name } role year } partners { name }
            leaders { name } } }""")["city"]
        panel = page.page.inner_text("#panel")
        assert city["name"] in panel and city["country"] in panel and f"{city['population']:,}" in panel
        for item in city["challenges"]:
            assert item["challenge"]["name"] in panel
        for item in city["cohorts"]:
            assert item["cohort"]["name"] in panel and item["role"] in panel
        for item in city["partners"] + city["leaders"]:
            assert item["name"] in panel
        assert "admin token only" in panel or not city["leaders"]
        # neighbours are links: Tab reaches them, Enter follows one
        link = page.page.locator("#panel button.link").first
        target = link.get_attribute("data-node")
        link.focus()
        page.page.keyboard.press("Enter")
        page.page.wait_for_function(f"() => document.body.dataset.selected === {json.dumps(target)}")
        # `/` again: the last query is selected, so typing replaces it
        page.page.evaluate("document.activeElement?.blur()")
        page.page.keyboard.press("/")
        page.page.keyboard.type("Riga")
        assert page.page.input_value("#search") == "Riga"
        assert page.errors == []
    finally:
        page.close()


def suggested(page: Page, query: str) -> list[str]:
    """The names the search suggests for `query`, once the server's cities are among them."""
    page.page.evaluate("document.activeElement?.blur()")
    page.page.keyboard.press("/")
    page.page.keyboard.type(query)
    page.page.wait_for_function("(q) => document.getElementById('search-list').dataset.answered === q", arg=query)
    return page.page.evaluate("[...document.querySelectorAll('#search-list li')]"
                              ".map((li) => li.firstChild.textContent.trim().replace(/ \\([A-Z]{2}\\)$/, ''))")


def test_search_suggests_the_names_that_start_with_the_query_first(browser, served):
    """It suggested the first 8 nodes whose name held the query anywhere, in the order of the view: "a" gave
    challenges and no city, and in the GCoM signatories "Roma" gave Romana, La Romana... and never Rome."""
    base = served
    labels = [n["label"] for n in api(base, "{ networkView(first: 20000) { nodes { label } } }")
              ["networkView"]["nodes"]]
    starting = {label for label in labels if label.lower().startswith("a")}
    assert len(starting) >= 2 and sum("a" in label.lower() for label in labels) > 10
    page = Page(browser, base)
    try:
        shown = suggested(page, "a")
        assert set(shown[:len(starting)]) == starting, shown
        assert shown[0] == "Amsterdam"  # the larger of the two cities
    finally:
        page.close()
    # on an overview (the countries drawn, the cities on the server): the largest city named so, which the
    # server's first 8 by id leave out
    cities = [e["node"] for e in api(base, "{ cities(first: 100) { edges { node { name population } } } }")
              ["cities"]["edges"]]
    largest = max((c for c in cities if c["name"].lower().startswith("s")), key=lambda c: c["population"])["name"]
    by_id = api(base, '{ cities(search: "s", first: 8) { edges { node { name } } } }')["cities"]["edges"]
    assert largest == "Stockholm" and largest not in {e["node"]["name"] for e in by_id}
    page = Page(browser, base, f"?limit={len(view_ids(base)) - 5}")
    try:
        shown = suggested(page, "s")
        kinds = page.page.locator("#search-list li small").all_inner_texts()
        assert shown[kinds.index("City · not in view")] == "Stockholm", shown
    finally:
        page.close()


def test_the_panel_shows_the_partners_working_with_a_city_through_its_cohort(browser, served):
    """Gary partners directly with Bloomberg Philanthropies only; the Harvard schools organise the Bloomberg
    Harvard class Gary is in, and are listed with that cohort and their role, as links like the direct one."""
    base = served
    page = Page(browser, base)
    try:
        page.select("Gary", "gary")
        city = api(base, """{ city(id: "gary") { partners { id name }
            cohorts { cohort { id name partners { partner { id name } role } } } } }""")["city"]
        (cohort,) = [m["cohort"] for m in city["cohorts"]]
        through = {p["partner"]["name"]: p["role"] for p in cohort["partners"]}
        assert through["Harvard Kennedy School"] == "organiser"
        assert "Harvard Kennedy School" not in {p["name"] for p in city["partners"]}
        section = page.page.locator("#panel section", has=page.page.locator("h3", has_text="Partners"))
        rows = section.locator("li").all_inner_texts()
        assert len(rows) == len({p["id"] for p in city["partners"]} | {p["partner"]["id"] for p in cohort["partners"]})
        for name, role in through.items():
            assert any(row.startswith(name) and f", {role} of {cohort['name']}" in row for row in rows), (name, rows)
        assert "Harvard Kennedy School university, organiser of Bloomberg Harvard City Leadership Initiative: " \
               "first class" in rows
        section.locator("button.link", has_text="Harvard Kennedy School").click()
        page.page.wait_for_function("() => document.body.dataset.selected === 'harvard-kennedy-school'")
        assert page.errors == []
    finally:
        page.close()


def test_contact_details_show_only_with_an_admin_token(browser, tmp_path):
    db = tmp_path / "c.db"
    with serving(f"sqlite:///{db}") as base:
        store = open_store(f"sqlite:///{db}")
        admin = create_token(store, name="test admin", role="admin")
        store.close()
        contact = "synthetic.leader@example.invalid"  # a synthetic person, added for this test
        api(base, """mutation { upsertLeader(input: {id: "syn-leader", name: "Synthetic Leader", role: "mayor",
                    contact: "synthetic.leader@example.invalid"}) { __typename }
            link(input: {kind: "SERVES", source: "syn-leader", target: "amsterdam"}) { __typename } }""",
            token=admin)
        page = Page(browser, base, "?select=amsterdam")
        try:
            page.page.wait_for_selector("#panel h2")
            page.page.wait_for_selector("#panel >> text=Synthetic Leader")
            panel = page.page.inner_text("#panel")
            assert contact not in panel and "admin token only" in panel
            page.page.fill("#token", admin)
            page.page.dispatch_event("#token", "change")
            page.page.wait_for_function("(c) => document.getElementById('panel').innerText.includes(c)", arg=contact)
            assert page.page.locator("#panel .contact").inner_text().strip() == contact
        finally:
            page.close()


def test_a_refused_token_is_said_once_and_the_page_browses_without_it(browser, served):
    base = served
    # the tab kept a token the server does not accept (mistyped, revoked): the view loads all the same
    page = Page(browser, base, setup=lambda p: p.add_init_script(
        "if (!sessionStorage.getItem('seen')) { sessionStorage.setItem('seen', '1');"
        " sessionStorage.setItem('citypeers-token', 'cp_bogus'); }"))
    try:
        assert page.nodes() == len(view_ids(base))
        assert page.page.inner_text("#token-note") == "This token was not accepted; browsing without it."
        assert page.page.evaluate("sessionStorage.getItem('citypeers-token')") is None
        assert page.page.input_value("#token") == ""
        # typed in the field: said at once, and public reads go on without it
        page.change("#token", "cp_bogus_too")
        page.page.wait_for_function("() => document.getElementById('token-note').textContent !== ''")
        assert page.page.input_value("#token") == ""
        page.select("Amsterdam", "amsterdam")
        page.page.wait_for_selector("#panel >> text=741,636")
        assert page.message() == ""
        # a reload keeps browsing (the bad token is not kept) and says nothing more
        page.page.reload(wait_until="networkidle")
        page.page.wait_for_function(DRAWN, timeout=60_000)
        assert page.page.inner_text("#token-note") == "" and page.nodes() == len(view_ids(base))
        assert page.uncaught() == []
    finally:
        page.close()


@pytest.mark.parametrize("field, value, filters", [
    ("#filter-country", "NL", {"country": "NL"}),
    ("#filter-challenge", "leadership", {"challengeId": "leadership"}),
    ("#filter-pop", "250000-1000000", {"minPopulation": 250000, "maxPopulation": 1000000}),
    ("#filter-sector", "university", {"partnerSector": "university"}),  # universities teach in cohorts only
])
def test_a_filter_changes_the_count_to_what_the_api_answers(browser, served, field, value, filters):
    base = served
    page = Page(browser, base)
    try:
        before = page.nodes()
        if field in ("#filter-pop", "#filter-sector"):
            page.page.select_option(field, value)
        else:
            page.page.fill(field, value)
            page.page.dispatch_event(field, "change")
        page.loaded(2)
        expected = view_ids(base, filters)
        assert page.nodes() == len(expected) != before and expected
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == expected
        assert page.errors == []
    finally:
        page.close()


def test_a_filter_change_draws_what_matches_it_whatever_was_selected_or_expanded_before(browser, served):
    base = served
    page = Page(browser, base, "?select=amsterdam")
    try:
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        page.change("#filter-country", "US")
        page.loaded(2)
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, {"country": "US"})
        assert "expand=" not in page.page.url and "select=" not in page.page.url
        assert page.message() == "Amsterdam does not match this filter: selection cleared."
        assert page.page.inner_text("#panel") == ""
        page.change("#filter-country", "FR")
        page.loaded(3)
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, {"country": "FR"})
        # a neighbourhood expanded by hand goes with the next filter; a selection that matches it stays
        page.change("#filter-country", "NL")
        page.loaded(4)
        page.select("Amsterdam", "amsterdam")
        page.page.click("text=Expand 2 hops")
        page.loaded(5)
        page.page.select_option("#filter-pop", "250000-1000000")
        page.loaded(6)
        band = {"country": "NL", "minPopulation": 250000, "maxPopulation": 1000000}
        # the kept selection's suggested peers are brought in once its panel reloaded (it was compared while that
        # was on the way, and matched only while the page was the slower)
        suggested = {s["target"] for s in page.page.evaluate("window.__explorer.suggestions()")}
        assert suggested and set(page.page.evaluate("window.__explorer.graph().nodes()")) == \
            view_ids(base, band) | suggested
        assert "expand=" not in page.page.url and "select=amsterdam" in page.page.url
        assert page.errors == []
    finally:
        page.close()


def test_a_failed_change_leaves_the_controls_and_the_url_on_what_is_drawn(browser, served):
    base = served
    page = Page(browser, base)
    try:
        drawn = set(page.page.evaluate("window.__explorer.graph().nodes()"))
        # an unknown cohort: said, and the field, the URL and the view stay on what is drawn
        page.change("#filter-cohort", "nope")
        page.page.wait_for_function(SAID)
        assert page.message() == "no cohort with id 'nope'"
        assert page.page.input_value("#filter-cohort") == "" and "cohort=" not in page.page.url
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == drawn
        # the server out of reach: said in words
        page.page.route("**/graphql", lambda route: route.abort())
        page.change("#filter-country", "NL")
        page.page.wait_for_function("() => document.getElementById('messages').textContent.includes('reached')")
        assert page.message() == "The server could not be reached: check the connection and try again."
        assert page.page.input_value("#filter-country") == "" and "country=" not in page.page.url
        page.page.unroute("**/graphql")
        # a later success clears the error
        page.change("#filter-country", "NL")
        netherlands = view_ids(base, {"country": "NL"})
        page.page.wait_for_function(f"() => window.__explorer.graph().order === {len(netherlands)}"
                                    " && document.getElementById('messages').textContent === ''")
        assert "country=NL" in page.page.url
        # learning groups: the URL and the fields follow the groups drawn
        page.page.fill("#groups-cohort", "eu-digital-services")
        page.page.click("#groups-propose")
        page.page.wait_for_selector("#groups .group .chip")
        proposed = page.page.inner_text("#groups")
        page.page.fill("#groups-sizes", "abc")
        page.page.click("#groups-propose")
        page.page.wait_for_function(SAID)
        still = ("The groups drawn are still the ones proposed before (cohort 'eu-digital-services', sizes 4-6, at "
                 "least 1 country a group).")  # the message does not read as if they were the ones just asked for
        assert page.message() == f"Sizes 'abc' is not a size range; write a range like 4-6, or one size like 5. {still}"
        assert page.page.input_value("#groups-sizes") == "4-6"
        page.page.fill("#groups-cohort", "nope")
        page.page.click("#groups-propose")
        page.page.wait_for_function("() => document.getElementById('messages').textContent.includes('nope')")
        assert page.message() == f"no cohort with id 'nope'. {still}"
        assert page.page.input_value("#groups-cohort") == "eu-digital-services"
        assert "groups=eu-digital-services" in page.page.url and page.page.inner_text("#groups") == proposed
        page.page.click("#groups-propose")
        page.page.wait_for_function("() => document.getElementById('messages').textContent === ''")
        assert page.uncaught() == []
    finally:
        page.close()


def typed(page: Page, field: str, text: str) -> None:
    """Type `text` over what `field` holds and press Enter, as staff do (an unchanged field fires no change)."""
    page.page.click(field)
    page.page.keyboard.press("Control+a")
    page.page.keyboard.press("Backspace")
    page.page.keyboard.type(text)
    page.page.keyboard.press("Enter")


def graphql_requests(page: Page) -> list[str]:
    """The GraphQL requests the page sends from now on (their query's first words)."""
    sent: list[str] = []
    page.page.on("request", lambda r: sent.append((r.post_data or "")[:40]) if r.url.endswith("/graphql") else None)
    return sent


COMMUNITIES = "this network's communities are whole numbers from 0 to {last} (the panel of a city shows its own)."


@pytest.mark.parametrize("value, said_first", [
    ("1.5", "The community '1.5' is not a community's number: "),  # was GraphQL's "Int cannot represent ..."
    ("1e309", "The community '1e309' is not a community's number: "),  # was ignored: the whole network drawn
    ("-1", "The community '-1' is not a community's number: "),  # was "Nothing matches these filters"
    ("99999", "There is no community 99999: "),  # was "Nothing matches these filters"
])
def test_a_community_the_network_lacks_is_refused_naming_it_and_the_range_before_any_request(browser, served, value,
                                                                                            said_first):
    base = served
    last = max(n["community"] for n in api(base, "{ networkView(first: 20000) { nodes { community } } }")
               ["networkView"]["nodes"] if n["community"] is not None)
    page = Page(browser, base)
    try:
        drawn = set(page.page.evaluate("window.__explorer.graph().nodes()"))
        sent = graphql_requests(page)
        typed(page, "#filter-community", value)
        page.page.wait_for_function(SAID)
        assert page.message() == said_first + COMMUNITIES.format(last=last)
        assert sent == []  # the page knew: the view drawn opened with every community
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == drawn
        assert page.page.input_value("#filter-community") == "" and "community=" not in page.page.url
        assert page.uncaught() == []
    finally:
        page.close()
    # a view that does not show every community (one country, coloured by country): the page asks for them first
    page = Page(browser, base, "?country=NL&colour=country")
    try:
        typed(page, "#filter-community", value)
        page.page.wait_for_function(SAID)
        assert page.message() == said_first + COMMUNITIES.format(last=last)
        assert page.nodes() == len(view_ids(base, {"country": "NL"})) and "community=" not in page.page.url
    finally:
        page.close()


@pytest.mark.parametrize("cohort, sizes, countries, message", [
    ("eu-digital-services", "99999999999-999999999999", "1", "Sizes '99999999999-999999999999': a group has at most "
     "1,000 cities; write a range like 4-6, or one size like 5."),  # was GraphQL's "Int cannot represent ..."
    ("eu-digital-services", "0", "1", "Sizes '0': a group has at least 1 city; write a range like 4-6, or one size "
     "like 5."),  # was "group sizes 0-0 are invalid"
    ("eu-digital-services", "6-4", "1", "Sizes '6-4' puts the smallest size above the largest; write 4-6."),
    ("eu-digital-services", "4-", "1", "Sizes '4-' has no largest size; write a range like 4-6, or one size like 5."),
    ("eu-digital-services", "4-6", "0", "Min countries '0': 0 countries per group is not a minimum one can ask for; "
     "use 1 (any countries) or more."),  # was taken as 1
    ("eu-digital-services", "4-6", "-3", "Min countries '-3': -3 countries per group is not a minimum one can ask "
     "for; use 1 (any countries) or more."),  # was "must be a whole number"
    ("eu-digital-services", "4-6", "1.5", "Min countries '1.5' is not a whole number; use 1 (any countries) or more."),
    ("", "4-6", "1", "Pick a cohort first: type its id in the Cohort field of Learning groups (the list suggests "
     "them), then Propose groups."),  # was nothing at all
])
def test_learning_group_parameters_no_grouping_could_mean_are_refused_naming_what_was_typed(browser, served, cohort,
                                                                                           sizes, countries, message):
    page = Page(browser, served)
    try:
        sent = graphql_requests(page)
        for name, value in (("cohort", cohort), ("sizes", sizes), ("countries", countries)):
            page.page.fill(f"#groups-{name}", value)
        page.page.click("#groups-propose")
        page.page.wait_for_function(SAID)
        assert page.message() == message
        assert not [q for q in sent if "Propose" in q] and page.page.locator("#groups .group").count() == 0
        # nothing is drawn for the fields to follow: what was typed stays, to be corrected
        assert [page.page.input_value(f"#groups-{n}") for n in ("cohort", "sizes", "countries")] == \
            [cohort, sizes, countries]
        assert page.uncaught() == []
    finally:
        page.close()


@pytest.mark.parametrize("field, value, error", [
    ("#filter-cohort", "nope", "no cohort with id 'nope'"),
    ("#filter-region", "nope", "no city in this store is in region 'nope'; its cities are in Europe, North America"),
    ("#filter-community", "nope", "The community 'nope' is not a community's number: "),
])
def test_an_error_about_a_filter_goes_once_the_field_is_emptied(browser, served, field, value, error):
    """The field is put back on what is drawn (empty) when its value is refused: emptied again and Enter (no
    change fired) left the error on screen, about a value no longer anywhere."""
    page = Page(browser, served)
    try:
        typed(page, field, value)
        page.page.wait_for_function(SAID)
        assert page.message().startswith(error)
        typed(page, field, "")
        page.page.wait_for_function("() => document.getElementById('messages').textContent === ''")
        assert page.page.input_value(field) == "" and page.nodes() == len(view_ids(served))
        assert page.uncaught() == []
    finally:
        page.close()


def test_a_search_nothing_matches_says_so_in_the_list_and_on_enter(browser, served):
    page = Page(browser, served)
    try:
        page.page.keyboard.press("/")
        page.page.keyboard.type("zzzz")
        page.page.wait_for_function("() => document.getElementById('search-list').dataset.answered === 'zzzz'")
        assert page.page.inner_text("#search-list") == "No node or city matches 'zzzz'"
        page.page.keyboard.press("Enter")
        page.page.wait_for_function(SAID)
        assert page.message() == "No node or city matches 'zzzz': check its spelling, or search a part of the name."
        assert "select=" not in page.page.url
        # the query typed again: the message goes, and a match is found as before
        page.page.keyboard.press("Control+a")
        page.page.keyboard.type("Riga")
        page.page.wait_for_function("() => document.getElementById('messages').textContent === ''")
        page.page.wait_for_selector("#search-list li >> text=Riga")
        page.page.keyboard.press("Enter")
        page.page.wait_for_function("() => document.body.dataset.selected === 'riga'")
        assert page.uncaught() == []
    finally:
        page.close()


def said(text: str) -> str:
    """Ready when the first view is drawn and `text` is on screen (a note, not an error)."""
    return (f"() => window.__explorer && window.__explorer.probe.loads >= 1 && "
            f"document.getElementById('messages').textContent.includes({json.dumps(text)})")


def test_a_link_naming_a_node_the_network_no_longer_has_draws_its_view_and_says_so(browser, served):
    """A shared link older than the data: the id of a node since deleted (or mistyped) failed the whole view, a
    blank canvas under "no node with id 'gone-city' to focus on", when the link had expanded the node; selected
    only, the same words, which say nothing of the link."""
    base = served
    gone = "'gone-city' is not in this network (the link is older than the data, or mistyped)"
    page = Page(browser, base, "?country=NL&select=amsterdam&expand=gone-city:1", ready=said(gone))
    try:
        assert page.message() == f"{gone}: left out of the view."
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        suggested = {s["target"] for s in page.page.evaluate("window.__explorer.suggestions()")}
        drawn = set(page.page.evaluate("window.__explorer.graph().nodes()"))
        assert drawn == view_ids(base, {"country": "NL"}) | suggested
        assert "expand=" not in page.page.url and "select=amsterdam" in page.page.url
        assert "Amsterdam" in page.page.inner_text("#panel h2")
        assert page.uncaught() == []
    finally:
        page.close()
    page = Page(browser, base, "?select=gone-city", ready=said(gone))
    try:
        assert page.message() == f"{gone}: selection cleared."
        assert page.nodes() == len(view_ids(base)) and "select=" not in page.page.url and "expand=" not in page.page.url
        assert page.page.inner_text("#panel") == "" and page.uncaught() == []
    finally:
        page.close()


@pytest.mark.parametrize("query, dropped, kept, filters", [
    ("?cohort=no-such-cohort&select=riga", "The link's cohort filter was dropped (the link is older than the data, or "
     "mistyped): no cohort with id 'no-such-cohort'.", "select=riga", None),
    ("?country=NL&challenge=nope", "The link's challenge filter was dropped (the link is older than the data, or "
     "mistyped): no challenge with id 'nope'.", "country=NL", {"country": "NL"}),
    ("?community=99999&select=riga", "The link's community filter was dropped (the link is older than the data, or "
     "mistyped): there is no community 99999: this network's communities are whole numbers from 0 to 2 (the panel "
     "of a city shows its own).", "select=riga", None),
])
def test_a_link_with_a_filter_value_the_network_lacks_draws_its_view_without_it(browser, served, query, dropped,
                                                                                 kept, filters):
    """A bookmark older than the data, opened afresh: the API's error was said over a blank canvas, there being
    no view drawn before to fall back to."""
    base = served
    page = Page(browser, base, query, ready=said("was dropped"))
    try:
        assert page.message() == dropped
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, filters)
        assert kept in page.page.url and "cohort=" not in page.page.url and "challenge=" not in page.page.url \
            and "community=" not in page.page.url
        assert page.page.input_value("#filter-cohort") == page.page.input_value("#filter-challenge") == ""
        if "select=riga" in query:
            page.page.wait_for_function("() => document.body.dataset.selected === 'riga'")
            assert page.page.inner_text("#panel h2") == "Riga"
        assert page.uncaught() == []
        page.page.go_back()  # the link's entry was rewritten: Back leaves the page, not to the failing view
        assert page.page.url == "about:blank"
    finally:
        page.close()


@pytest.mark.parametrize("query, dropped, control, kept", [
    ("?layout=map&select=riga", "The link's layout 'map' was dropped: it is one of 'force', 'geo' (map).",
     ("#layout", "force"), "select=riga"),
    ("?colour=bogus&country=NL", "The link's colour 'bogus' was dropped: it is one of 'community', 'country', "
     "'cohort', 'challenge', 'kind'.", ("#colour", "community"), "country=NL"),
    ("?size=huge&limit=0", "The link's size 'huge' was dropped: it is one of 'degree', 'population'. The link's "
     "limit '0' was dropped: it is a whole number of nodes from 1 to 20,000.", ("#size", "degree"), None),
    ("?limit=abc", "The link's limit 'abc' was dropped: it is a whole number of nodes from 1 to 20,000.", None, None),
    ("?limit=99999", "The link's limit '99999' was dropped: it is a whole number of nodes from 1 to 20,000.", None,
     None),
    ("?pop=abc&select=riga", "The link's population band 'abc' was dropped: it is one of '-50000' (under 50k), "
     "'50000-250000' (50k-250k), '250000-1000000' (250k-1M), '1000000-' (over 1M).", ("#filter-pop", ""),
     "select=riga"),
    ("?community=x", "The link's community 'x' was dropped: it is a community's number, 0 or more (the panel of a "
     "city shows its own).", ("#filter-community", ""), None),
])
def test_a_link_with_a_value_the_page_does_not_offer_is_drawn_without_it_and_says_so(browser, served, query,
                                                                                       dropped, control, kept):
    """A hand-typed link: `?layout=map` (the menu's value is 'geo'), an unknown colour, size or population band
    drew the force view, degree, community or every size with that menu blank, and `?limit=0`, a word, or a
    community that is not a number read as none, all in silence. Each is dropped before the first view, named
    with what the page offers, and left out of the URL."""
    base = served
    page = Page(browser, base, query, ready=said("was dropped"))
    try:
        assert page.message() == dropped
        filters = {"country": "NL"} if "country=NL" in query else None
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, filters)
        if control:
            assert page.page.input_value(control[0]) == control[1]
        for key in ("layout=", "colour=", "size=", "limit=", "pop=", "community="):
            assert key not in page.page.url
        if kept:
            assert kept in page.page.url
        assert page.uncaught() == []
    finally:
        page.close()


SECTORS = "document.querySelectorAll('#filter-sector option').length"


def test_the_pages_sector_list_is_the_models():
    """web/explore/src/sectors.js copies graph.model.PARTNER_SECTORS (the page asks a count for each): a sector
    added to the model and not to the page would never be offered."""
    import re

    from graph.model import PARTNER_SECTORS

    source = (Path(__file__).parent.parent / "web" / "explore" / "src" / "sectors.js").read_text(encoding="utf-8")
    listed = re.search(r"const SECTORS = \[([^\]]*)\]", source).group(1)
    assert re.findall(r'"([^"]+)"', listed) == list(PARTNER_SECTORS)


def test_the_partner_sector_menu_lists_only_the_sectors_the_store_has(browser, served, tmp_path):
    """It listed all six sectors, four of which no seed partner is in (and all six in a store without partners)."""
    from graph.model import PARTNER_SECTORS

    base = served
    had = {e["node"]["sector"] for e in api(base, "{ partners(first: 100) { edges { node { sector } } } }")
           ["partners"]["edges"]}
    assert had == {"university", "philanthropy"}
    page = Page(browser, base)
    try:
        page.page.wait_for_function(f"() => {SECTORS} > 1")
        options = page.page.eval_on_selector_all("#filter-sector option", "os => os.map((o) => o.value)")
        assert options == ["", *(s for s in PARTNER_SECTORS if s in had)]
        assert page.page.is_enabled("#filter-sector") and page.page.is_hidden("#sector-note")
    finally:
        page.close()
    # a link's sector no partner is in stays shown (its view is empty, and says why), and can be cleared
    page = Page(browser, base, "?sector=business", ready=said("Nothing matches"))
    try:
        page.page.wait_for_function(f"() => {SECTORS} > 3")
        assert page.page.input_value("#filter-sector") == "business"
        assert page.page.inner_text("#filter-sector option:checked") == "business (no partner)"
    finally:
        page.close()
    # the seeds without their partners: nothing to filter by, said beside the disabled menu
    db = tmp_path / "p.db"
    with serving(f"sqlite:///{db}") as bare:
        store = open_store(f"sqlite:///{db}")
        editor = create_token(store, name="test editor", role="editor")
        store.close()
        partners = api(bare, "{ partners(first: 100) { edges { node { id } } } }")["partners"]["edges"]
        for partner in partners:
            api(bare, "mutation($id: ID!) { deleteNode(id: $id) { __typename } }", {"id": partner["node"]["id"]},
                token=editor)
        assert api(bare, "{ partners { totalCount } }")["partners"]["totalCount"] == 0
        page = Page(browser, bare)
        try:
            page.page.wait_for_selector("#sector-note", state="visible")
            assert page.page.inner_text("#sector-note") == "No partner in this store yet: nothing to filter by."
            assert page.page.is_disabled("#filter-sector") and page.page.evaluate(SECTORS) == 1
            assert page.page.get_attribute("#filter-sector", "aria-describedby") == "sector-note"
            assert page.uncaught() == []
        finally:
            page.close()


def test_a_selection_is_read_once_from_the_focused_title_and_a_cleared_one_is_announced(browser, served):
    """The panel was an aria-live region and its title took the focus too: a screen reader could read it twice."""
    page = Page(browser, served)
    try:
        assert page.page.get_attribute("#panel", "aria-live") is None
        assert page.page.get_attribute("#announce", "role") == "status"  # polite, and visually hidden
        # the messages line says "Loading…" on every load: polite, so it waits for a pause instead of cutting in
        assert page.page.get_attribute("#messages", "aria-live") == "polite"
        page.select("Amsterdam", "amsterdam")
        assert page.page.evaluate("document.activeElement.id") == "panel-title"
        assert page.page.inner_text("#panel-title") == "Amsterdam" and page.page.text_content("#announce") == ""
        # a filter that keeps the selection redraws its panel, leaving the focus where staff are
        page.page.focus("#filter-country")
        page.change("#filter-country", "NL")
        page.loaded(2)
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        page.page.wait_for_selector("#panel >> text=741,636")
        assert page.page.evaluate("document.activeElement.id") == "filter-country"
        # Escape (once out of the field) clears the selection: said, since no focus moves
        page.page.evaluate("document.activeElement.blur()")
        page.page.keyboard.press("Escape")
        page.page.wait_for_function("() => document.body.dataset.selected === undefined")
        assert page.page.text_content("#announce") == "Amsterdam: selection cleared."
        assert page.page.inner_text("#panel") == ""
        page.select("Amsterdam", "amsterdam")
        assert page.page.text_content("#announce") == ""
        assert page.uncaught() == []
    finally:
        page.close()


def test_a_selection_cleared_while_its_panel_reloads_stays_cleared(browser, served):
    """A filter that keeps the selection reloads its panel and suggestions after the view is drawn; Escape while
    they were on the way cleared the panel, then the late answer filled it again and selected the node anew."""
    page = Page(browser, served, "?select=amsterdam")
    held = []  # the suggestions' request of the panel's reload, answered only once the selection is cleared
    try:
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        page.page.route("**/graphql", lambda route: held.append(route) if "recommendPeers" in
                        (route.request.post_data or "") else route.continue_())
        page.change("#filter-country", "NL")
        page.page.wait_for_function("() => window.__explorer.probe.loads >= 2")  # drawn; its panel on the way
        waited = 0
        while not held:
            assert waited < 30_000, "the panel's reload asked for no suggestions"
            page.page.wait_for_timeout(50)
            waited += 50
        page.page.evaluate("document.activeElement.blur()")
        page.page.keyboard.press("Escape")
        page.page.wait_for_function("() => document.body.dataset.selected === undefined")
        for route in held:
            route.continue_()
        page.settled()
        assert page.page.evaluate("document.body.dataset.selected") is None
        assert page.page.inner_text("#panel") == "" and "select=" not in page.page.url
        assert page.page.text_content("#announce") == "Amsterdam: selection cleared."
        assert page.uncaught() == []
    finally:
        page.close()


def test_a_view_with_no_node_says_why_instead_of_a_blank_canvas(browser, served, tmp_path):
    base = served
    assert view_ids(base, {"country": "NL", "partnerSector": "network"}) == set()
    page = Page(browser, base, "?country=NL&sector=network", ready=said("Nothing matches"))
    try:
        assert page.nodes() == 0
        assert page.message() == "Nothing matches these filters: widen or clear one, or Reset view to see the whole " \
                                 "network."
        # every kind unticked
        for kind in ("City", "Challenge", "Cohort", "Partner"):
            page.page.uncheck(f"input[name=kind][value={kind}]")
        page.page.wait_for_function("() => document.getElementById('messages').textContent.startsWith('No kind')")
        assert page.message() == "No kind is ticked: tick cities (or another kind) under Kinds to draw them."
        assert page.nodes() == 0 and page.errors == []
    finally:
        page.close()
    # a store nothing has been imported into: its force layout was an internal error, said as such
    with serving(f"sqlite:///{tmp_path / 'empty.db'}", seed=False) as empty:
        page = Page(browser, empty, ready=said("empty"))
        try:
            assert page.nodes() == 0 and page.message() == (
                "This network is empty: nothing has been seeded or imported into the store yet (citypeers seed, or "
                "citypeers import DIR).")
            assert page.errors == []
        finally:
            page.close()


def test_a_node_selected_while_the_server_is_out_of_reach_says_its_facts_could_not_be_loaded(browser, served):
    """The node was highlighted and in the URL while the panel invited staff to "Click a node"."""
    page = Page(browser, served)
    try:
        page.page.route("**/graphql", lambda route: route.abort())
        page.select("Amsterdam", "amsterdam")  # found in view, without the server
        page.page.wait_for_function(SAID)
        assert page.message() == "The server could not be reached: check the connection and try again."
        assert page.page.inner_text("#panel h2") == "Amsterdam"
        assert "could not be loaded" in page.page.inner_text("#panel")
        page.page.unroute("**/graphql")
        page.select("Amsterdam", "amsterdam")
        page.page.wait_for_selector("#panel >> text=741,636")
        assert page.message() == ""
    finally:
        page.close()


def test_before_any_view_the_exports_are_off_and_a_server_out_of_reach_is_said_in_words(browser, served):
    page = Page(browser, served, setup=lambda p: p.route("**/graphql", lambda route: route.abort()), ready=SAID)
    try:
        assert page.message() == "The server could not be reached: check the connection and try again."
        assert page.page.is_disabled("#export-png") and page.page.is_disabled("#export-gexf")
        page.page.evaluate("for (const id of ['export-png', 'export-gexf']) document.getElementById(id).click()")
        page.page.unroute("**/graphql")
        page.change("#filter-country", "NL")
        page.page.wait_for_function(DRAWN, timeout=60_000)
        assert page.page.is_enabled("#export-png") and page.page.is_enabled("#export-gexf")
        assert page.uncaught() == []
    finally:
        page.close()


def test_a_colour_chosen_from_the_menu_colours_the_view_as_opening_the_page_with_it_does(browser, served):
    base = served
    colours = "window.__explorer.graph().mapNodes((n, a) => n + ' ' + a.color).sort()"
    for colour in ("cohort", "challenge"):
        opened = Page(browser, base, f"?colour={colour}")
        try:
            expected = opened.page.evaluate(colours)
            legend = opened.page.inner_text("#legend-items")
        finally:
            opened.close()
        assert sum(c.endswith("#d0d0d0") for c in expected) < len(expected) / 2  # the cities are coloured
        page = Page(browser, base)
        try:
            page.page.select_option("#colour", colour)
            page.page.wait_for_function(f"(expected) => JSON.stringify({colours}) === JSON.stringify(expected)",
                                        arg=expected, timeout=20_000)
            assert page.page.inner_text("#legend-items") == legend and f"colour={colour}" in page.page.url
            assert page.errors == []
        finally:
            page.close()


def test_the_legend_names_cohorts_that_colour_the_view_without_being_in_it(browser, served):
    base = served
    cohorts = {e["node"]["id"]: e["node"]["name"]
               for e in api(base, "{ cohorts(first: 100) { edges { node { id name } } } }")["cohorts"]["edges"]}
    page = Page(browser, base, "?colour=cohort&kinds=City")
    try:
        named = "(names) => [...document.querySelectorAll('#legend-items li')].every((li) => " \
                "names.some((n) => li.textContent.trim().startsWith(n + ' (')))"
        page.page.wait_for_function(named, arg=list(cohorts.values()), timeout=20_000)
        assert page.page.locator("#legend-items li").count() >= 1
        assert not any(i in page.page.inner_text("#legend-items") for i in cohorts)
        assert page.errors == []
    finally:
        page.close()


def test_expand_and_remove_change_the_view(browser, served):
    base = served
    page = Page(browser, base, "?country=NL")
    try:
        cities = page.nodes()
        page.select("Amsterdam", "amsterdam")
        page.page.click("text=Expand 2 hops")
        page.loaded(2)
        grown = page.nodes()
        assert grown > cities
        page.page.click("text=Remove from view")
        page.page.wait_for_function(f"() => Number(document.getElementById('count').dataset.nodes) === {grown - 1}")
        assert "removed=amsterdam" in page.page.url
    finally:
        page.close()


SUGGESTED = """query($id: ID!) { recommendPeers(cityId: $id, first: 5, excludeKnown: true) { score city { id } } }"""


def test_dashed_suggestions_match_recommend_peers_and_marking_one_met_makes_a_peer_link(browser, tmp_path):
    db = tmp_path / "m.db"
    with serving(f"sqlite:///{db}") as base:
        store = open_store(f"sqlite:///{db}")
        editor = create_token(store, name="test editor", role="editor")
        viewer = create_token(store, name="test viewer", role="viewer")
        store.close()
        page = Page(browser, base)
        try:
            page.select("Amsterdam", "amsterdam")
            page.page.wait_for_selector("#suggestions li")
            expected = api(base, SUGGESTED, {"id": "amsterdam"})["recommendPeers"]
            shown = page.page.evaluate("window.__explorer.suggestions()")
            assert [(s["target"], pytest.approx(s["score"])) for s in shown] == \
                [(m["city"]["id"], m["score"]) for m in expected]
            assert all(page.page.evaluate(f"window.__explorer.graph().hasNode({json.dumps(s['target'])})")
                       for s in shown)
            # hover the middle of the first dashed edge: its score, signals and reason
            middle = page.page.evaluate("""(t) => { const r = window.__explorer.renderer();
                const a = r.framedGraphToViewport(r.getNodeDisplayData('amsterdam'));
                const b = r.framedGraphToViewport(r.getNodeDisplayData(t));
                return [(a.x + b.x) / 2, (a.y + b.y) / 2]; }""", shown[0]["target"])
            box = page.page.locator("#graph").bounding_box()
            page.page.mouse.move(box["x"] + middle[0], box["y"] + middle[1])
            page.page.wait_for_selector("#tooltip:not([hidden])")
            tip = page.page.inner_text("#tooltip")
            assert f"score {shown[0]['score']:.3f}" in tip and shown[0]["reason"] in tip
            # without a token, or with one that only reads: said for staff, nothing written
            met = f"#suggestions li[data-peer='{shown[0]['target']}'] button.met"
            page.page.click(met)
            assert page.message() == "Marking met or dismissing needs an editor token: paste one in the Token " \
                                     "field at the top."
            page.change_token(viewer)  # the token change reloads the panel: click once it is drawn again
            page.page.click(met)
            page.page.wait_for_function("() => document.getElementById('messages').textContent.includes('only read')")
            assert page.message() == "Marking met or dismissing needs an editor token; this token can only read. " \
                                     "Paste an editor token in the Token field at the top."
            # a token refused on the way (revoked meanwhile): dropped and asked again without one, whose answer is
            # UNAUTHENTICATED, said as no token (FORBIDDEN's "this token can only read" was wrong there)
            page.settled()  # the viewer token's reload of the panel would otherwise send the revoked one too
            page.page.evaluate("sessionStorage.setItem('citypeers-token', 'cp_revoked')")
            page.page.click(met)
            page.page.wait_for_function("() => document.getElementById('messages').textContent.includes('paste one')")
            assert page.message() == "Marking met or dismissing needs an editor token: paste one in the Token " \
                                     "field at the top."
            page.change_token(editor)
            page.page.click(met)
            page.loaded(2)
            page.page.wait_for_function("(t) => { const s = window.__explorer.suggestions(); "
                                        "return s.length > 0 && !s.some((x) => x.target === t); }",
                                        arg=shown[0]["target"])
            # what was done stays on screen after the redraw
            assert page.message() == f"{shown[0]['name']} marked as met: now a peer link."
            kinds = page.page.evaluate("""(t) => { const g = window.__explorer.graph();
                return g.edges('amsterdam', t).map((e) => g.getEdgeAttribute(e, 'kind')); }""", shown[0]["target"])
            assert "PEERS_WITH" in kinds
            after = [s["target"] for s in page.page.evaluate("window.__explorer.suggestions()")]
            assert shown[0]["target"] not in after
            assert after == [m["city"]["id"] for m in api(base, SUGGESTED, {"id": "amsterdam"})["recommendPeers"]]
            # the refused token's 401, logged by the browser, and nothing else
            assert page.errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
        finally:
            page.close()


SCORE = """query($c: ID!, $g: [[ID!]!]!) { scoreGrouping(cohortId: $c, groups: $g) { objective } }"""


def test_dragging_a_city_between_learning_groups_shows_the_objective_the_server_computes(browser, served):
    base = served
    page = Page(browser, base)
    try:
        page.page.fill("#groups-cohort", "eu-digital-services")
        page.page.click("#groups-propose")
        page.page.wait_for_selector("#groups .group .chip")
        proposed = float(page.page.get_attribute("#groups", "data-objective"))
        best = api(base, '{ cohortGroups(cohortId: "eu-digital-services") { objective } }')
        best = best["cohortGroups"]["objective"]
        assert proposed == pytest.approx(best)
        chip = page.page.locator("#groups .group[data-group='0'] .chip").first
        moved = chip.get_attribute("data-city")
        chip.drag_to(page.page.locator("#groups .group[data-group='1']"))
        in_group = "(g, c) => document.querySelector(`#groups .group[data-group='${g}'] [data-city='${c}']`)"
        page.page.wait_for_function(f"() => document.querySelector('#groups').dataset.objective "
                                    f"&& ({in_group})(1, {json.dumps(moved)})")
        page.page.wait_for_function("() => document.querySelector('#groups').dataset.objective !== ''")
        groups = page.page.evaluate("window.__explorer.groups.groups.map((g) => g.map((c) => c.id))")
        assert moved in groups[1]
        server = api(base, SCORE, {"c": "eu-digital-services", "g": groups})["scoreGrouping"]["objective"]
        assert float(page.page.get_attribute("#groups", "data-objective")) == pytest.approx(server)
        assert f"Objective {server:.3f}" in page.page.inner_text("#groups")
        # the edited grouping is in the URL: another page opens on it, with the same objective
        again = Page(browser, base, page.page.url[page.page.url.index("?"):])
        try:
            again.page.wait_for_function(f"() => document.querySelector('#groups').dataset.objective "
                                         f"&& ({in_group})(1, {json.dumps(moved)})")
            assert float(again.page.get_attribute("#groups", "data-objective")) == pytest.approx(server)
        finally:
            again.close()
        # keyboard: the moved city's chip goes back with its group's number
        page.page.focus(f"#groups [data-city='{moved}']")
        page.page.keyboard.press("1")
        page.page.wait_for_function(f"() => ({in_group})(0, {json.dumps(moved)})"
                                    " && document.querySelector('#groups').dataset.objective !== ''")
        assert float(page.page.get_attribute("#groups", "data-objective")) == pytest.approx(best)
        with page.page.expect_download() as download:
            page.page.click("#groups-csv")
        raw = Path(download.value.path()).read_bytes()
        assert raw.startswith(codecs.BOM_UTF8)  # so that Excel reads the names as UTF-8, as the reports' CSVs
        rows = raw.decode("utf-8-sig").splitlines()
        assert rows[0] == "group,city_id,city_name,country" and len(rows) - 1 == sum(map(len, groups))
        assert page.errors == []
    finally:
        page.close()


def test_the_learning_groups_csv_keeps_a_formula_name_as_text(browser, tmp_path):
    """A city named like a spreadsheet formula (CSV injection) is written after a quote, as in the reports'
    CSVs (graph/cells.py), and reads back as the name it is."""
    db = tmp_path / "g.db"
    hostile = '=HYPERLINK("http://example.invalid","Riga")'
    with serving(f"sqlite:///{db}") as base:
        store = open_store(f"sqlite:///{db}")
        editor = create_token(store, name="test editor", role="editor")
        store.close()
        api(base, 'mutation($n: String!) { upsertCity(input: {id: "riga", name: $n, country: "LV"}) { __typename } }',
            {"n": hostile}, token=editor)
        page = Page(browser, base)
        try:
            page.page.fill("#groups-cohort", "eu-digital-services")
            page.page.click("#groups-propose")
            page.page.wait_for_selector("#groups .group .chip")
            with page.page.expect_download() as download:
                page.page.click("#groups-csv")
            raw = Path(download.value.path()).read_bytes()
            assert raw.startswith(codecs.BOM_UTF8)
            rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
            riga = [r for r in rows if r["city_id"] == "riga"]
            assert len(riga) == 1 and riga[0]["city_name"] == "'" + hostile
            assert unescape(riga[0]["city_name"]) == hostile
            assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
            assert page.errors == []
        finally:
            page.close()


def test_the_url_reopens_the_same_view(browser, served):
    base = served
    page = Page(browser, base)
    try:
        page.page.select_option("#layout", "geo")
        page.loaded(2)
        page.page.select_option("#colour", "country")
        page.page.fill("#filter-country", "NL")
        page.page.dispatch_event("#filter-country", "change")
        page.loaded(3)
        page.select("Amsterdam", "amsterdam")
        url = page.page.url
        shown = page.page.evaluate("window.__explorer.graph().nodes().sort()")
        positions = page.page.evaluate("window.__explorer.graph().getNodeAttributes('amsterdam').x")
    finally:
        page.close()
    assert all(part in url for part in ("layout=geo", "colour=country", "country=NL", "select=amsterdam"))
    again = Page(browser, base, url[url.index("?"):])
    try:
        again.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        assert again.page.evaluate("window.__explorer.graph().nodes().sort()") == shown
        assert again.page.evaluate("window.__explorer.graph().getNodeAttributes('amsterdam').x") == positions
        assert again.page.input_value("#layout") == "geo" and again.page.input_value("#colour") == "country"
        assert again.page.input_value("#filter-country") == "NL"
        assert "Amsterdam" in again.page.inner_text("#panel h2")
    finally:
        again.close()


def test_back_and_forward_step_through_the_views_and_a_reload_reopens_the_entry(browser, served):
    base = served
    page = Page(browser, base)
    graph = "window.__explorer.graph().nodes().sort()"
    try:
        whole, length = page.page.evaluate(graph), page.page.evaluate("history.length")
        page.select("Amsterdam", "amsterdam")  # a search: one entry
        selected = page.page.url
        page.change("#filter-country", "NL")  # a filter: one entry, the selection kept (it matches)
        page.loaded(2)
        filtered = page.page.url
        page.page.select_option("#colour", "country")  # colour-by: one entry
        page.page.wait_for_function("() => location.search.includes('colour=country')")
        coloured = page.page.url
        assert "select=amsterdam" in selected and "country=NL" not in selected
        assert "country=NL" in filtered and "select=amsterdam" in filtered and "colour=" not in filtered
        assert page.page.evaluate("history.length") == length + 3
        # what each entry draws: the filter's view, and the selected city's suggested peers brought into it
        suggested = {m["city"]["id"] for m in api(base, SUGGESTED, {"id": "amsterdam"})["recommendPeers"]}
        netherlands = sorted(view_ids(base, {"country": "NL"}) | suggested)
        assert sorted(set(whole) | suggested) == whole

        def shows(url: str, nodes: list[str], country: str, colour: str, selected: str | None) -> None:
            page.page.wait_for_function("(u) => location.href === u", arg=url)
            page.page.wait_for_function(f"(n) => JSON.stringify({graph}) === JSON.stringify(n)", arg=nodes,
                                        timeout=60_000)
            page.page.wait_for_function("(s) => (document.body.dataset.selected || null) === s", arg=selected)
            assert page.page.input_value("#filter-country") == country and page.page.input_value("#colour") == colour
            if selected:
                page.page.wait_for_function("() => document.querySelector('#panel h2')?.textContent === 'Amsterdam'")
            else:
                assert page.page.inner_text("#panel") == ""

        page.page.go_back()
        shows(filtered, netherlands, "NL", "community", "amsterdam")
        page.page.go_back()
        shows(selected, whole, "", "community", "amsterdam")
        page.page.go_back()
        shows(base + "/explore", whole, "", "community", None)
        page.page.go_forward()
        shows(selected, whole, "", "community", "amsterdam")
        page.page.go_forward()
        shows(filtered, netherlands, "NL", "community", "amsterdam")
        page.page.go_forward()
        shows(coloured, netherlands, "NL", "country", "amsterdam")
        # stepping made no entry of its own, and nothing reloads by itself afterwards
        loads = page.page.evaluate("window.__explorer.probe.loads")
        page.page.wait_for_timeout(1000)
        assert page.page.evaluate("history.length") == length + 3
        assert page.page.evaluate("window.__explorer.probe.loads") == loads
        # back to the filtered entry, then reloading its address: the same view
        page.page.go_back()
        shows(filtered, netherlands, "NL", "community", "amsterdam")
        page.page.reload(wait_until="networkidle")
        page.page.wait_for_function(DRAWN, timeout=60_000)
        shows(filtered, netherlands, "NL", "community", "amsterdam")
        assert page.errors == []
    finally:
        page.close()


FITS = """() => { const d = window.__explorer.renderer().getDimensions();
    const box = document.getElementById('graph').getBoundingClientRect();
    return Math.abs(d.width - box.width) < 1 && Math.abs(d.height - box.height) < 1; }"""


@pytest.mark.parametrize("width, height", [(390, 844), (768, 1024)])
def test_a_narrow_window_keeps_the_graph_usable_and_every_control_in_reach(browser, served, width, height):
    base = served
    page = Page(browser, base, viewport=(width, height))
    box = lambda selector: page.page.locator(selector).bounding_box()  # noqa: E731
    try:
        graph = box("#graph")
        assert graph["width"] >= min(width, 400) and graph["height"] >= 400  # the panels leave the graph its room
        assert page.page.evaluate("document.documentElement.scrollWidth") == width  # nothing runs off the side
        page.page.wait_for_function(FITS)  # sigma draws on the whole of its container
        # the filters, legend and view options: one click away, in a drawer over the graph
        assert not page.page.is_visible("#filter-country")
        page.page.click("#menu")
        assert page.page.get_attribute("#menu", "aria-expanded") == "true"
        assert page.page.is_visible("#legend-items") and page.page.is_visible("#export-png")
        page.page.select_option("#colour", "country")  # clicked as staff would: nothing covers it
        page.page.wait_for_function("() => location.search.includes('colour=country')")
        page.page.click("#filter-country")
        page.page.keyboard.type("NL")
        page.page.keyboard.press("Enter")
        page.page.dispatch_event("#filter-country", "change")
        page.loaded(2)
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, {"country": "NL"})
        page.page.click("#menu")
        assert not page.page.is_visible("#filter-country")
        # a selection: the panel sits beside or under the graph, which stays usable
        page.select("Amsterdam", "amsterdam")
        panel, graph = box("#panel"), box("#graph")
        assert page.page.is_visible("#panel h2") and "Amsterdam" in page.page.inner_text("#panel h2")
        assert panel["y"] >= graph["y"] + graph["height"] or panel["x"] >= graph["x"] + graph["width"]
        assert graph["width"] * graph["height"] >= 0.35 * width * height
        page.page.wait_for_function(FITS)  # resized with the container, not only with the window
        page.page.click("#panel >> text=Expand 1 hop")
        page.loaded(3)
        assert page.page.evaluate("document.documentElement.scrollWidth") == width
        assert page.errors == []
    finally:
        page.close()


# Where each dashed suggestion crosses the disc of another node: [peer, node, points along the line inside the
# disc (2 px in from its rim), viewport px], the longest crossing first.
CROSSINGS = """() => { const r = window.__explorer.renderer(); const out = [];
  for (const s of window.__explorer.suggestions()) {
    const p = r.framedGraphToViewport(r.getNodeDisplayData(s.source));
    const q = r.framedGraphToViewport(r.getNodeDisplayData(s.target));
    const length = Math.hypot(q.x - p.x, q.y - p.y);
    window.__explorer.graph().forEachNode((n) => {
      if (n === s.source || n === s.target) return;
      const d = r.getNodeDisplayData(n); const c = r.framedGraphToViewport(d); const rim = r.scaleSize(d.size) - 2;
      const t = ((c.x - p.x) * (q.x - p.x) + (c.y - p.y) * (q.y - p.y)) / (length * length);
      const off = Math.hypot(p.x + t * (q.x - p.x) - c.x, p.y + t * (q.y - p.y) - c.y);
      if (t <= 0 || t >= 1 || off >= rim) return;
      const half = Math.sqrt(rim * rim - off * off) / length; const points = [];
      for (let u = t - half; u <= t + half; u += 0.5 / length) {
        points.push([p.x + u * (q.x - p.x), p.y + u * (q.y - p.y)]);
      }
      out.push([s.target, n, points]); }); }
  return out.sort((a, b) => b[2].length - a[2].length); }"""


def test_the_dashed_suggestions_are_drawn_over_the_nodes_they_cross(browser, served):
    """They were drawn under every node: on the map of a real network (the GCoM signatories) the dimmed discs of
    thousands of cities hid a selected city's suggestions but for a few dashes."""
    base = served
    page = Page(browser, base, "?layout=geo&select=london")
    try:
        page.page.wait_for_selector("#suggestions li")
        page.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")
        peer, node, points = page.page.evaluate(CROSSINGS)[0]
        assert len(points) >= 24, (peer, node)  # 12 px of line over a node: at least one dash (7 px on, 5 off)
        box = page.page.locator("#graph").bounding_box()
        shot = page.page.screenshot()
        red = page.page.evaluate("""async ([b64, points]) => {
            const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0); const k = window.devicePixelRatio || 1;
            return points.filter(([x, y]) => { const [r, g, b] = ctx.getImageData(Math.round(x * k),
                Math.round(y * k), 1, 1).data; return r > 150 && g < 100 && b < 80; }).length; }""",
                                 [base64.b64encode(shot).decode(), [[box["x"] + x, box["y"] + y] for x, y in points]])
        assert red >= len(points) / 4, (peer, node, red, len(points))
        assert page.errors == []
    finally:
        page.close()


def _labels(page) -> list[dict]:
    """The label boxes of the last frame drawn, once the camera has stopped and a frame has been drawn."""
    page.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")
    page.page.evaluate("() => window.__explorer.renderer().refresh()")
    return page.page.evaluate("window.__explorer.labelBoxes()")


def test_a_small_view_names_its_nodes_and_no_label_covers_another(browser, served):
    """Labels were drawn only for nodes of 7 px or more: the seeds' 43-node view named a handful, and a
    community of challenges and two schools (9 nodes) none. A long name ran over its neighbour's ("Harvard
    Kennedy School" over "Housing")."""
    base = served
    page = Page(browser, base)
    try:
        boxes = _labels(page)
        assert len(boxes) >= 25, boxes  # of 43 nodes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                         or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
                assert apart, (a, b)
        sizes = page.page.evaluate("""() => { const g = window.__explorer.graph(), out = {};
            g.forEachNode((id, a) => { out[id] = a.size; }); return out; }""")
        largest = sorted(sizes, key=lambda n: -sizes[n])[:2]  # the largest nodes are named first
        assert set(largest) <= {b["key"] for b in boxes}, (largest, boxes)
        # and each label is whole on the canvas: one that would run past the right edge is written to the left
        # of its node (sigma cut it at the edge)
        width = page.page.evaluate("window.__explorer.renderer().getDimensions().width")
        assert all(b["x"] >= 0 and b["x"] + b["w"] <= width for b in boxes), (width, boxes)
    finally:
        page.close()
    page = Page(browser, base, "?community=2")
    try:
        assert page.nodes() == 9 and len(_labels(page)) == 9  # every node of the community named
    finally:
        page.close()
    page = Page(browser, base, "?select=amsterdam")
    try:
        page.page.wait_for_selector("#suggestions li")
        assert "amsterdam" in {b["key"] for b in _labels(page)}  # the selection is always named
    finally:
        page.close()


def test_png_and_gexf_exports(browser, served):
    base = served
    page = Page(browser, base, "?select=amsterdam")
    try:
        page.page.wait_for_selector("#suggestions li")
        page.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")
        with page.page.expect_download() as download:
            page.page.click("#export-png")
        png = Path(download.value.path()).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and non_blank(page.page, png) > 0.002
        # the labels are in it (the only near-black ink: nodes and links are lighter), and the dashed
        # suggestions, drawn from Amsterdam's centre, lie under its node as on screen
        assert dark(page.page, png) > 200
        centre = page.page.evaluate("""() => { const r = window.__explorer.renderer();
            return r.framedGraphToViewport(r.getNodeDisplayData('amsterdam')); }""")
        colour = page.page.evaluate("window.__explorer.graph().getNodeAttribute('amsterdam', 'color')")
        assert pixel(page.page, png, centre["x"], centre["y"]) == [int(colour[k:k + 2], 16) for k in (1, 3, 5)]
        with page.page.expect_download() as download:
            page.page.click("#export-gexf")
        graph = nx.read_gexf(download.value.path())
        assert graph.number_of_nodes() == page.nodes()
        assert graph.number_of_edges() == int(page.page.get_attribute("#count", "data-edges"))
        assert graph.nodes["amsterdam"]["label"] == "Amsterdam" and graph.nodes["amsterdam"]["country"] == "NL"
        # the layout, sizes and colours drawn (Gephi opens the file as it is on screen)
        drawn = page.page.evaluate("window.__explorer.graph().mapNodes((n, a) => [n, a.x, a.y, a.size])")
        for node, x, y, size in drawn:
            viz = graph.nodes[node]["viz"]
            assert (viz["position"]["x"], viz["position"]["y"], viz["size"]) == pytest.approx((x, y, size))
        assert "size" not in graph.nodes["amsterdam"]
        assert page.errors == []
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "gcom").is_dir(), reason="needs ../shared/data/gcom")
def test_a_real_network_of_thousands_of_cities_for_the_readme(browser, tmp_path):
    """GCoM signatories (CC BY 4.0): the README's screenshot, taken here and checked to be non-blank."""
    from cli import main

    assert main(["data", "gcom", "--out", str(tmp_path / "gcom")]) == 0
    db = f"sqlite:///{tmp_path / 'gcom.db'}"
    assert main(["--store", db, "import", str(tmp_path / "gcom")]) == 0
    with serving(db) as base:
        cities = len(view_ids(base, {"kinds": ["City"]}))
        assert cities > 5000
        page = Page(browser, base, "?layout=geo&colour=country&size=population&kinds=City,Partner")
        try:
            assert page.nodes() == len(view_ids(base, {"kinds": ["City", "Partner"]}))
            shot = page.page.screenshot()
            assert non_blank(page.page, shot) > 0.05
            # the README's picture is refreshed on request (CITYPEERS_SCREENSHOTS=1 make test); otherwise the
            # suite leaves the checkout as it found it
            target = ROOT / "docs" if os.environ.get("CITYPEERS_SCREENSHOTS") else tmp_path
            (target / "explorer.png").write_bytes(shot)
            assert page.errors == [] and page.outside == []
        finally:
            page.close()


def test_a_network_past_the_limit_opens_as_an_overview_that_drills_into_a_country(browser, served):
    base = served
    total = len(view_ids(base))
    limit = total - 5
    page = Page(browser, base, f"?limit={limit}")
    try:
        overview = api(base, "query($n: Int!) { networkView(first: $n) { groupedBy totalCount hiddenCount "
                       "nodes { id } } }", {"n": limit})["networkView"]
        assert overview["groupedBy"] == "COUNTRY"
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == {n["id"] for n in overview["nodes"]}
        status = page.page.inner_text("#count")
        assert f"{overview['totalCount']} cities" in status and f"{overview['hiddenCount']} nodes hidden" in status
        # a click on the Netherlands opens it, on the map (the defaults for a large network)
        xy = page.page.evaluate("""() => { const r = window.__explorer.renderer();
            return r.framedGraphToViewport(r.getNodeDisplayData('country:NL')); }""")
        box = page.page.locator("#graph").bounding_box()
        page.page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        page.loaded(2)
        assert page.page.input_value("#filter-country") == "NL" and page.page.input_value("#layout") == "geo"
        assert set(page.page.evaluate("window.__explorer.graph().nodes()")) == view_ids(base, {"country": "NL"})
        assert page.errors == []
    finally:
        page.close()


def test_an_overview_opened_on_the_map_default_is_drawn_at_the_map_positions_its_address_reopens(browser, served):
    """The overview was drawn at the force layout's positions (the first request's) under Layout "map" and an
    address saying layout=geo, which reloaded drew on the map: two pictures for one link."""
    base = served
    limit = len(view_ids(base)) - 5
    on_map = api(base, "query($n: Int!) { networkView(first: $n, layout: GEO) { nodes { id x y } } }",
                 {"n": limit})["networkView"]["nodes"]
    page = Page(browser, base, f"?limit={limit}")
    try:
        assert page.page.input_value("#layout") == "geo" and "layout=geo" in page.page.url
        drawn = page.page.evaluate("window.__explorer.graph().mapNodes((n, a) => [n, a.x, a.y])")
        assert sorted(drawn) == sorted([n["id"], pytest.approx(n["x"]), pytest.approx(n["y"])] for n in on_map)
        assert page.errors == []
    finally:
        page.close()


def test_the_overview_is_coloured_by_country_with_its_legend(browser, served):
    base = served
    page = Page(browser, base, f"?limit={len(view_ids(base)) - 5}")
    try:
        assert page.page.input_value("#colour") == "country"
        colours = page.page.evaluate("window.__explorer.graph().mapNodes((n, a) => a.color)")
        assert len(set(colours)) > 3 and "#d0d0d0" not in colours
        # a row per country (the rest as "other"), each counting the cities its node stands for
        rows = [li.strip().rsplit(" (", 1) for li in page.page.locator("#legend-items li").all_inner_texts()]
        countries = {n[len("country:"):] for n in page.page.evaluate("window.__explorer.graph().nodes()")}
        assert len(rows) > 3 and {label for label, _ in rows} <= countries | {"other"}
        cities = page.page.evaluate("window.__explorer.meta().totalCount")
        assert sum(int(count.rstrip(")")) for _, count in rows) == cities
    finally:
        page.close()


def test_a_city_opened_from_search_on_the_overview_is_shown_in_its_country(browser, served):
    base = served
    page = Page(browser, base, f"?limit={len(view_ids(base)) - 5}")
    try:
        page.select("Amsterdam", "amsterdam")
        assert page.page.input_value("#filter-country") == "NL"
        suggested = {s["target"] for s in page.page.evaluate("window.__explorer.suggestions()")}
        drawn = set(page.page.evaluate("window.__explorer.graph().nodes()"))
        assert drawn == view_ids(base, {"country": "NL"}) | suggested
        assert page.page.evaluate("window.__explorer.probe.loads") == 2 and "expand=" not in page.page.url
        assert "Amsterdam" in page.page.inner_text("#panel h2")
        assert page.errors == []
    finally:
        page.close()
    # a node with no country to open (a challenge) is said to be out of reach, once: the page does not reload
    page = Page(browser, base, f"?limit={len(view_ids(base)) - 5}&select=digital-services", ready=SAID)
    try:
        assert page.message() == "Digital public services is in no country of this overview: filter the view to " \
                                 "find it."
        page.page.wait_for_timeout(1000)
        assert page.page.evaluate("window.__explorer.probe.loads") == 1 and "select=" not in page.page.url
    finally:
        page.close()


def test_a_country_past_the_limit_draws_its_best_connected_nodes_and_counts_the_rest(browser, served):
    # one country cannot be split by country: past the limit the page draws its best-connected nodes (the
    # server's choice) and says how many are hidden, instead of an overview of one node
    base = served
    whole = view_ids(base, {"country": "NL"})
    limit = len(whole) - 3
    page = Page(browser, base, f"?limit={limit}&country=NL")
    try:
        capped = api(base, "query($n: Int!) { networkView(filters: {country: \"NL\"}, first: $n, aggregateBy: null) "
                     "{ groupedBy hiddenCount nodes { id } } }", {"n": limit})["networkView"]
        assert capped["groupedBy"] is None and capped["hiddenCount"] == 3
        drawn = set(page.page.evaluate("window.__explorer.graph().nodes()"))
        assert drawn == {n["id"] for n in capped["nodes"]} and drawn < whole
        assert "3 matching nodes hidden (the best connected are drawn" in page.page.inner_text("#count")
        assert page.errors == []
    finally:
        page.close()


def test_a_selection_frames_the_city_and_every_suggested_peer(browser, served):
    """The camera takes in the selected city and its suggested peers, never closer than 0.35; until 2026-12-07
    it zoomed to 0.35 on the city alone, and 4 or 5 of the seeds' cities' five suggested peers were off the
    canvas, their dashed lines running out of it."""
    page = Page(browser, served)
    try:
        for name, city_id in (("Helsinki", "helsinki"), ("Amsterdam", "amsterdam"), ("Madrid", "madrid")):
            page.select(name, city_id)
            seen = page.page.evaluate("""(id) => {
                const e = window.__explorer, r = e.renderer(), { width, height } = r.getDimensions();
                const ids = [id, ...e.suggestions().map((s) => s.target)];
                return { ratio: r.getCamera().ratio, count: ids.length, outside: ids.filter((n) => {
                    const v = r.framedGraphToViewport(r.getNodeDisplayData(n));
                    return v.x < 0 || v.x > width || v.y < 0 || v.y > height; }) };
            }""", city_id)
            assert seen["count"] == 6 and seen["outside"] == [] and seen["ratio"] >= 0.35, (name, seen)
        assert page.uncaught() == []
    finally:
        page.close()


def test_a_link_expanding_an_id_with_a_colon_or_by_bad_hops(browser, tmp_path):
    """Ids may hold colons ("nl:utrecht"); a link's expansion "nl:utrecht:1" was split at the first colon,
    asked for hops null and drew nothing but GraphQL's error. An expansion by hops other than 1 or 2 left the
    page blank with "hops 999 is not supported"; it is now left out, said, and the rest drawn."""
    from cli import main

    db = tmp_path / "c.db"
    with serving(f"sqlite:///{db}") as base:
        bundle = tmp_path / "b.jsonl"
        bundle.write_text('{"kind": "City", "id": "nl:utrecht", "name": "Utrecht", "country": "NL", '
                          '"latitude": 52.09, "longitude": 5.12}\n'
                          '{"kind": "FACES", "source": "nl:utrecht", "target": "digital-services"}\n', encoding="utf-8")
        assert main(["--store", f"sqlite:///{db}", "import", str(bundle), "--no-tune"]) == 0
        page = Page(browser, base, "?cohort=bhcli-class-1&expand=nl:utrecht:1,amsterdam:999&select=nl:utrecht",
                    ready="() => window.__explorer && window.__explorer.probe.rendered > 0")
        try:
            page.page.wait_for_function("() => document.body.dataset.selected === 'nl:utrecht'")
            graph_has = "(id) => window.__explorer.graph().hasNode(id)"
            assert page.page.evaluate(graph_has, "nl:utrecht")
            assert page.page.evaluate(graph_has, "digital-services")  # its neighbourhood, outside the cohort
            assert "Expansion 'amsterdam:999' left out: a link expands a node by 1 or 2 hops ('id:1' or 'id:2')." \
                in page.message()
            assert "expand=nl%3Autrecht%3A1" in page.page.url and "999" not in page.page.url
            assert "Utrecht" in page.page.inner_text("#panel-title")
            page.page.click("#panel button:has-text('Expand 2 hops')")
            page.page.wait_for_function("() => location.search.includes('nl%3Autrecht%3A2')")
            assert "Variable" not in page.message() and page.uncaught() == []
        finally:
            page.close()


def test_escape_leaves_no_stale_tooltip_focus_or_camera_and_search_names_countries(browser, served):
    """Four small things a walk found (2026-12-07): a city in view was suggested without its country (GCoM's
    two Bergens read alike); Escape over a dashed edge left its tooltip on screen until the mouse moved, and
    dropped the focus to the page's top; a new layout after a selection showed a zoomed-in piece of itself."""
    page = Page(browser, served)
    try:
        page.page.evaluate("document.activeElement?.blur()")
        page.page.keyboard.press("/")
        page.page.keyboard.type("Amsterd")
        page.page.wait_for_selector("#search-list li >> text=Amsterdam")
        assert page.page.inner_text("#search-list li").startswith("Amsterdam (NL) ")
        page.page.keyboard.press("Enter")
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
        page.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")
        target = page.page.evaluate("window.__explorer.suggestions()[0].target")
        middle = page.page.evaluate("""(t) => { const r = window.__explorer.renderer();
            const a = r.framedGraphToViewport(r.getNodeDisplayData('amsterdam'));
            const b = r.framedGraphToViewport(r.getNodeDisplayData(t));
            return [(a.x + b.x) / 2, (a.y + b.y) / 2]; }""", target)
        box = page.page.locator("#graph").bounding_box()
        page.page.mouse.move(box["x"] + middle[0], box["y"] + middle[1])
        page.page.wait_for_selector("#tooltip:not([hidden])")
        page.page.keyboard.press("Escape")
        page.page.wait_for_function("() => !document.body.dataset.selected")
        assert page.page.locator("#tooltip").is_hidden()
        assert page.page.evaluate("document.activeElement.id") == "search"
        page.page.evaluate("document.activeElement?.blur()")
        page.page.select_option("#layout", "geo")
        page.loaded(2)
        page.page.wait_for_function("() => !window.__explorer.renderer().getCamera().isAnimated()")
        camera = page.page.evaluate("(({ x, y, ratio }) => ({ x, y, ratio }))(window.__explorer.renderer()"
                                    ".getCamera().getState())")
        assert camera == {"x": 0.5, "y": 0.5, "ratio": 1}
        assert page.uncaught() == []
    finally:
        page.close()


def test_suggestions_typed_just_after_the_search_lost_the_focus_stay(browser, served):
    """The list closed 100 ms after the search lost the focus, even when it had it again and was typed in:
    the new suggestions vanished and Enter found none (met under load once Escape left the focus there)."""
    page = Page(browser, served)
    try:
        page.page.focus("#search")
        page.page.evaluate("document.activeElement.blur()")
        page.page.keyboard.press("/")
        page.page.keyboard.insert_text("Amsterdam")  # one input event, within the 100 ms
        page.page.wait_for_function("() => document.getElementById('search-list').dataset.answered === 'amsterdam'")
        page.page.wait_for_timeout(300)  # past the blur's 100 ms
        assert page.page.locator("#search-list li").count() >= 1
        page.page.keyboard.press("Enter")
        page.page.wait_for_function("() => document.body.dataset.selected === 'amsterdam'")
    finally:
        page.close()


def test_the_colour_menu_is_off_while_learning_groups_colour_the_nodes(browser, served):
    """With groups drawn, choosing another colour changed the menu, the URL and the history, and not one node
    (the groups' colours win): the menu is now off meanwhile and says why."""
    page = Page(browser, served, "?groups=eu-digital-services")
    try:
        page.page.wait_for_selector("#groups .group .chip")
        assert page.page.is_disabled("#colour") and "clear them" in page.page.get_attribute("#colour", "title")
        assert page.page.inner_text("#legend-title") == "Colour: learning group"
        page.page.click("#groups-clear")
        page.page.wait_for_function("() => !document.getElementById('colour').disabled")
        assert page.page.get_attribute("#colour", "title") == "" and page.uncaught() == []
    finally:
        page.close()


def test_on_a_server_that_needs_a_token_the_lists_fill_once_one_is_pasted(browser, tmp_path, monkeypatch):
    """The cohort and challenge lists were filled once as the page opened, before any token: refused there,
    they stayed empty after a token was pasted, until a reload."""
    monkeypatch.setenv("CITYPEERS_READS", "token")
    db = tmp_path / "t.db"
    with serving(f"sqlite:///{db}") as base:
        store = open_store(f"sqlite:///{db}")
        viewer = create_token(store, name="test viewer", role="viewer")
        store.close()
        page = Page(browser, base, ready="() => document.getElementById('messages').textContent !== ''")
        try:
            assert page.page.locator("#cohorts option").count() == 0
            page.page.fill("#token", viewer)
            page.page.evaluate("document.getElementById('token').blur()")
            page.page.wait_for_function("() => window.__explorer.probe.rendered > 0")
            page.page.wait_for_function("() => document.querySelectorAll('#cohorts option').length >= 2"
                                        " && document.querySelectorAll('#challenges option').length >= 2")
            assert "eu-digital-services" in page.page.evaluate(
                "[...document.querySelectorAll('#cohorts option')].map((o) => o.value)")
        finally:
            page.close()


def test_clearing_groups_clears_the_message_about_them_and_csv_without_groups_says_so(browser, served):
    """After a refused proposal, Clear left "The groups drawn are still the ones proposed before" on screen
    with nothing drawn; CSV with no groups did nothing, and said nothing."""
    page = Page(browser, served, "?groups=eu-digital-services")
    try:
        page.page.wait_for_selector("#groups .group .chip")
        page.page.fill("#groups-cohort", "nope")  # an error about no field: clearing a field's error kept it
        page.page.click("#groups-propose")
        page.page.wait_for_function("() => document.getElementById('messages').textContent.includes('nope')")
        assert "The groups drawn are still the ones proposed before" in page.message()
        page.page.click("#groups-clear")
        page.page.wait_for_function("() => !document.querySelector('#groups .group')")
        assert "still the ones" not in page.message()
        page.page.click("#groups-csv")
        assert page.message() == "No learning groups are drawn to export: propose groups first."
    finally:
        page.close()


def test_expanding_one_node_keeps_the_other_expansions(browser, served):
    """Each expansion is its own entry in the URL; a new one replaced the node's own entry only. (A change of
    this session, splitting entries at their last colon, briefly dropped every other entry too.)"""
    page = Page(browser, served, "?cohort=bhcli-class-1&expand=riga:1")
    try:
        assert page.page.evaluate("(id) => window.__explorer.graph().hasNode(id)", "riga")
        page.page.evaluate("document.activeElement?.blur()")
        page.page.keyboard.press("/")
        page.page.keyboard.type("Madrid")
        page.page.wait_for_selector("#search-list li >> text=Madrid")
        page.page.keyboard.press("Enter")
        page.page.wait_for_function("() => document.body.dataset.selected === 'madrid'")
        expanded = page.page.evaluate("new URLSearchParams(location.search).get('expand')").split(",")
        assert sorted(expanded) == ["madrid:1", "riga:1"]
        page.page.click("#panel button:has-text('Expand 2 hops')")
        page.page.wait_for_function("() => new URLSearchParams(location.search).get('expand').includes('madrid:2')")
        expanded = page.page.evaluate("new URLSearchParams(location.search).get('expand').split(',')")
        assert sorted(expanded) == ["madrid:2", "riga:1"] and page.uncaught() == []
    finally:
        page.close()
