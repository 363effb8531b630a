"""The report's network and map figures: group colours of distinct hues with a legend, city names that stay
inside the plot without overlapping, and ids of each figure's own in the page."""

from __future__ import annotations

import colorsys
import itertools
import logging
import math
import random
import re
from collections import Counter
from html.parser import HTMLParser

import matplotlib
import networkx as nx
import pytest
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

from cli import main
from graph.store import open_store
from reports import figures
from reports.pdf import write_pdf
from seeds import load_seeds


def hue(colour: str) -> float:
    return colorsys.rgb_to_hsv(*matplotlib.colors.to_rgb(colour))[0]


def apart(a: float, b: float) -> float:
    return min(abs(a - b), 1 - abs(a - b))  # hue is an angle


def test_group_colours_differ_in_hue_and_grey_means_no_group():
    colours = [figures.colour(g) for g in range(1, figures.LEGEND_UP_TO + 1)]
    assert len(set(colours)) == len(colours) and figures.colour(None) not in colours
    assert all(apart(hue(a), hue(b)) >= 0.05 for a, b in itertools.pairwise(colours))  # neighbours: other hues
    first = colours[:9]  # tab10's hues
    assert all(apart(hue(a), hue(b)) > 0.02 for a, b in itertools.combinations(first, 2))
    assert all(max(matplotlib.colors.to_rgb(c)) - min(matplotlib.colors.to_rgb(c)) > 0.1 for c in colours)  # no grey


def cohort(n: int, groups: int, spread: float, seed: int = 1) -> list[dict]:
    """`n` cities in `groups` groups, clustered within `spread` degrees, each linked to its next three."""
    rng = random.Random(seed)
    names = ["Santa Cruz de Tenerife", "Dún Laoghaire", "Sheffield", "Rotterdam", "Amsterdam", "Nottingham",
             "Coventry", "Antwerp", "Thessaloniki", "Peristeri"]
    return [{"id": f"c{i:02d}", "name": f"{names[i % len(names)]} {i}", "group": i % groups + 1,
             "latitude": 50 + rng.uniform(-spread, spread), "longitude": 5 + rng.uniform(-spread, spread),
             "peers": [{"id": f"c{(i + d) % n:02d}"} for d in (1, 2, 3)]} for i in range(n)]


@pytest.mark.parametrize(("n", "spread", "geographic", "limit"), [
    (26, 6.0, True, figures.MAP_LABELS), (60, 8.0, True, figures.MAP_LABELS), (40, 0, False, figures.NETWORK_LABELS),
    (60, 0, False, figures.NETWORK_LABELS)])
def test_names_stay_inside_the_plot_and_clear_of_each_other(n, spread, geographic, limit):
    cities = cohort(n, 5, spread)
    graph = nx.Graph()
    graph.add_nodes_from(c["id"] for c in cities)
    graph.add_edges_from(figures._links(cities))
    graph.add_edges_from([("c00", f"c{i:02d}") for i in range(4, 20)])  # c00: the best connected
    if geographic:
        pos = {c["id"]: (c["longitude"], c["latitude"]) for c in cities}
    else:
        pos = nx.spring_layout(graph, seed=0, k=1.5 / math.sqrt(n))
    fig = figures.places(cities, graph, pos, "t", labels=limit, aspect=1.5 if geographic else None)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    frame = ax.get_window_extent()
    names = {c["name"] for c in cities}
    texts = [t for t in ax.texts if t.get_text() in names]
    boxes = [t.get_window_extent() for t in texts]
    assert 5 <= len(texts) <= limit
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert "Santa Cruz de Tenerife 0" in {t.get_text() for t in texts}  # the best connected is named first


def test_the_network_and_the_map_have_a_legend_of_the_groups():
    for svg in (figures.network(cohort(12, 3, 4.0), 0), figures.map_figure(cohort(12, 3, 4.0))):
        assert 'id="legend_1"' in svg and re.search(r">group</text>", svg)
        assert [int(g) for g in re.findall(r">(\d+)</text>", svg.split('id="legend_1"')[1])] == [1, 2, 3]
    many = figures.LEGEND_UP_TO + 1  # more groups than colours: the colours repeat and no legend claims otherwise
    assert 'id="legend_1"' not in figures.network(cohort(many, many, 4.0), 0)


def test_names_are_measured_as_wide_as_they_are_drawn():
    """The SVG's text is drawn by the browser or WeasyPrint at the font's own widths; measured hinted, a name was
    ~3% narrower to matplotlib, so a long one it placed just inside the map ran past its edge and was cut off (a
    GCoM joint signatory's name on the Piemonte coordinator's map)."""
    cities = cohort(26, 5, 6.0)
    graph = nx.Graph()
    graph.add_edges_from(figures._links(cities))
    fig = figures.places(cities, graph, {c["id"]: (c["longitude"], c["latitude"]) for c in cities}, "t",
                         labels=figures.MAP_LABELS, aspect=1.5)
    names = [t for t in fig.axes[0].texts if t.get_text() in {c["name"] for c in cities}]
    assert len(names) >= 5
    for text in names:
        drawn = TextPath((0, 0), text.get_text(), size=text.get_fontsize(), prop=FontProperties(family="DejaVu Sans"))
        with matplotlib.rc_context(figures.STYLE):  # as figures measures them
            measured = text.get_window_extent().width * 72 / fig.dpi  # points, as the font size
        assert measured >= drawn.get_extents().x1 - 0.05, (text.get_text(), measured, drawn.get_extents().x1)



class Ids(HTMLParser):
    """A page's ids and its references to ids (`url(#..)`, `href="#.."`), each with the figure it is in: the
    outermost <svg>, numbered from 1, or 0 outside every figure."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.svgs = 0, 0
        self.ids: list[tuple[str, int]] = []
        self.references: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "svg":
            self.svgs += self.depth == 0
            self.depth += 1
        where = self.svgs if self.depth else 0
        for name, value in attrs:
            if name == "id":
                self.ids.append((value, where))
            refs = re.findall(r"url\(#([^)]+)\)", value or "")
            if name.endswith("href") and (value or "").startswith("#"):
                refs.append(value[1:])
            self.references += [(ref, where) for ref in refs]

    def handle_startendtag(self, tag: str, attrs: list) -> None:  # <use/>, <path/>: no end tag follows
        self.handle_starttag(tag, attrs)
        self.depth -= tag == "svg"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "svg"


@pytest.fixture(scope="module")
def seeds_page(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("figures")
    url = f"sqlite:///{folder / 'seeds.db'}"
    with open_store(url) as store:
        load_seeds(store)
    assert main(["--store", url, "report", "cohort", "eu-digital-services", "--out", str(folder / "r"),
                 "--format", "html"]) == 0
    return (folder / "r" / "index.html").read_text(encoding="utf-8")


def test_each_figure_has_ids_of_its_own(seeds_page, caplog, tmp_path):
    """matplotlib numbers every figure's ids from 1 and names clip paths and markers by their content: four
    figures in one page repeated ids (`figure_1` four times), so the page was not valid HTML, WeasyPrint said
    "Anchor defined twice" 149 times, and a figure's reference could resolve to another figure's definition."""
    ids = Ids()
    ids.feed(seeds_page)
    assert ids.svgs > 4 and len(ids.references) > 100  # four figures, and the bars (SVG without ids)
    named = [i for i, _ in ids.ids]
    assert len(named) == len(set(named)), [i for i, n in Counter(named).items() if n > 1][:5]
    where = dict(ids.ids)
    assert all(where.get(ref) == figure for ref, figure in ids.references), \
        [(ref, figure, where.get(ref)) for ref, figure in ids.references if where.get(ref) != figure][:5]
    front = re.sub(r'<section class="city[ "].*?</section>', "", seeds_page, flags=re.S)  # the figures, faster
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf(front, tmp_path / "front.pdf")
    assert not [r for r in caplog.records if "Anchor defined twice" in r.getMessage()]


def test_a_font_family_matplotlib_does_not_know_is_not_logged_on_every_text(monkeypatch, caplog):
    """1,451 lines of "findfont: Font family 'Noto Sans' not found." for one cohort report where matplotlib's
    font cache predated Noto's install; the family is a fallback, and missing characters are said once."""
    style = {**figures.STYLE, "font.family": ["No Such Family Sans", "DejaVu Sans"]}
    monkeypatch.setattr(figures, "STYLE", style)
    caplog.set_level(logging.DEBUG, logger="matplotlib.font_manager")
    svg = figures.exposure_histogram([{"times": 1, "cities": 3}, {"times": 2, "cities": 1}], cap=2)
    assert "<svg" in svg
    logged = [r.getMessage() for r in caplog.records if r.name == "matplotlib.font_manager"]
    assert not [m for m in logged if m.startswith("findfont: Font family")], logged[:3]


def test_names_that_need_shaping_are_drawn_as_laid_out_paths():
    """WeasyPrint draws SVG text letter by letter, so report.pdf's figures showed חיפה backwards and القاهرة
    unjoined (browsers drew the same SVG right). A figure holding such a name is now drawn as paths that
    matplotlib laid out (libraqm): the glyphs of חיפה come left to right as ה פ י ח. One without keeps its text."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    haifa = [{"id": "haifa", "name": "חיפה", "latitude": 32.8, "longitude": 35.0, "group": 1, "peers": []}]
    svg = figures.map_figure(haifa)
    dejavu = FT2Font(font_manager.findfont("DejaVu Sans"))
    glyphs = {format(dejavu.get_char_index(ord(ch)), "x"): ch for ch in "חיפה"}
    drawn = [glyphs[g] for g in re.findall(r'<use xlink:href="#DejaVuSans-([0-9a-f]+)"', svg) if g in glyphs]
    assert "<text" not in svg and "".join(drawn) == "הפיח"  # visual order: the reverse of the logical
    latin = [{**haifa[0], "id": "delft", "name": "Delft"}]
    assert re.search(r"<text[^>]*>Delft</text>", figures.map_figure(latin))
