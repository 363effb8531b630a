"""The report's figures, drawn with matplotlib (no pyplot: no global state) and returned as inline SVG text.

Reproducible: SVG ids come from a fixed hash salt, no date is written, and layouts are seeded, so the same
data give the same bytes. Text stays text (`svg.fonttype: none`) in the fonts the page names (DejaVu Sans,
Noto Sans), which cover the accents of Reykjavík, Kraków, Zürich and Łódź, unless a figure holds a name that
needs shaping (Hebrew, Arabic, Devanagari, Thai: `shaped`), which is drawn as paths (`_svg`); it is never read
as mathtext (`text.parse_math: False`), so a name with dollar signs is drawn as written.

The network and the map colour cities by learning group, from qualitative palettes of distinct hues (tab10,
then Dark2, then tab20's light shades; grey is kept for "no group"), with a legend of group numbers. Names
are drawn for the best-connected cities (most suggested links) whose names fit: inside the plot and clear
of names already drawn, up to NETWORK_LABELS on the network and MAP_LABELS on the map, where cities cluster.
"""

from __future__ import annotations

import io
import logging
import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.text
import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

# DejaVu Sans, then Noto Sans, then Noto's fonts of scripts neither has (fonts-noto-core; matplotlib falls back
# glyph by glyph)
FONTS = ["DejaVu Sans", "Noto Sans", "Noto Sans Hebrew", "Noto Sans Arabic", "Noto Sans Devanagari", "Noto Sans Thai"]
STYLE = {"svg.hashsalt": "citypeers-report", "svg.fonttype": "none", "font.family": FONTS,
         "font.size": 8, "axes.spines.top": False, "axes.spines.right": False, "text.parse_math": False,
         "text.hinting": "none"}  # text measured at the width a browser or WeasyPrint draws it (hinted: ~3% less)


class _QuietFindfont(logging.Filter):
    """matplotlib logs "findfont: Font family 'Noto Sans' not found." on every text it lays out in a family it
    does not know: 1,451 lines for one cohort report, burying the report's own one-line warnings, on a machine
    without Noto Sans or whose matplotlib font cache predates the font's install. The family is a fallback
    (DejaVu Sans draws the text); a character no font has is said once, by reports.command._missing_glyphs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("findfont: Font family")


logging.getLogger("matplotlib.font_manager").addFilter(_QuietFindfont())
PALETTE = matplotlib.colormaps["tab20"].colors  # the signals' colours (its darker shades)
# left out of the groups' colours: greys (grey means "no group"), and Dark2's brown (tab10 has one, and it
# would follow Dark2's mustard, a hue too close)
_LEFT_OUT = ("#7f7f7f", "#666666", "#c7c7c7", "#a6761d")
_QUALITATIVE = [*matplotlib.colormaps["tab10"].colors, *matplotlib.colormaps["Dark2"].colors,
                *matplotlib.colormaps["tab20"].colors[1::2]]
GROUP_COLOURS = tuple(c for c in map(matplotlib.colors.to_hex, _QUALITATIVE) if c not in _LEFT_OUT)
NO_GROUP = "#888888"
NEW = "#c2410c"  # what is new since the compared report (4.5:1 on white, as text must be)
BIG_NODES_UP_TO = 60  # cities; beyond that the nodes are drawn smaller
NETWORK_LABELS = 40  # names drawn on the network at most (the best connected that fit)
MAP_LABELS = 20  # and on the map, where cities cluster
LEGEND_UP_TO = len(GROUP_COLOURS)  # groups; beyond that colours repeat, and the groups table names them


def shaped(text: str) -> bool:
    """Whether `text` needs bidirectional ordering or shaping to be drawn right: a right-to-left letter or
    digit, or a combining mark (Devanagari's and Thai's vowel signs).

    >>> shaped("Kraków"), shaped("חיפה"), shaped("القاهرة"), shaped("मुंबई"), shaped("Zürich")
    (False, True, True, True, False)
    """
    return any(unicodedata.bidirectional(ch) in ("R", "AL", "AN") or unicodedata.category(ch) in ("Mn", "Mc", "Me")
               for ch in text)


def _svg(fig: Figure) -> str:
    """The figure as inline SVG. Its text stays text, unless some of it needs shaping (`shaped`): then all of
    it is drawn as paths, laid out by matplotlib (libraqm: bidirectional order, joined Arabic, vowel signs in
    place). WeasyPrint draws SVG text letter by letter, so in report.pdf's figures חיפה read backwards,
    القاهرة unjoined and मुंबई's vowel signs on dotted circles, where browsers drew the same SVG right
    (until 2026-12-07)."""
    out = io.StringIO()
    paths = any(shaped(t.get_text()) for t in fig.findobj(matplotlib.text.Text))
    with matplotlib.rc_context({**STYLE, "svg.fonttype": "path"} if paths else STYLE):
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG goes inline into HTML


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def colour(group: int | None) -> str:
    """A learning group's colour: distinct hues first, repeating after len(GROUP_COLOURS) groups."""
    return NO_GROUP if group is None else GROUP_COLOURS[(group - 1) % len(GROUP_COLOURS)]


def exposure_histogram(histogram: Sequence[dict[str, int]], cap: int | None) -> str:
    with matplotlib.rc_context(STYLE):
        fig = _figure(4.2, 2.0)
        ax = fig.add_subplot()
        ax.bar([h["times"] for h in histogram], [h["cities"] for h in histogram], color="#4c6ef5", width=0.8)
        if cap is not None:
            ax.axvline(cap + 0.5, color=NEW, linestyle="--", linewidth=1)
            ax.text(cap + 0.6, ax.get_ylim()[1] * 0.9, f"cap {cap}", color=NEW)
        ax.set_xlabel("times suggested")
        ax.set_ylabel("cities")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _svg(fig)


def groups_against_random(objective: float, randoms: Sequence[float]) -> str:
    with matplotlib.rc_context(STYLE):
        fig = _figure(4.2, 2.0)
        ax = fig.add_subplot()
        ax.hist(randoms, bins=min(10, max(len(randoms), 1)), color="#adb5bd", label="random groupings")
        ax.axvline(objective, color="#2b8a3e", linewidth=2, label="these groups")
        ax.set_xlabel("objective: shared-challenge affinity within groups")
        ax.set_ylabel("random groupings")
        ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2)
        return _svg(fig)


def signal_colours(signals: Sequence[str]) -> dict[str, str]:
    """A colour per signal, the same in every city's bars (drawn by the template: one chart per city at 500
    cities would cost ~0.1 s each in matplotlib and more in WeasyPrint; stacked boxes cost nothing)."""
    return {name: matplotlib.colors.to_hex(PALETTE[2 * i % len(PALETTE)]) for i, name in enumerate(signals)}


def _links(cities: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    ids = {c["id"] for c in cities}
    return sorted({tuple(sorted((c["id"], p["id"]))) for c in cities for p in c["peers"] if p["id"] in ids})


def network(cities: Sequence[dict[str, Any]], seed: int) -> str:
    """Cities as nodes coloured by learning group, suggested links as edges; a seeded spring layout."""
    graph = nx.Graph()
    graph.add_nodes_from(c["id"] for c in cities)
    graph.add_edges_from(_links(cities))
    pos = nx.spring_layout(graph, seed=seed, k=1.5 / math.sqrt(max(len(cities), 1)))
    return _svg(places(cities, graph, pos, "suggested peers (lines) and learning groups (colours)",
                       labels=NETWORK_LABELS))


def map_figure(cities: Sequence[dict[str, Any]]) -> str | None:
    """Cities at their coordinates (equirectangular, no base map: the report stays offline), the same links."""
    placed = [c for c in cities if c.get("latitude") is not None and c.get("longitude") is not None]
    if not placed:
        return None
    graph = nx.Graph()
    graph.add_nodes_from(c["id"] for c in placed)
    graph.add_edges_from(_links(placed))
    pos = {c["id"]: (c["longitude"], c["latitude"]) for c in placed}
    mean_lat = sum(c["latitude"] for c in placed) / len(placed)
    return _svg(places(placed, graph, pos, "cities at their coordinates; lines: suggested peers", labels=MAP_LABELS,
                       aspect=1 / max(math.cos(math.radians(mean_lat)), 0.2)))


def places(cities: Sequence[dict[str, Any]], graph: nx.Graph, pos: dict, title: str, *, labels: int,
           aspect: float | None = None) -> Figure:
    """The network or the map as a figure: links, cities coloured by group with a legend of the groups, and
    the names of up to `labels` cities that fit (`_names`)."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.5, 4.6)
        ax = fig.add_subplot()
        order = [c["id"] for c in cities]
        nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="#ced4da", width=0.6)
        nx.draw_networkx_nodes(graph, pos, nodelist=order, ax=ax, linewidths=0,
                               node_size=40 if len(order) <= BIG_NODES_UP_TO else 8,
                               node_color=[colour(c.get("group")) for c in cities])
        groups = sorted({c["group"] for c in cities if c.get("group") is not None})
        if 0 < len(groups) <= LEGEND_UP_TO:
            handles = [Line2D([], [], linestyle="", marker="o", markersize=5, markeredgewidth=0, color=colour(g))
                       for g in groups]
            fig.legend(handles, [str(g) for g in groups], title="group", loc="outside right upper", frameon=False,
                       fontsize=6, title_fontsize=7, ncols=math.ceil(len(groups) / 14), handletextpad=0.2,
                       columnspacing=0.8)
        if aspect is not None:
            # the data limits widen to fill the box, from at least 2 degrees each way: fixed limits with the aspect
            # shrank the axes instead, and a one-city cohort's map was a sliver whose longitude ticks overprinted
            # each other (until 2026-12-07)
            xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
            halves = [max((max(v) - min(v)) / 2 * 1.1, 1.0) for v in (xs, ys)]
            middle = [(max(v) + min(v)) / 2 for v in (xs, ys)]
            ax.update_datalim([(middle[0] - halves[0], middle[1] - halves[1]),
                               (middle[0] + halves[0], middle[1] + halves[1])])
            ax.autoscale_view()
            ax.set_aspect(aspect, adjustable="datalim")
            ax.tick_params(labelsize=6, bottom=True, left=True, labelbottom=True, labelleft=True)
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
        else:
            ax.set_axis_off()
        ax.set_title(title, fontsize=8)
        _names(fig, ax, cities, graph, pos, labels)
        return fig


# where a name may go, in order: above its city (centred, then to either side), then below it
_SPOTS = [(ha, va, dy) for va, dy in (("bottom", 3), ("top", -3)) for ha in ("center", "left", "right")]


def _names(fig: Figure, ax, cities: Sequence[dict[str, Any]], graph: nx.Graph, pos: dict, limit: int) -> None:
    """The names of the best-connected cities (most suggested links, then by name) that fit, at most `limit`:
    each inside the axes and clear of the names drawn before it, else left out. Measured once the layout is
    final; the names take no part in it."""
    fig.draw_without_rendering()
    frame = ax.get_window_extent()
    drawn: list = []
    by_links = sorted(cities, key=lambda c: (-graph.degree(c["id"]), c["name"], c["id"]))
    for city in by_links[: 4 * limit]:
        if len(drawn) == limit:
            break
        for ha, va, dy in _SPOTS:
            # a tab or other control character is a space here: drawn as paths (`_svg`), it was a box
            label = "".join(" " if unicodedata.category(ch) == "Cc" and ch != "\n" else ch for ch in city["name"])
            text = ax.annotate(label, pos[city["id"]], xytext=(0, dy), textcoords="offset points", ha=ha,
                               va=va, fontsize=6, annotation_clip=False)
            text.set_in_layout(False)
            box = text.get_window_extent()
            if frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1) and \
                    not any(box.overlaps(other) for other in drawn):
                drawn.append(box.padded(1))
                break
            text.remove()
