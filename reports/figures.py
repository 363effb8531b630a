"""The report's figures, drawn with matplotlib (no pyplot: no global state) and returned as inline SVG text.

Reproducible: SVG ids come from a fixed hash salt, no date is written, and layouts are seeded, so the same
data give the same bytes. Text stays text (`svg.fonttype: none`) in the fonts the page names (DejaVu Sans,
Noto Sans), which cover the accents of Reykjavík, Kraków, Zürich and Łódź.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib
import networkx as nx
from matplotlib.figure import Figure

STYLE = {"svg.hashsalt": "citypeers-report", "svg.fonttype": "none", "font.family": ["DejaVu Sans", "Noto Sans"],
         "font.size": 8, "axes.spines.top": False, "axes.spines.right": False}
PALETTE = matplotlib.colormaps["tab20"].colors
NEW = "#d9480f"  # what is new since the compared report
LABELS_UP_TO = 60  # cities; beyond that the network and the map are drawn without names


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG goes inline into HTML


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def colour(group: int | None) -> str:
    return "#888888" if group is None else matplotlib.colors.to_hex(PALETTE[(group - 1) % len(PALETTE)])


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
    return _draw_places(cities, graph, pos, "suggested peers (lines) and learning groups (colours)")


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
    svg = _draw_places(placed, graph, pos, "cities at their coordinates; lines: suggested peers",
                       aspect=1 / max(math.cos(math.radians(mean_lat)), 0.2))
    return svg


def _draw_places(cities, graph: nx.Graph, pos: dict, title: str, aspect: float | None = None) -> str:
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.5, 4.6)
        ax = fig.add_subplot()
        order = [c["id"] for c in cities]
        nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="#ced4da", width=0.6)
        nx.draw_networkx_nodes(graph, pos, nodelist=order, ax=ax, node_size=40 if len(order) <= LABELS_UP_TO else 8,
                               node_color=[colour(c.get("group")) for c in cities], linewidths=0)
        if len(order) <= LABELS_UP_TO:
            nx.draw_networkx_labels(graph, pos, labels={c["id"]: c["name"] for c in cities}, ax=ax, font_size=6,
                                    font_family="DejaVu Sans", verticalalignment="bottom")
        if aspect is not None:
            ax.set_aspect(aspect)
            ax.tick_params(labelsize=6, bottom=True, left=True, labelbottom=True, labelleft=True)
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
        else:
            ax.set_axis_off()
        ax.set_title(title, fontsize=8)
        return _svg(fig)
