"""What an outside reviewer runs on a network of their own (import, tune, evaluate store, status, recommend
peers) on odd but valid networks, all synthetic: it finishes without a traceback, and what it prints is true
of the store."""

from __future__ import annotations

import dataclasses
import re

import pytest

from graph.bundle import write_bundle
from graph.model import Challenge, City, Cohort, Covers, Faces, MemberOf
from tests.planted import planted
from tests.test_cli import run


def _tiny():
    """Three cities in one cohort, whose theme only the first faces: nothing to hide, nothing to learn."""
    cities = [City(id=f"syn-city-{i}", name=f"Synthetic city {i}", country="FR", latitude=50.0 + i, longitude=5.0,
                   population=1000 * (i + 1), provenance="synthetic") for i in range(3)]
    nodes = [Challenge(id="syn-theme-0", name="Synthetic theme 0"), *cities,
             Cohort(id="syn-cohort-0", name="Synthetic cohort 0", programme="Synthetic programme")]
    rels = [*(MemberOf(source=c.id, target="syn-cohort-0") for c in cities),
            Faces(source="syn-city-0", target="syn-theme-0"), Covers(source="syn-cohort-0", target="syn-theme-0")]
    return nodes, rels


def _planted(city=None, drop=()):
    nodes, rels = planted(seed=4, cities=120)
    return ([city(n) if city and isinstance(n, City) else n for n in nodes], [r for r in rels if r.KIND not in drop])


NETWORKS = {
    "tiny": _tiny,
    "no coordinates": lambda: _planted(city=lambda c: dataclasses.replace(c, latitude=None, longitude=None)),
    "no challenges": lambda: _planted(drop=("FACES", "COVERS")),
    "no cohorts": lambda: _planted(drop=("MEMBER_OF", "COVERS")),
    # the poles and both sides of the antimeridian: great-circle distances
    "poles": lambda: _planted(city=lambda c: dataclasses.replace(
        c, latitude=max(-90.0, min(90.0, (c.latitude - 50) * 9)), longitude=(c.longitude * 20 + 360) % 360 - 180)),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_the_reviewers_commands_finish_and_print_nothing_untrue(capsys, tmp_path, network):
    write_bundle(tmp_path / "bundle", *NETWORKS[network]())
    db = f"sqlite:///{tmp_path / 'odd.db'}"
    said = {}
    # import without its own re-learning: `tune` comes next, once (test_tuning covers the import's re-learning)
    for name, argv in {"import": ["import", str(tmp_path / "bundle"), "--no-tune"], "tune": ["tune"],
                       "dry run": ["tune", "--dry-run"], "evaluate": ["evaluate", "store"], "status": ["status"],
                       "peers": ["recommend", "peers", "syn-city-0"],
                       "themes": ["recommend", "peers", "syn-city-0", "--challenge", "syn-theme-0"]}.items():
        code, out, err = run(capsys, "--store", db, *argv)
        assert code == 0 and "Traceback" not in err, (name, err)
        assert not re.search(r"\b(nan|inf)\b", out, re.I), (name, out)
        said[name] = out
    if network == "tiny":  # it shares a cohort with both others: what it lacks is another city on the theme
        assert said["themes"] == "no peers found for syn-city-0: no other city works on syn-theme-0\n"
        assert "(none: no city is in two or more cohorts with other members, so no membership can be hidden while " \
               "its city keeps one)" in said["evaluate"]
    if network == "no coordinates":
        assert re.search(r"\n  nearest cities( +\d\.\d{3}){3}  = popularity\n", said["evaluate"]), said["evaluate"]
    if network == "no challenges":
        assert re.search(r"\n  challenge IDF( +\d\.\d{3}){3}  = popularity\n", said["evaluate"]), said["evaluate"]
        assert "(none: none of the" in said["evaluate"] and "cohorts has themes (COVERS))" in said["evaluate"]


def test_a_filter_that_leaves_out_the_only_city_on_the_theme_says_so(capsys, tmp_path):
    """It said "left out all 1 cities syn-city-1 shares a challenge, cohort or partner with" of a question on a
    theme, where the one candidate is the one city working on it."""
    write_bundle(tmp_path / "bundle", *_tiny())
    db = f"sqlite:///{tmp_path / 'tiny.db'}"
    assert run(capsys, "--store", db, "import", str(tmp_path / "bundle"))[0] == 0
    code, out, _ = run(capsys, "--store", db, "recommend", "peers", "syn-city-1", "--themes-of", "syn-cohort-0",
                       "--country", "DE")
    assert code == 0 and out == ("no peers found for syn-city-1: the filters (country DE) left out the 1 city other "
                                 "than syn-city-1 working on syn-theme-0 (the themes of syn-cohort-0)\n")


def test_no_peers_on_a_store_of_more_than_a_thousand_cities_says_why(capsys, tmp_path):
    """On a store of over 1,000 cities, a question the filters left empty asked recommend for k = the store's
    size, and was refused: "k=1201 is out of range; ask for 1 to 1000 matches", a k the user never gave."""
    assert run(capsys, "generate", str(tmp_path / "g"), "--cities", "1200", "--seed", "1")[0] == 0
    db = f"sqlite:///{tmp_path / 'g.db'}"
    assert run(capsys, "--store", db, "import", str(tmp_path / "g"), "--no-tune")[0] == 0
    code, out, err = run(capsys, "--store", db, "recommend", "peers", "syn-city-000000", "--k", "3", "--country", "AQ")
    assert code == 0 and err == ""
    assert out == ("no peers found for syn-city-000000: the filters (country AQ) left out all of the 1,000 or more "
                   "cities syn-city-000000 shares a challenge, cohort or partner with\n")
