"""report.pdf: the report's HTML through WeasyPrint, in parallel parts for a large cohort.

WeasyPrint gets no base URL and a fetcher that refuses every URL, so a PDF never reaches out. It lays out a
page in ~0.05-0.1 s (line breaking and styles, in Python): a 500-city report is minutes of CPU in one
process. So a report of more than PARALLEL_ABOVE cities is cut into parts at city sections, each part a
complete document with the same head (styles), laid out in its own process (`python -m reports.pdf IN OUT`,
which imports WeasyPrint only), and the parts' PDFs joined with pypdf; the page footers ("page n of N") are
drawn onto the joined pages afterwards, from the same @page rules, since no part knows where it starts.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"the report fetches nothing; it asked for {url}")


PARALLEL_ABOVE = 40  # cities; above this the PDF is laid out in parts, in parallel processes
PARTS_PER_WORKER = 2  # parts of about equal size per process, so one slow part does not hold up the other
NO_FOOTERS = "@page { @bottom-left { content: none !important } @bottom-right { content: none !important } }"
_CITY = '<section class="city'  # a city's section (class city, or city flow)
_CITIES = '<section class="cities"'  # the cities' introduction, just before the first city


def write_pdf(html: str, path: Path, *, workers: int | None = None) -> int:
    """The HTML through WeasyPrint into `path`; returns the number of pages.

    A report with more than PARALLEL_ABOVE cities is laid out in parts (the front matter, then runs of whole
    city sections, the last with the method), in `workers` processes at a time (default: one a CPU, up to 8),
    then joined (pypdf). The parts are drawn without the page footers; the joined pages get
    them from one more WeasyPrint document of empty pages with the same @page rules, so they read "page n of N"
    across the whole report, as a single render would. The outline (h1-h3) is joined too.
    """
    parts = split_html(html, workers if workers is not None else _default_workers(html))
    if len(parts) == 1:
        from weasyprint import HTML  # imported here: it loads Pango, which only PDF output needs

        document = HTML(string=html, url_fetcher=_no_fetch).render()
        document.write_pdf(path)
        return len(document.pages)
    return _write_parts(html, parts, path, workers or len(parts))


def _default_workers(html: str) -> int:
    cities = html.count(_CITY)
    return 1 if cities <= PARALLEL_ABOVE else max(1, min(os.cpu_count() or 1, 8))


def split_html(html: str, workers: int) -> list[str]:
    """`html` as complete documents (the same head, so the same styles): the front matter (cover, summary,
    groups, figures), then runs of whole city sections of about equal size, the last with the method. One
    part when `workers` is 1 or the report has fewer than two cities."""
    starts = [m.start() for m in re.finditer(re.escape(_CITY), html)]
    if workers <= 1 or len(starts) < 2:
        return [html]
    head_end, body_end = html.index("<body>") + len("<body>"), html.rindex("</body>")
    intro = html.find(_CITIES)
    first = intro if 0 <= intro < starts[0] else starts[0]
    n_parts = min(len(starts), workers * PARTS_PER_WORKER)
    cuts = [first]
    for start in starts[1:]:  # cut before a city once the runs before it hold their share
        if start - first >= (body_end - first) * len(cuts) / n_parts and len(cuts) < n_parts:
            cuts.append(start)
    bounds = [head_end, *cuts, body_end]
    head, tail = html[:head_end], html[body_end:]
    return [head + html[a:b] + tail for a, b in itertools.pairwise(bounds)]


def render_part(html: str, target: Path) -> int:
    """One part, without the page footers (the joined file gets them); returns its number of pages."""
    from weasyprint import CSS, HTML

    document = HTML(string=html, url_fetcher=_no_fetch).render(stylesheets=[CSS(string=NO_FOOTERS)])
    document.write_pdf(target)
    return len(document.pages)


def _render_in_processes(jobs: list[tuple[Path, Path]], workers: int) -> list[int]:
    """Each (html, pdf) job in a process of its own (`python -m reports.pdf`: a fresh interpreter that loads
    only WeasyPrint, not a copy of this process and the engine it holds), `workers` at a time, in order."""
    pending, running, counts = list(enumerate(jobs)), {}, [0] * len(jobs)
    try:
        while pending or running:
            while pending and len(running) < workers:
                n, (source, target) = pending.pop(0)
                with source.with_suffix(".out").open("w") as out, source.with_suffix(".err").open("w") as err:
                    # files, not pipes: a worker's warnings can never fill a pipe nobody reads yet
                    running[n] = subprocess.Popen([sys.executable, "-m", "reports.pdf", str(source), str(target)],
                                                  stdout=out, stderr=err)
            n, proc = _first_done(running)
            del running[n]
            source = jobs[n][0]
            if proc.returncode != 0:
                err = source.with_suffix(".err").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"rendering part {n + 1} of the PDF failed ({proc.returncode}): {err}")
            counts[n] = int(source.with_suffix(".out").read_text().split()[-1])
    finally:
        for proc in running.values():
            proc.kill()
            proc.wait()
    return counts


def _first_done(running: dict[int, subprocess.Popen]) -> tuple[int, subprocess.Popen]:
    while True:
        for n, proc in running.items():
            if proc.poll() is not None:
                return n, proc
        time.sleep(0.05)


def _write_parts(html: str, parts: list[str], path: Path, workers: int) -> int:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject
    from weasyprint import HTML

    with tempfile.TemporaryDirectory(prefix=".citypeers-pdf-", dir=path.parent) as scratch:
        folder = Path(scratch)
        for n, part in enumerate(parts):
            (folder / f"part-{n:03d}.html").write_text(part, encoding="utf-8")
        targets = [folder / f"part-{n:03d}.pdf" for n in range(len(parts))]
        counts = _render_in_processes([(folder / f"part-{n:03d}.html", t) for n, t in enumerate(targets)], workers)
        total = sum(counts)
        head = html[: html.index("<body>") + len("<body>")]
        footers = HTML(string=head + '<div style="height: 1px; break-after: page"></div>' * total + "</body></html>",
                       url_fetcher=_no_fetch).render()
        if len(footers.pages) != total:
            raise AssertionError(f"{len(footers.pages)} footer pages for {total} pages")
        footer_pdf = Path(scratch) / "footers.pdf"
        footers.write_pdf(footer_pdf)
        writer = PdfWriter()
        readers = [PdfReader(t) for t in targets]
        for reader in readers:
            writer.append(reader, import_outline=False)
        for page, footer in zip(writer.pages, PdfReader(footer_pdf).pages, strict=True):
            page.merge_page(footer)
        _join_outlines(writer, readers, counts)
        if readers[0].metadata:
            writer.add_metadata({k: v for k, v in readers[0].metadata.items() if k in ("/Title", "/Creator")})
        root = getattr(writer, "root_object", None)  # a public property in recent pypdf versions
        if root is not None and "/Lang" in readers[0].root_object:  # the document's language, <html lang>
            root[NameObject("/Lang")] = readers[0].root_object["/Lang"]
        with path.open("wb") as fh:
            writer.write(fh)
    return total


def _join_outlines(writer, readers, counts: list[int]) -> None:
    """Every part's outline in one: the first part's top item (the report's title, h1) holds the top items of
    the parts after it (their city headings), each pointing at its page in the joined file."""
    tops: list = []

    def add(reader, items, offset: int, parent) -> None:
        last = parent
        for item in items:
            if isinstance(item, list):
                add(reader, item, offset, last)
            else:
                last = writer.add_outline_item(title=item.title, parent=parent,
                                               page_number=offset + reader.get_destination_page_number(item))
                if parent is None:
                    tops.append(last)

    offset = 0
    for n, (reader, count) in enumerate(zip(readers, counts, strict=True)):
        add(reader, reader.outline, offset, None if n == 0 or len(tops) != 1 else tops[0])
        offset += count


if __name__ == "__main__":  # a worker: python -m reports.pdf PART.html PART.pdf -> prints its number of pages
    print(render_part(Path(sys.argv[1]).read_text(encoding="utf-8"), Path(sys.argv[2])))
