"""`citypeers data urbact|gcom`: the real data sets in ../shared/data as bundles that `import` reads back."""

from __future__ import annotations

import pytest

from cli import main, real_data
from graph.model import NODE_TYPES
from graph.store import open_store
from tests.conftest import ROOT

DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the repository")


@pytest.mark.parametrize("dataset", ["urbact", "gcom"])
def test_bundle_imports_with_the_loaders_counts(capsys, tmp_path, dataset):
    nodes, rels = real_data(dataset, DATA / dataset)
    assert main(["data", dataset, "--out", str(tmp_path / "bundle")]) == 0
    assert f"{sum(1 for n in nodes if n.KIND == 'City'):,} cities" in capsys.readouterr().out
    store = open_store(f"sqlite:///{tmp_path / 'real.db'}")
    try:
        assert main(["--store", store.url, "import", str(tmp_path / "bundle")]) == 0
        assert store.count("City") == sum(1 for n in nodes if n.KIND == "City") > 500
        assert sum(store.count(kind) for kind in NODE_TYPES) == len(nodes)
        assert sum(1 for _ in store.relationships()) == len(rels)
        located = [c for c in store.nodes("City") if c.latitude is not None]
        assert len(located) > 0.9 * store.count("City")
    finally:
        store.close()


def test_jsonl_bundle_reads_back(capsys, tmp_path):
    assert main(["data", "urbact", "--out", str(tmp_path / "u"), "--format", "jsonl"]) == 0
    capsys.readouterr()
    assert main(["--store", f"sqlite:///{tmp_path / 'dry.db'}", "import", str(tmp_path / "u" / "bundle.jsonl"),
                 "--dry-run"]) == 0
    assert "is valid" in capsys.readouterr().out


def test_refuses_a_folder_in_use_and_a_missing_data_folder(capsys, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert main(["data", "urbact", "--out", str(used)]) == 2
    assert "not an empty folder" in capsys.readouterr().err and [p.name for p in used.iterdir()] == ["keep.txt"]
    assert main(["data", "gcom", "--out", str(tmp_path / "g"), "--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    # it said "expected ../shared/data/gcom/...", the default folder, not what the folder given must hold
    assert f"no GCoM data at '{tmp_path / 'nowhere' / 'df1_signatories_sheet1.csv'}': the data folder must hold " \
           "df1_signatories_sheet1.csv, as ../shared/data/gcom does" in err and "Traceback" not in err
    assert not (tmp_path / "g").exists() and [p.name for p in tmp_path.iterdir()] == ["used"]
    assert main(["evaluate", "urbact", "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"citypeers: error: no URBACT data at '{tmp_path / 'URBACT_Membership_GNidCorr_complete_V2.csv'}': the data "
        "folder must hold URBACT_Membership_GNidCorr_complete_V2.csv and UrbactNetworks_complete_V2.csv, as "
        "../shared/data/urbact does\n")
