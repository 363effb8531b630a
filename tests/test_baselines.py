"""The simple baselines on tiny graphs with known answers."""

from __future__ import annotations

import pytest

from evaluation.baselines import Baselines
from graph.errors import UsageError
from graph.model import Challenge, City, Cohort, Faces, MemberOf, Partner, PartnersWith
from graph.projection import Projection
from matching.index import MatchingIndex

PLACES = {"a": (50.0, 4.0), "b": (50.1, 4.1), "c": (48.0, 2.0), "d": (40.0, -3.0), "e": (60.0, 25.0)}


@pytest.fixture(scope="module")
def baselines():
    nodes = [City(id=c, name=c.upper(), country="FR" if c in "abc" else "ES", latitude=lat, longitude=lon)
             for c, (lat, lon) in PLACES.items()]
    nodes += [Challenge(id=h, name=h) for h in ("common", "rare")]
    nodes += [Cohort(id=k, name=k, programme="P") for k in ("small", "big")]
    nodes += [Partner(id=p, name=p, sector="network") for p in ("p1", "p2")]
    rels = [Faces(source=c, target="common") for c in "abcde"] + [Faces(source=c, target="rare") for c in "ae"]
    rels += [MemberOf(source=c, target="small") for c in "ad"] + [MemberOf(source=c, target="big") for c in "abcde"]
    rels += [PartnersWith(source="p1", target=c) for c in "bc"] + [PartnersWith(source="p2", target="e")]
    return Baselines(MatchingIndex.build(Projection(nodes, rels, version=1)))


@pytest.mark.parametrize(("name", "focus", "expected"), [
    ("nearest cities", None, ["b", "c", "d", "e"]),
    ("challenge IDF", None, ["e", "b", "c", "d"]),  # the rare challenge first; ties by popularity, then id
    ("co-membership", None, ["d", "b", "c", "e"]),  # the small cohort weighs more than the big one
    ("popularity", None, ["b", "c", "d", "e"]),
    ("focused IDF", ["common"], ["b", "c", "d", "e"]),
])
def test_peer_baselines(baselines, name, focus, expected):
    assert baselines.peers(name, "a", focus=focus) == expected


def test_partner_baselines(baselines):
    assert baselines.partners("10 nearest cities' partners", "a") == ["p1", "p2"]  # b, c nearer than e
    assert baselines.partners("popularity", "a") == ["p1", "p2"]
    assert baselines.partners("same country", "d") == ["p2", "p1"]  # p2 works with e, in Spain as d is
    assert baselines.partners("popularity", "b") == ["p2"]  # never its own partners


def test_unknown_baselines_and_cities_are_named(baselines):
    with pytest.raises(UsageError, match="unknown peer baseline 'nope'"):
        baselines.peers("nope", "a")
    with pytest.raises(UsageError, match="no city with id 'zz'"):
        baselines.peers("popularity", "zz")
