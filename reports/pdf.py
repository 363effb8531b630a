"""report.pdf: the report's HTML through WeasyPrint, in parallel parts for a large cohort.

WeasyPrint gets no base URL and a fetcher that refuses every URL, so a PDF never reaches out. It lays out a
page in ~0.05-0.1 s (line breaking and styles, in Python): a 500-city report is minutes of CPU in one
process. So a report of more than PARALLEL_ABOVE cities is cut into parts at city sections, each part a
complete document with the same head (styles), laid out in its own process (`python -m reports.pdf IN OUT`,
which imports WeasyPrint only). No part knows where it starts, so the parts are drawn without page footers;
once every part's number of pages is known, worker processes draw the footers ("page n of N") onto them,
from the same @page rules, and the numbered parts are joined with pypdf.
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
    then numbered (`number_part`, in as many processes) and joined (pypdf), so the footers read "page n of N"
    across the whole report, as a single render would. The outline (h1-h3) is joined too.
    """
    workers = workers if workers is not None else _default_workers(html)
    parts = split_html(html, workers)
    if len(parts) == 1:
        from weasyprint import HTML  # imported here: it loads Pango, which only PDF output needs

        document = HTML(string=html, url_fetcher=_no_fetch).render()
        document.write_pdf(path)
        return len(document.pages)
    return _write_parts(html, parts, path, workers)  # `workers` at a time (there may be more parts than that)


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


def number_part(head: str, total: int, offset: int, source: Path, target: Path) -> None:
    """`source` (pages offset+1 ... of `total`) with its page footers, as one render of the report would draw
    them: the report's own @page rules on as many empty pages, `counter(pages)` read as `total` and the page
    counter starting at offset + 1, each page merged onto its page of `source`."""
    import io

    from pypdf import PdfReader, PdfWriter
    from weasyprint import CSS, HTML

    reader = PdfReader(source)
    count = len(reader.pages)
    empty = '<div style="height: 1px; break-after: page"></div>' * count
    footers = HTML(string=head.replace("counter(pages)", f'"{total}"') + empty + "</body></html>",
                   url_fetcher=_no_fetch).render(stylesheets=[CSS(string=f"@page :first {{ counter-reset: page "
                                                                        f"{offset + 1} }}")])
    if len(footers.pages) != count:
        raise AssertionError(f"{len(footers.pages)} footer pages for {count} pages")
    drawn = io.BytesIO()
    footers.write_pdf(drawn)
    writer = PdfWriter(clone_from=reader)
    for page, footer in zip(writer.pages, PdfReader(drawn).pages, strict=True):
        page.merge_page(footer)
    with target.open("wb") as fh:
        writer.write(fh)


def _run_workers(jobs: list[list[str]], logs: list[Path], workers: int) -> list[str]:
    """Each job as `python -m reports.pdf *job`, a process of its own (a fresh interpreter that loads only
    WeasyPrint and pypdf, not a copy of this process and the engine it holds), `workers` at a time, in
    order; returns what each printed. Output goes to files beside `logs[n]`, not pipes: a worker's warnings
    can never fill a pipe nobody reads yet."""
    pending, running, printed = list(enumerate(jobs)), {}, [""] * len(jobs)
    try:
        while pending or running:
            while pending and len(running) < workers:
                n, job = pending.pop(0)
                with logs[n].with_suffix(".out").open("w") as out, logs[n].with_suffix(".err").open("w") as err:
                    running[n] = subprocess.Popen([sys.executable, "-m", "reports.pdf", *job], stdout=out, stderr=err)
            n, proc = _first_done(running)
            del running[n]
            if proc.returncode != 0:
                err = logs[n].with_suffix(".err").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PDF worker {n + 1} ({' '.join(jobs[n][:1])}) failed ({proc.returncode}): {err}")
            printed[n] = logs[n].with_suffix(".out").read_text()
    finally:
        for proc in running.values():
            proc.kill()
            proc.wait()
    return printed


def _first_done(running: dict[int, subprocess.Popen]) -> tuple[int, subprocess.Popen]:
    while True:
        for n, proc in running.items():
            if proc.poll() is not None:
                return n, proc
        time.sleep(0.05)


def _write_parts(html: str, parts: list[str], path: Path, workers: int) -> int:
    """Lay the parts out, `workers` processes at a time; then number them (as many processes, each a run of
    parts of about equal pages); then join them and their outlines."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    with tempfile.TemporaryDirectory(prefix=".citypeers-pdf-", dir=path.parent) as scratch:
        folder = Path(scratch)
        sources = [folder / f"part-{n:03d}.html" for n in range(len(parts))]
        for source, part in zip(sources, parts, strict=True):
            source.write_text(part, encoding="utf-8")
        laid_out = [s.with_suffix(".pdf") for s in sources]
        counts = [int(out.split()[-1]) for out in _run_workers(
            [[str(s), str(t)] for s, t in zip(sources, laid_out, strict=True)], sources, workers)]
        total = sum(counts)
        head = folder / "head.html"
        head.write_text(html[: html.index("<body>") + len("<body>")], encoding="utf-8")
        offsets = list(itertools.accumulate([0, *counts[:-1]]))
        numbered = [folder / f"numbered-{n:03d}.pdf" for n in range(len(parts))]
        groups = _runs(counts, min(workers, len(parts)))
        _run_workers([["--number", str(head), str(total),
                       *(str(x) for n in group for x in (offsets[n], laid_out[n], numbered[n]))] for group in groups],
                     [folder / f"number-{g:03d}" for g in range(len(groups))], workers)
        writer = PdfWriter()
        readers = [PdfReader(t) for t in numbered]
        for reader in readers:
            writer.append(reader, import_outline=False)
        _join_outlines(writer, readers, counts)
        if readers[0].metadata:
            writer.add_metadata({k: v for k, v in readers[0].metadata.items() if k in ("/Title", "/Creator")})
        root = getattr(writer, "root_object", None)  # a public property in recent pypdf versions
        if root is not None and "/Lang" in readers[0].root_object:  # the document's language, <html lang>
            root[NameObject("/Lang")] = readers[0].root_object["/Lang"]
        with path.open("wb") as fh:
            writer.write(fh)
    return total


def _runs(sizes: list[int], n: int) -> list[list[int]]:
    """Indices 0..len(sizes)-1 in at most `n` consecutive runs of about equal total size.

    >>> _runs([10, 30, 30, 30, 30], 2)
    [[0, 1, 2], [3, 4]]
    """
    total, runs, done = sum(sizes), [[]], 0
    for i, size in enumerate(sizes):
        if runs[-1] and done >= total * len(runs) / n and len(runs) < n:
            runs.append([])
        runs[-1].append(i)
        done += size
    return runs


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


if __name__ == "__main__":
    # a worker: `python -m reports.pdf PART.html PART.pdf` lays a part out and prints its number of pages;
    # `python -m reports.pdf --number HEAD.html TOTAL OFFSET IN.pdf OUT.pdf [OFFSET IN.pdf OUT.pdf ...]` numbers
    if sys.argv[1] == "--number":
        head_html, pages = Path(sys.argv[2]).read_text(encoding="utf-8"), int(sys.argv[3])
        rest = sys.argv[4:]
        for at, source_pdf, target_pdf in zip(rest[::3], rest[1::3], rest[2::3], strict=True):
            number_part(head_html, pages, int(at), Path(source_pdf), Path(target_pdf))
    else:
        print(render_part(Path(sys.argv[1]).read_text(encoding="utf-8"), Path(sys.argv[2])))
