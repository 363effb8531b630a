"""Projection to networkx and scipy, and graph-file exports that networkx reads back."""

from __future__ import annotations

import pytest

from graph.projection import Projection, read_graph, write_graph
from tests.sample import NODES, RELATIONSHIPS


@pytest.fixture
def projection(store):
    store.upsert(NODES, RELATIONSHIPS)
    return Projection.from_store(store)


def test_matrices_match_the_relationships(projection):
    faces = projection.matrix("FACES", weight="priority")
    assert faces.rows == ("riga", "tallinn", "vilnius")
    assert faces.cols == ("affordable-housing", "housing", "mobility")
    assert faces.matrix.toarray().tolist() == [[0, 1, 0], [0, 2, 1], [1, 0, 0]]
    members = projection.matrix("MEMBER_OF", source="Leader")
    assert members.rows == ("leader-1",) and members.matrix.sum() == 1


def test_networkx_graph_has_every_node_and_relationship(projection):
    graph = projection.to_networkx()
    assert graph.number_of_nodes() == len(NODES) and graph.number_of_edges() == len(RELATIONSHIPS)
    assert graph.nodes["riga"] == {"kind": "City", "label": "Riga", "name": "Riga", "country": "LV",
                                   "region": "Europe", "population": 605802, "latitude": 56.946,
                                   "longitude": 24.10589, "geonames_id": 456172}
    assert graph.edges["riga", "housing"] == {"kind": "FACES", "priority": 1, "since": 2019, "note": "rents up 40%"}


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json"])
def test_graph_files_read_back_with_the_same_counts_and_attributes(projection, tmp_path, fmt):
    graph = projection.to_networkx()
    write_graph(graph, tmp_path / f"g.{fmt}", fmt)
    back = read_graph(tmp_path / f"g.{fmt}", fmt)
    assert (back.number_of_nodes(), back.number_of_edges()) == (graph.number_of_nodes(), graph.number_of_edges())
    riga = back.nodes["riga"]
    assert (riga["kind"], riga["country"], int(riga["population"]), float(riga["latitude"])) == (
        "City", "LV", 605802, 56.946)
    edge = back.edges["riga", "housing"]
    assert edge["kind"] == "FACES" and int(edge["priority"]) == 1
