"""The benchmark modules the docs name (`python -m bench.reports --no-pdf --repeats 3`, `python -m bench.explorer
1000 10000 100000`) answer --help with their usage and refuse a bad argument in one line, instead of starting
a 100,000-city run (bench.reports, bench.listings ignored --help) or failing with a traceback (bench.explorer)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _bench(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("module", ["bench", "bench.reports", "bench.explorer", "bench.listings"])
def test_help_shows_the_usage_and_runs_nothing(module):
    proc = _bench(module, "--help")
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m {module} ")
    assert proc.stderr == ""


@pytest.mark.parametrize(("argv", "refused"), [(["bench.explorer", "1k"], "argument CITIES: invalid int value: '1k'"),
                                               (["bench.reports", "--repeats", "x"], "--repeats: invalid int value"),
                                               (["bench.listings", "--cities"], "--cities: expected one argument")])
def test_a_bad_argument_is_one_message(argv, refused):
    proc = _bench(*argv)
    assert proc.returncode == 2 and refused in proc.stderr and "Traceback" not in proc.stderr
