"""`citypeers report diff` and `--compare` beyond the plain case (tests/test_reports.py): reports that are
not complete, reports of other cohorts or kinds, other signal weights at the same data version, and the
inputs hash that covers those weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from graph.store import open_store
from matching.engine import Engine
from matching.partners import DEFAULT_PARTNER_WEIGHTS
from matching.peers import DEFAULT_WEIGHTS
from matching.tuning import TunedWeights, save_weights
from reports import command
from reports.build import SCHEMA
from reports.provenance import inputs_sha256
from seeds import load_seeds

COHORT = "eu-digital-services"


def run(capsys, db: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--store", db, "report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[str, Path]:
    """A seeded store and, in its folder, a JSON report of the seeds' EU cohort (`eu`)."""
    folder = tmp_path_factory.mktemp("diff")
    url = f"sqlite:///{folder / 'seeds.db'}"
    with open_store(url) as store:
        load_seeds(store)
    assert main(["--store", url, "report", "cohort", COHORT, "--out", str(folder / "eu"), "--format", "json"]) == 0
    return url, folder


@pytest.fixture
def no_computing(monkeypatch):
    """Fails the test if a report command gets as far as reading and fitting the store."""
    monkeypatch.setattr(command, "_snapshot", lambda args: pytest.fail("computed before refusing"))


def broken(folder: Path, report: dict | bytes) -> Path:
    folder.mkdir()
    (folder / "report.json").write_bytes(report if isinstance(report, bytes) else json.dumps(report).encode())
    return folder


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: {"schema": SCHEMA}, "is not a complete citypeers report: it has no 'kind'"),
    (lambda r: {k: v for k, v in r.items() if k != "cities"}, "is not a complete citypeers report: it has no 'cities'"),
    (lambda r: {**r, "cities": [{k: v for k, v in c.items() if k != "peers"} for c in r["cities"]]},
     "cities[0] has no 'peers'"),
    (lambda r: {**r, "method": {**r["method"], "peer_signals": {}}}, "method.peer_signals is dict, not list"),
    (lambda r: {**r, "groups": [{"number": 1}]}, "groups[0] has no 'cities'"),
    # a diff said "no suggestion or group changed" against a report with 4 groups
    (lambda r: {k: v for k, v in r.items() if k != "groups"}, "is not a complete citypeers report: it has no 'groups'"),
    # taken, and diffed as "the banana" (2026-12-07)
    (lambda r: {**r, "kind": "banana"}, "is not a complete citypeers report: its kind is 'banana', not 'cohort' or "
                                        "'network'"),
    # a traceback (UnicodeDecodeError)
    (lambda r: b"\xff\xfe{}", "report.json' is not UTF-8 text (byte b'\\xff' at offset 0); give a folder written by "
                              "`citypeers report`"),
])
def test_an_incomplete_report_is_refused_naming_what_is_missing(seeded, capsys, tmp_path, no_computing, change,
                                                                message):
    url, folder = seeded
    good = json.loads((folder / "eu" / "report.json").read_text(encoding="utf-8"))
    bad = broken(tmp_path / "bad", change(good))
    for argv in (["diff", str(bad), str(folder / "eu")], ["diff", str(folder / "eu"), str(bad)],
                 ["cohort", COHORT, "--out", str(tmp_path / "out"), "--compare", str(bad)]):
        code, _, err = run(capsys, url, *argv)
        assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_reports_of_other_cohorts_or_kinds_are_not_compared(seeded, capsys, tmp_path, monkeypatch):
    url, folder = seeded
    other, network = tmp_path / "bhcli", tmp_path / "network"
    assert run(capsys, url, "cohort", "bhcli-class-1", "--out", str(other), "--format", "json", "--size", "1-3")[0] == 0
    assert run(capsys, url, "network", "--out", str(network), "--format", "json")[0] == 0
    code, out, err = run(capsys, url, "diff", str(folder / "eu"), str(other))
    assert code == 2 and out == ""
    assert (f"{str(folder / 'eu')!r} is a report of cohort 'eu-digital-services' (European cities digital public "
            f"services programme), {str(other)!r} of cohort 'bhcli-class-1': a diff compares two reports of the same "
            "cohort") in err
    code, _, err = run(capsys, url, "diff", str(network), str(folder / "eu"))
    assert code == 2 and "is a report of the network" in err and "of cohort 'eu-digital-services'" in err
    monkeypatch.setattr(command, "_snapshot", lambda args: pytest.fail("computed before refusing"))
    code, _, err = run(capsys, url, "cohort", COHORT, "--out", str(tmp_path / "out"), "--compare", str(other))
    assert code == 2 and f"--compare {str(other)!r} is a report of cohort 'bhcli-class-1'" in err
    assert not (tmp_path / "out").exists()


def test_other_weights_at_the_same_data_version_show_in_the_diff_and_the_inputs_hash(seeded, capsys, tmp_path):
    url, folder = seeded
    with open_store(url) as store:
        projection = Engine(store).current().projection
    before = json.loads((folder / "eu" / "report.json").read_text(encoding="utf-8"))
    assert before["inputs_sha256"] == inputs_sha256(projection)  # no tuned weights: the graph's hash alone
    tuned_url = f"sqlite:///{tmp_path / 'tuned.db'}"
    with open_store(tuned_url) as store:
        load_seeds(store)
        peers = {**DEFAULT_WEIGHTS, "challenges": 1.0, "cohorts": 0.1}
        save_weights(store, TunedWeights(peers=peers, partners=dict(DEFAULT_PARTNER_WEIGHTS), adopted=True,
                                         note="test", data_version=store.version()))
    tuned = tmp_path / "tuned"
    assert run(capsys, tuned_url, "cohort", COHORT, "--out", str(tuned), "--format", "json")[0] == 0
    after = json.loads((tuned / "report.json").read_text(encoding="utf-8"))
    assert after["data_version"] == before["data_version"] and after["inputs_sha256"] != before["inputs_sha256"]
    code, text, _ = run(capsys, url, "diff", str(folder / "eu"), str(tuned), "--json")
    diff = json.loads(text)
    assert code == 0 and diff["method_changed"] == ["peer_weights", "weights_source"]  # learned, not the defaults
    assert diff["new"]["peer_weights"]["challenges"] == 1.0 and diff["old"]["peer_weights"]["challenges"] < 1
    code, text, _ = run(capsys, url, "diff", str(folder / "eu"), str(tuned))
    assert code == 0
    assert ("signal weights for peers differ, so suggestions may differ at the same data version: challenges 0.333 "
            "-> 1, cohorts 0.5 -> 0.1") in text
    assert f"where the weights came from differs: old: {diff['old']['weights_source']} new: Learned from" in text
