"""Report benchmarks (issue #20, point 5): the real commands, end to end, on a synthetic network in SQLite.

- `report cohort` (HTML + PDF + CSV + JSON) for a 500-city cohort out of a 100,000-city network: target <= 60 s
  (also timed without the PDF; `python -m bench.reports --no-pdf` leaves the PDF run out);
- `report network` (CSV + JSON) for every city of it: target <= 120 s and <= 2 GB peak memory.

Each command runs in its own process (as a user runs it: store read, engine fit, report, files), its peak
resident memory sampled with psutil. Baselines timed in the same run on the same store: `batch peers` for the
cohort (its peers only, a CSV of ids, no groups, partners, people or documents) and `batch similar` for the
network (the same all-pairs top k, a CSV of scores). The cohort is synthetic: 500 cities drawn with a fixed
seed and labelled synthetic.

Printed per command: median wall seconds, median CPU seconds (the process and its children: on a shared
machine CPU says more than wall), peak memory (resident, summed over the process and its children: forked
workers' shared pages count once per process, so also the proportional set size, shared pages split), PDF
pages, and the machine's load average before and after; each figure against its target.

    python -m bench --only reports            # everything (the PDF run takes a minute or more)
    python -m bench.reports --no-pdf --repeats 3
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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


def _run(argv: list[str]) -> tuple[float, float, float, float]:
    """(seconds, peak resident MB, CPU seconds, peak proportional MB) of one command, children included.
    Memory is sampled every 50 ms (proportional every 250 ms): resident memory counts a page shared by forked
    processes once in each, the proportional set size splits it between them (what the processes cost the
    machine together). CPU time is the kernel's account of the command and every process it waited for (on
    a machine others share it says more than the wall time; sampling, as before 2026-12-06, missed workers
    that had already ended)."""
    with tempfile.TemporaryFile(mode="w+") as err:  # a file, not a pipe: progress bars never fill it up
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = psutil.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak, pss, tick = 0, 0, 0
        while proc.poll() is None:
            try:
                family = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in family))
                if tick % 5 == 0:  # every 0.25 s: reading the proportional size walks the page tables
                    pss = max(pss, sum(getattr(p.memory_full_info(), "pss", 0) for p in family))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
            tick += 1
            time.sleep(0.05)
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
        # the command's CPU and that of every process it started and waited for (its workers, however short)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.read()[-4000:]}")
    return seconds, peak / 2**20, cpu, pss / 2**20


def _median(argv: list[str], repeats: int) -> tuple[float, float, float, float]:
    """Median wall seconds, highest peak MB, median CPU seconds, highest peak proportional MB of `repeats`
    runs."""
    runs = [_run(argv) for _ in range(repeats)]
    return (statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs),
            max(r[3] for r in runs))


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
        load_before = os.getloadavg()
        network_s, network_mb, network_cpu, network_pss = _median(
            [*cli, "report", "network", "--out", str(work / "network")], repeats)
        similar_s, _, similar_cpu, _ = _median([*cli, "batch", "similar", "--out", str(work / "similar.csv")],
                                               repeats)
        nopdf_s, nopdf_mb, nopdf_cpu, nopdf_pss = _median(
            [*cli, "report", "cohort", COHORT, "--out", str(work / "nopdf"), "--format", "html,csv,json"], repeats)
        batch_s, _, batch_cpu, _ = _median([*cli, "batch", "peers", "--cohort", COHORT, "--k", "5", "--max-exposure",
                                            "10", "--out", str(work / "batch.csv")], repeats)
        data = {"cities": cities, "cohort_cities": cohort_size, "repeats": repeats, "cpus": os.cpu_count(),
                "network_report_s": network_s, "network_report_peak_mb": network_mb,
                "network_report_peak_pss_mb": network_pss, "batch_similar_s": similar_s,
                "cohort_report_no_pdf_s": nopdf_s, "cohort_report_no_pdf_peak_mb": nopdf_mb,
                "cohort_report_no_pdf_peak_pss_mb": nopdf_pss, "batch_peers_s": batch_s,
                "cpu_s": {"network_report": network_cpu, "batch_similar": similar_cpu,
                          "cohort_report_no_pdf": nopdf_cpu, "batch_peers": batch_cpu}}
        rows = [
            ("report network (csv, json)", f"{network_s:.1f} s",
             f"{cities:,} cities, CPU {network_cpu:.0f} s; target <= 120 s: {verdict(network_s <= 120)}"),
            ("report network: peak memory", f"{network_mb:,.0f} MB",
             f"resident (proportional {network_pss:,.0f} MB); target <= 2048 MB: {verdict(network_mb <= 2048)}"),
            ("  baseline: batch similar", f"{similar_s:.1f} s",
             f"CPU {similar_cpu:.0f} s; report / baseline {network_s / similar_s:.2f}x"),
            ("report cohort (html, csv, json)", f"{nopdf_s:.1f} s",
             f"{cohort_size} of {cities:,} cities, CPU {nopdf_cpu:.0f} s, peak {nopdf_mb:,.0f} MB resident "
             f"({nopdf_pss:,.0f} MB proportional)"),
            ("  baseline: batch peers --cohort", f"{batch_s:.1f} s",
             f"CPU {batch_cpu:.0f} s; report / baseline {nopdf_s / batch_s:.2f}x"),
        ]
        if pdf:
            cohort_s, cohort_mb, cohort_cpu, cohort_pss = _median(
                [*cli, "report", "cohort", COHORT, "--out", str(work / "cohort")], repeats)
            pages = _pages(work / "cohort" / "report.pdf")
            data.update(cohort_report_s=cohort_s, cohort_report_peak_mb=cohort_mb,
                        cohort_report_peak_pss_mb=cohort_pss, cohort_pdf_pages=pages)
            data["cpu_s"]["cohort_report"] = cohort_cpu
            rows.append(("report cohort (html, pdf, csv, json)", f"{cohort_s:.1f} s",
                         f"{pages} PDF pages, CPU {cohort_cpu:.0f} s; target <= 60 s: {verdict(cohort_s <= 60)}"))
            rows.append(("report cohort (all): peak memory", f"{cohort_mb:,.0f} MB",
                         f"resident (proportional {cohort_pss:,.0f} MB); well under 2048 MB: "
                         f"{verdict(cohort_mb <= 1536)}"))
        load_after = os.getloadavg()
        data["load_average"] = {"before": load_before, "after": load_after}
        rows.append(("machine", f"{os.cpu_count()} CPUs",
                     f"load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)}; "
                     "figures under load are not the targets' (those are for an idle machine)"))
        data["file_bytes"] = {f"{d.name}/{p.name}": p.stat().st_size for d in work.iterdir()
                              if d.is_dir() and d.name in ("network", "nopdf", "cohort") for p in d.iterdir()}
    report("reports", rows, data)
    return data


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.1f}" for x in load)


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout  # poppler-utils
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each command; the median is shown (default 1)")
    parser.add_argument("--no-pdf", action="store_true", help="leave out the cohort report's run with the PDF")
    args = parser.parse_args(argv)
    run(repeats=args.repeats, pdf=not args.no_pdf)


if __name__ == "__main__":
    main()
