"""Report benchmarks (issue #20, point 5): the real commands, end to end, on a synthetic network in SQLite.

- `report cohort` (HTML + PDF + CSV + JSON) for a 500-city cohort out of a 100,000-city network: target <= 60 s
  (also timed without the PDF; `python -m bench.reports --no-pdf` leaves the PDF run out);
- `report network` (CSV + JSON) for every city of it: target <= 120 s and <= 2 GB peak memory.

Each command runs in its own process (as a user runs it: store read, engine fit, report, files), its peak
resident memory sampled with psutil. Baselines timed in the same run on the same store: `batch peers` for the
cohort (its peers only, a CSV of ids, no groups, partners, people or documents) and `batch similar` for the
network (the same all-pairs top k, a CSV of scores). The cohort is synthetic: 500 cities drawn with a fixed
seed and labelled synthetic.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import report, verdict
from graph.bundle import import_bundle
from graph.model import Cohort, MemberOf
from graph.store import open_store
from graph.synthetic import generate_bundle

COHORT = "syn-bench-report-cohort"


def _run(argv: list[str]) -> tuple[float, float, float]:
    """(seconds, peak resident MB, CPU seconds) of one command, children included, sampled every 50 ms. CPU
    time is the last sample's: on a machine others share it says more than the wall time."""
    with tempfile.TemporaryFile(mode="w+") as err:  # a file, not a pipe: progress bars never fill it up
        start = time.perf_counter()
        proc = psutil.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak, cpu = 0, 0.0
        while proc.poll() is None:
            try:
                family = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in family))
                cpu = max(cpu, sum(sum(p.cpu_times()[:2]) for p in family))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.read()[-4000:]}")
    return seconds, peak / 2**20, cpu


def _median(argv: list[str], repeats: int) -> tuple[float, float, float]:
    """Median wall seconds, highest peak MB, median CPU seconds of `repeats` runs."""
    runs = [_run(argv) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs)


def run(cities: int = 100_000, cohort_size: int = 500, repeats: int = 1, pdf: bool = True) -> dict:
    """`pdf=False` leaves out the run with the PDF (WeasyPrint lays out a page per city: minutes at 500)."""
    with tempfile.TemporaryDirectory(prefix="citypeers-bench-reports-", ignore_cleanup_errors=True) as scratch:
        work = Path(scratch)
        generate_bundle(work / "bundle", cities=cities, seed=1)
        url = f"sqlite:///{work / 'bench.db'}"
        store = open_store(url)
        import_bundle(store, work / "bundle")
        members = random.Random(0).sample(sorted(n.id for n in store.nodes("City")), cohort_size)
        store.upsert([Cohort(id=COHORT, name=f"Synthetic benchmark cohort of {cohort_size} cities",
                             programme="synthetic", provenance="synthetic (seed 0): benchmark cohort")],
                     [MemberOf(source=c, target=COHORT, role="participant") for c in members])
        store.close()
        cli = [sys.executable, "-m", "cli", "--store", url]
        network_s, network_mb, network_cpu = _median([*cli, "report", "network", "--out", str(work / "network")],
                                                     repeats)
        similar_s, _, similar_cpu = _median([*cli, "batch", "similar", "--out", str(work / "similar.csv")], repeats)
        nopdf_s, nopdf_mb, nopdf_cpu = _median([*cli, "report", "cohort", COHORT, "--out", str(work / "nopdf"),
                                                "--format", "html,csv,json"], repeats)
        batch_s, _, batch_cpu = _median([*cli, "batch", "peers", "--cohort", COHORT, "--k", "5", "--max-exposure",
                                         "10", "--out", str(work / "batch.csv")], repeats)
        data = {"cities": cities, "cohort_cities": cohort_size, "repeats": repeats,
                "network_report_s": network_s, "network_report_peak_mb": network_mb, "batch_similar_s": similar_s,
                "cohort_report_no_pdf_s": nopdf_s, "cohort_report_no_pdf_peak_mb": nopdf_mb, "batch_peers_s": batch_s,
                "cpu_s": {"network_report": network_cpu, "batch_similar": similar_cpu,
                          "cohort_report_no_pdf": nopdf_cpu, "batch_peers": batch_cpu}}
        rows = [
            ("report network (csv, json)", f"{network_s:.1f} s",
             f"{cities:,} cities, CPU {network_cpu:.0f} s; target <= 120 s: {verdict(network_s <= 120)}"),
            ("report network: peak memory", f"{network_mb:,.0f} MB",
             f"target <= 2048 MB: {verdict(network_mb <= 2048)}"),
            ("  baseline: batch similar", f"{similar_s:.1f} s",
             f"CPU {similar_cpu:.0f} s; report / baseline {network_s / similar_s:.2f}x"),
            ("report cohort (html, csv, json)", f"{nopdf_s:.1f} s",
             f"{cohort_size} of {cities:,} cities, CPU {nopdf_cpu:.0f} s, peak {nopdf_mb:,.0f} MB"),
            ("  baseline: batch peers --cohort", f"{batch_s:.1f} s",
             f"CPU {batch_cpu:.0f} s; report / baseline {nopdf_s / batch_s:.2f}x"),
        ]
        if pdf:
            cohort_s, cohort_mb, cohort_cpu = _median([*cli, "report", "cohort", COHORT, "--out", str(work / "cohort")],
                                                      repeats)
            pages = _pages(work / "cohort" / "report.pdf")
            data.update(cohort_report_s=cohort_s, cohort_report_peak_mb=cohort_mb, cohort_pdf_pages=pages)
            data["cpu_s"]["cohort_report"] = cohort_cpu
            rows.append(("report cohort (html, pdf, csv, json)", f"{cohort_s:.1f} s",
                         f"{pages} PDF pages, CPU {cohort_cpu:.0f} s, peak {cohort_mb:,.0f} MB; target <= 60 s: "
                         f"{verdict(cohort_s <= 60)}"))
        data["file_bytes"] = {f"{d.name}/{p.name}": p.stat().st_size for d in work.iterdir()
                              if d.is_dir() and d.name in ("network", "nopdf", "cohort") for p in d.iterdir()}
    report("reports", rows, data)
    return data


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout  # poppler-utils
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


if __name__ == "__main__":
    run(pdf="--no-pdf" not in sys.argv)
