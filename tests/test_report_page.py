"""A cohort report's index.html in a real headless Chromium (Debian's, driven by Playwright), as staff open it:
on a desktop and on a phone, with nothing fetched, and readable by a screen reader."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from cli import main
from graph.store import open_store
from seeds import load_seeds
from tests import test_explorer_page, test_report_names
from tests.test_report_names import HEBREW, TOPICS

CHROMIUM = test_explorer_page.CHROMIUM
browser = test_explorer_page.browser  # the fixture: one headless Chromium a module
hebrew_report = test_report_names.hebrew_report  # a cohort with Hebrew names
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
COHORT = "eu-digital-services"

# every element's own text against the background it is drawn on (WCAG's relative luminance and contrast ratio)
CONTRAST = """() => {
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const back = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < 4.5) low.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""
HEADINGS = "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1]))"
UNNAMED = """() => [...document.querySelectorAll('svg')].filter((s) => !s.closest('[aria-hidden=true]')
  && (s.getAttribute('role') !== 'img' || !(s.getAttribute('aria-label') || '').trim())).length"""
OVERFLOW = "() => [window.innerWidth, document.documentElement.scrollWidth]"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The seeds' cohort report, and the same with k 3 compared with it (so it marks what is new)."""
    folder = tmp_path_factory.mktemp("report-page")
    url = f"sqlite:///{folder / 'seeds.db'}"
    with open_store(url) as store:
        load_seeds(store)
    for name, extra in (("old", []), ("new", ["--k", "3", "--compare", str(folder / "old")])):
        assert main(["--store", url, "report", "cohort", COHORT, "--out", str(folder / name), "--format", "html,json",
                     *extra]) == 0
    return [folder / name / "index.html" for name in ("old", "new")]


@pytest.mark.parametrize(("width", "phone"), [(1280, False), (390, True)])
def test_the_page_fits_the_screen_fetches_nothing_and_reads_out(browser, pages, width, phone):
    """On a phone the page is laid out at the phone's width (without a viewport it was laid out 980 px wide and
    shrunk to a third), nothing runs past the right edge, no request leaves the file, every figure and bar is an
    image with a text, headings go down one level at a time, and text has a contrast of at least 4.5:1."""
    context = browser.new_context(viewport={"width": width, "height": 800}, is_mobile=phone, has_touch=phone)
    try:
        for path in pages:
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda r, requests=requests: requests.append(r.url))
            page.goto(path.as_uri())
            assert requests == [path.as_uri()]
            inner, scroll = page.evaluate(OVERFLOW)
            assert inner == width and scroll <= width, (inner, scroll)
            assert page.evaluate(UNNAMED) == 0
            levels = page.evaluate(HEADINGS)
            assert levels[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
            assert page.locator("table th").count() == page.locator("table th[scope]").count() > 0
            assert page.evaluate(CONTRAST) == []
            page.close()
        assert "new" in pages[1].read_text(encoding="utf-8")  # the compared page shows its marks
    finally:
        context.close()


# each occurrence of `first` followed by `second` in a list (a separator, perhaps a count, between them), as the
# page draws them: [the text between, first's left, second's left, first's top, second's top]
ORDER = """([first, second]) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT,
    { acceptNode: (n) => n.parentElement.closest('svg, style') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  const nodes = []; let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([text.length, n]); text += n.data; }
  const range = (start, length) => {  // a name lies within one text node
    const [offset, node] = nodes.findLast(([o]) => o <= start);
    const r = document.createRange(); r.setStart(node, start - offset); r.setEnd(node, start - offset + length);
    return r.getBoundingClientRect();
  };
  const found = [];
  for (let a = text.indexOf(first); a >= 0; a = text.indexOf(first, a + 1)) {
    const b = text.indexOf(second, a + first.length);
    if (b < 0 || b - a - first.length > 12 || !/[;,]/.test(text.slice(a, b))) continue;  // not the next row
    const [ra, rb] = [range(a, first.length), range(b, second.length)];
    found.push([text.slice(a + first.length, b), ra.left, rb.left, ra.top, rb.top]);
  }
  return found;
}"""


def test_names_in_right_to_left_scripts_keep_their_order_in_lists(browser, hebrew_report):
    """Two Hebrew (or Arabic) names side by side in a list ("עכו; חיפה") are one right-to-left run to the
    bidirectional algorithm, the separator between them included, so the browser drew them swapped: the
    second name first. Each name is isolated (<bdi>), so a list reads in the document's order."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto((hebrew_report / "index.html").as_uri())
        cities, topics = page.evaluate(ORDER, list(HEBREW.values())), page.evaluate(ORDER, list(TOPICS.values()))
    finally:
        page.close()
    # the cities over the cap, the groups table, the partner's reason, Nazareth's group-mates
    assert [gap for gap, *_ in cities] == [": 2; ", "; ", ", ", "; "], cities
    topics_between = Counter(gap for gap, *_ in topics)  # each city's challenges; the reasons; what groups share
    assert topics_between["; "] == 3 and topics_between[", "] >= 6 and topics_between[" (3 of 3); "] == 4, topics
    for gap, first, second, first_top, second_top in cities + topics:
        assert first_top == second_top and first < second, (gap, first, second)
