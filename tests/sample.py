"""A tiny graph with known answers, shared by the tests (synthetic: no real people)."""

from graph.model import (
    Challenge,
    City,
    Cohort,
    Faces,
    Leader,
    MemberOf,
    Partner,
    PartnersWith,
    PartOf,
    PeersWith,
    Serves,
    WorksOn,
)

NODES = [
    City(id="riga", name="Riga", country="LV", region="Europe", population=605802, latitude=56.946,
         longitude=24.10589, geonames_id=456172),
    City(id="tallinn", name="Tallinn", country="EE", region="Europe", population=394024, latitude=59.43696,
         longitude=24.75353, geonames_id=588409),
    City(id="vilnius", name="Vilnius", country="LT", region="Europe", population=542366),
    Challenge(id="housing", name="Housing", description="Homes people can afford"),
    Challenge(id="affordable-housing", name="Affordable housing"),
    Challenge(id="mobility", name="Mobility"),
    Partner(id="test-foundation", name="Test Foundation", sector="philanthropy", country="NL",
            website="https://example.org"),
    Cohort(id="test-cohort", name="Test cohort", programme="Test programme", start="2020-01-01", end="2021-12-31"),
    Leader(id="leader-1", name="Synthetic Leader 1", role="mayor", contact="leader1@example.org"),
]
RELATIONSHIPS = [
    Faces(source="riga", target="housing", priority=1, since=2019, note="rents up 40%"),
    Faces(source="tallinn", target="housing", priority=2),
    Faces(source="tallinn", target="mobility"),
    Faces(source="vilnius", target="affordable-housing"),
    PartOf(source="affordable-housing", target="housing"),
    WorksOn(source="test-foundation", target="housing"),
    PartnersWith(source="test-foundation", target="riga", since=2020, project="Digital permits"),
    PeersWith(source="riga", target="tallinn", origin="test", since=2018),
    MemberOf(source="riga", target="test-cohort", role="lead", year=2020),
    MemberOf(source="leader-1", target="test-cohort", role="participant"),
    Serves(source="leader-1", target="riga", role="mayor"),
]
