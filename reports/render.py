"""One Jinja2 template (templates/report.html.j2) -> index.html, and the same HTML -> report.pdf (WeasyPrint).

The HTML is self-contained: styles and figures (inline SVG) are in the file, nothing is fetched. WeasyPrint
gets no base URL and a fetcher that refuses every URL, so a PDF never reaches out either. The generation
timestamp is the only part that differs between two renders of the same report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reports import figures


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.globals.update(colour=figures.colour, show=_show)
    return env


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
    return {
        "exposure": figures.exposure_histogram(summary["exposure"]["histogram"], summary["exposure"]["cap"]),
        "groups": figures.groups_against_random(summary["groups"]["objective"], summary["groups"]["random"])
        if summary.get("groups") else "",
        "network": figures.network(report["cities"], report["parameters"]["seed"]),
        "map": figures.map_figure(report["cities"]),
        "signals": figures.signal_colours(signals),
        "scale": max([1.0, *(p["score"] for c in report["cities"] for p in c["peers"])]),
    }


def render_html(report: dict[str, Any], figs: dict[str, Any], *, generated_at: str,
                diff: dict[str, Any] | None = None) -> str:
    added = {(c["id"], p) for c in (diff or {}).get("changed_cities", []) for p in c["added"]}
    removed = {c["id"]: c["removed"] for c in (diff or {}).get("changed_cities", []) if c["removed"]}
    regrouped = {c["id"] for c in (diff or {}).get("regrouped", [])}
    template = _environment().get_template("report.html.j2")
    return template.render(r=report, figures=figs, title=title_of(report), generated_at=generated_at, diff=diff,
                           added=added, removed=removed, regrouped=regrouped)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"the report fetches nothing; it asked for {url}")


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML  # imported here: it loads Pango, which only PDF output needs

    HTML(string=html, url_fetcher=_no_fetch).write_pdf(path)
