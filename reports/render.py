"""One Jinja2 template (templates/report.html.j2) -> index.html, and the same HTML -> report.pdf (WeasyPrint,
reports/pdf.py).

The HTML is self-contained: styles and figures (inline SVG) are in the file, nothing is fetched. The
generation timestamp is the only part that differs between two renders of the same report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from reports import figures
from reports.diff import weights_changed
from reports.tables import shared
from reports.words import plural


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.globals.update(colour=figures.colour, show=_show, plural=plural, weights=weights_changed, isolated=isolated,
                       shared=lambda g: isolated(shared(g), [c["name"] for c in g["shared_challenges"]]))
    env.filters["css_string"] = css_string
    return env


def css_string(text: str) -> Markup:
    r"""`text` as the inside of a double-quoted CSS string in the page's <style> (the PDF footer's title). A style
    element's text is not HTML, so HTML escaping would show as entities (`&amp;`); instead backslashes, quotes,
    line breaks, other control characters and < > become CSS escapes (no `</style>` can end the element).

    >>> print(css_string('<script> & "Quoted" \\ O\'Neil\nnext'))
    \3c script\3e  & \22 Quoted\22  \5c  O\27 Neil\a next
    """
    return Markup("".join(f"\\{ord(c):x} " if c in "\\\"'<>" or ord(c) < 0x20 or ord(c) == 0x7F else c
                          for c in text))


def _show(value: Any) -> str:
    """A parameter's value as the cover prints it."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join("+".join(p) if isinstance(p, list) else str(p) for p in value) or "none"
    return str(value)


def title_of(report: dict[str, Any]) -> str:
    if report["cohort"]:
        return f"Matching report: {report['cohort']['name']}"
    return "Matching report: the whole network"


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the report as SVG text (drawn once, shared by the HTML and the PDF), and the colours of
    the signals in the cities' bar charts."""
    summary = report["summary"]
    signals = [s["name"] for s in report["method"]["peer_signals"] if s["weight"] > 0]
    seen = {s["name"] for c in report["cities"] for p in c["peers"] for s in p["signals"]}
    signals += sorted(seen - set(signals))  # signals the method table does not list (read from the matches)
    exposure, groups, said = summary["exposure"], summary.get("groups"), captions(report)
    drawn = "; ".join(f"{plural(h['cities'], 'city', 'cities')} {plural(h['times'], 'time')}"
                      for h in exposure["histogram"])
    cap = f"; the cap, {exposure['cap']}, is the dashed line" if exposure["cap"] is not None else ""
    map_svg = figures.map_figure(report["cities"])
    return {
        "exposure": labelled(figures.exposure_histogram(exposure["histogram"], exposure["cap"]), "exposure",
                             f"Bar chart of how many cities are suggested how many times: {drawn}{cap}."),
        "groups": labelled(figures.groups_against_random(groups["objective"], groups["random"]), "groups",
                           f"Histogram of the objectives of {len(groups['random'])} random groupings (mean "
                           f"{groups['random_mean']:.3f}), with these groups' objective, {groups['objective']:.3f}, "
                           "as a line.") if groups else "",
        "network": labelled(figures.network(report["cities"], report["parameters"]["seed"]), "network",
                            f"Network of the cities and their suggested peers. {said['caption']}"),
        "map": map_svg and labelled(map_svg, "map", f"Map of the cities at their coordinates. {said['map_caption']}"),
        **said,
        "signals": figures.signal_colours(signals),
        "scale": max([1.0, *(p["score"] for c in report["cities"] for p in c["peers"])]),
    }


def labelled(svg: str, name: str, label: str) -> Markup:
    """An inline SVG figure as an image with `label` as its text for screen readers (its drawn text is not), its
    ids made its own (`scoped`, with the prefix `fig-NAME-`)."""
    opening = Markup('<svg role="img" aria-label="{}" ').format(label)
    return Markup(scoped(svg, f"fig-{name}-").replace("<svg ", opening, 1))


_TAG = re.compile(r"<[^!?][^>]*>")  # a start or end tag: matplotlib escapes < and > in text, comments and values
_REFERENCE = re.compile(r'(\sid="|url\(#|href="#)')  # an id, and the two ways SVG points at one


def scoped(svg: str, prefix: str) -> str:
    """matplotlib's SVG with every id and every reference to one (`url(#...)`, `href="#..."`, `xlink:href="#..."`)
    prefixed, inside tags only (a name drawn as text stays as written). matplotlib numbers each figure's ids
    from 1 (`figure_1`, `text_1`) and names its clip paths and markers by a hash of their content, so figures
    inlined in one page repeated ids: not valid HTML, "Anchor defined twice" in WeasyPrint, and a reference
    could resolve to another figure's definition.

    >>> scoped('<g id="a" clip-path="url(#p1)"><use xlink:href="#m1"/><text>id="a" url(#p1)</text></g>', "f-")
    '<g id="f-a" clip-path="url(#f-p1)"><use xlink:href="#f-m1"/><text>id="a" url(#p1)</text></g>'
    """
    return _TAG.sub(lambda tag: _REFERENCE.sub(lambda m: m.group(1) + prefix, tag.group()), svg)


def captions(report: dict[str, Any]) -> dict[str, str]:
    """What the network's and the map's colours, lines and names mean."""
    groups = len(report.get("groups") or [])
    if not groups:
        colours = "Colours: none (no learning groups)."
    elif groups <= figures.LEGEND_UP_TO:
        colours = "Colours: learning groups, numbered in the legend as in the groups table."
    else:
        colours = (f"Colours: learning groups, as in the groups table (its swatches); with {groups} groups the "
                   f"{len(figures.GROUP_COLOURS)} colours repeat, so no legend.")
    lines = "Lines: suggested peers within the cohort." if report["kind"] == "cohort" else "Lines: suggested peers."
    names = "Names: the best-connected cities (most lines) whose names fit without overlapping, at most {}."
    unplaced = [c["name"] for c in report["cities"] if c.get("latitude") is None or c.get("longitude") is None]
    missing = ""
    if unplaced and len(unplaced) < len(report["cities"]):  # none placed: no map, and the page says so
        shown = "; ".join(unplaced[:5]) + (f" and {len(unplaced) - 5} more" if len(unplaced) > 5 else "")
        missing = f" Not on the map, without coordinates: {plural(len(unplaced), 'city', 'cities')} ({shown})."
    return {"caption": f"{colours} {lines} {names.format(figures.NETWORK_LABELS)}",
            "map_caption": f"{colours} {lines} {names.format(figures.MAP_LABELS)}{missing}"}


FLOW_ABOVE = 40  # cities; above this, city sections follow each other instead of starting a page each
BAR_WIDTH = 100  # the bar's SVG user units for a score of figs["scale"]


def isolated(text: str, names: Iterable[str]) -> Markup:
    """`text` escaped, each of `names` in it (where no letter or digit adjoins it; the longest first) in <bdi>.

    Two names in a right-to-left script side by side in a list ("עכו; חיפה") are one right-to-left run to the
    bidirectional algorithm, the separator included, so they were drawn swapped; isolated, each is drawn in
    its own direction and the list in the page's.

    >>> print(isolated("Haifa & Tel Aviv; Tel Aviv-Yafo, Aviv", ["Tel Aviv", "Tel Aviv-Yafo", "Aviv"]))
    Haifa &amp; <bdi>Tel Aviv</bdi>; <bdi>Tel Aviv-Yafo</bdi>, <bdi>Aviv</bdi>
    """
    names = sorted({n for n in names if n}, key=lambda n: (-len(n), n))
    if not names:
        return escape(text)
    parts = re.split(r"(?<!\w)(" + "|".join(map(re.escape, names)) + r")(?!\w)", text)
    return Markup("").join(bdi(part) if i % 2 else escape(part) for i, part in enumerate(parts))


def bdi(name: str) -> Markup:
    return Markup("<bdi>{}</bdi>").format(name)


def named_in(match: dict[str, Any]) -> list[str]:
    """The names a suggestion's reason may hold: its own, its city's, and those of its evidence (challenges,
    cohorts, partners, cities), read from the match's fields as report.json has them."""
    found = [match["name"]]
    for key, value in match.items():
        if key != "signals":
            found += [v["name"] for v in (value if isinstance(value, list) else [value])
                      if isinstance(v, dict) and isinstance(v.get("name"), str)]
    return found


def lead(match: dict[str, Any], note: str | None = None) -> Markup:
    """A suggestion's name in bold, then its reason without repeating the name (reasons start with it); every
    name in it isolated (`isolated`)."""
    name, reason = match["name"], match["reason"]
    head = Markup("<b>{}</b>").format(bdi(name)) + (Markup(' <span class="small">({})</span>').format(note)
                                                    if note else "")
    rest = reason[len(name):] if reason.startswith(name) else ": " + reason
    return head + isolated(rest, named_in(match))


def bar(signals: list[dict[str, Any]], colours: dict[str, str], scale: float) -> Markup:
    """A peer's signal contributions as one small inline SVG of stacked rectangles, each exactly its share of the
    scale (one replaced box for WeasyPrint to lay out, where a box per segment cost a flex layout each)."""
    x, parts = 0.0, []
    said = ", ".join(f"{s['name']} {s['contribution']:.3f}" for s in signals if s["contribution"] > 0)
    for s in signals:
        if s["contribution"] > 0:
            width = BAR_WIDTH * s["contribution"] / scale
            parts.append(f'<rect x="{x:.2f}" width="{width:.2f}" height="6" fill="{colours.get(s["name"], "#888")}">'
                         f'<title>{escape(s["name"])} {s["contribution"]:.3f}</title></rect>')
            x += width
    return Markup(f'<svg class="bar" width="32mm" height="2.2mm" viewBox="0 0 {BAR_WIDTH} 6" '
                  f'preserveAspectRatio="none" role="img" aria-label="{escape(said or "no signal")}">'
                  f'<rect width="{BAR_WIDTH}" height="6" fill="#f1f3f5"/>'
                  f'{"".join(parts)}</svg>')


def render_html(report: dict[str, Any], figs: dict[str, Any], *, generated_at: str,
                diff: dict[str, Any] | None = None) -> str:
    added = {(c["id"], p) for c in (diff or {}).get("changed_cities", []) for p in c["added"]}
    names = (diff or {}).get("names", {})
    removed = {c["id"]: [names.get(p, p) for p in c["removed"]] for c in (diff or {}).get("changed_cities", [])
               if c["removed"]}
    regrouped = {c["id"] for c in (diff or {}).get("regrouped", [])}
    env = _environment()
    env.globals.update(lead=lead, bar=lambda signals: bar(signals, figs["signals"], figs["scale"]))
    city_names = {c["id"]: c["name"] for c in report["cities"]}
    return env.get_template("report.html.j2").render(
        r=report, figures=figs, title=title_of(report), generated_at=generated_at, diff=diff, added=added,
        removed=removed, regrouped=regrouped, compact=len(report["cities"]) > FLOW_ABOVE, city_names=city_names)
