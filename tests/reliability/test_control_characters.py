"""Text holds no control characters but tabs and line breaks: the model took any (a NUL in a challenge's name, an
ESC in a city's), and then `citypeers export x.graphml` / `x.gexf` wrote files no XML reader opens, and `citypeers
show` sent the ESC sequences to the terminal. And a message naming a value stays on one line whatever the value
holds (a CSV cell with a line break printed its problem over several lines)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graph.errors import ValidationError
from graph.model import Challenge, City
from graph.projection import Projection, read_graph, write_graph
from tests.test_cli import run


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x0b", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_a_control_character_is_refused_naming_field_and_place(character):
    with pytest.raises(ValidationError) as err:
        Challenge(id="housing", name=f"Hou{character}sing")
    assert f"has the control character U+{ord(character):04X} at character 4" in str(err.value)


@pytest.mark.parametrize("character", ["\u202a", "\u202d", "\u202e", "\u2066", "\u2069"])
def test_a_bidirectional_override_is_refused_as_it_would_reorder_what_follows_it(character):
    """An unclosed right-to-left override in a city's name displays what follows it reversed: the rest of a
    reason that names the city ("works with Riga<U+202E> and Tallinn"), or of a report's row. It was taken."""
    with pytest.raises(ValidationError) as err:
        City(id="riga", name=f"Riga{character}agiR", country="LV")
    assert (f"name 'Riga\\u{ord(character):04x}agiR': has the bidirectional control U+{ord(character):04X} at "
            "character 5, which reorders the text shown after it") in str(err.value)


def test_right_to_left_text_and_direction_marks_are_text():
    """Hebrew and Arabic names need no control; the marks U+200E and U+200F only set a direction (one GCoM
    signatory's name holds a U+200E)."""
    City(id="riga", name="\u05e8\u05d9\u05d2\u05d4", country="LV")
    City(id="cairo", name="\u0627\u0644\u0642\u0627\u0647\u0631\u0629\u200f", country="EG")
    City(id="x", name="Gemeente\u200e Test", country="NL")


def test_tabs_and_line_breaks_are_text():
    Challenge(id="housing", name="Housing", description="Rents\tand\r\nprices\u2028rising")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(st.characters(exclude_categories=()), min_size=1, max_size=30),
       description=st.none() | st.text(st.characters(exclude_categories=()), max_size=60))
def test_every_accepted_text_survives_graphml_and_gexf(name, description):
    try:
        nodes = [City(id="riga", name=name, country="LV"), Challenge(id="housing", name="Housing",
                                                                      description=description)]
    except ValidationError:
        assume(False)  # refused up front: never in a store, so never exported
        return
    graph = Projection(nodes, [], version=1).to_networkx()
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("graphml", "gexf"):
            write_graph(graph, Path(folder) / f"g.{fmt}", fmt)
            back = read_graph(Path(folder) / f"g.{fmt}", fmt)
            # whole, or with XML's line ends: a writer that escapes a carriage return (&#13;) keeps it, one that
            # writes it raw has the reader turn it into a line feed (lxml's writer and the standard library's differ)
            assert back.nodes["riga"]["name"] in {name, name.replace("\r\n", "\n").replace("\r", "\n")}, fmt


def test_the_api_refuses_a_nul_as_a_field_problem(sqlite_store):
    from tests.test_graphql import execute

    query = """mutation($n: String!) { upsertChallenge(input: {id: "housing", name: $n}) {
        __typename ... on ValidationError { problems { field message } } } }"""
    out = execute(sqlite_store, query, {"n": "Hou\x00sing"}, role="editor")["data"]["upsertChallenge"]
    assert out == {"__typename": "ValidationError", "problems": [
        {"field": "name", "message": "has the control character U+0000 at character 4; text may hold tabs and line "
                                     "breaks, no other control characters"}]}
    assert sqlite_store.version() == 0


def test_a_bad_cell_is_one_line_of_the_report_whatever_it_holds(capsys, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "cities.csv").write_text('id,name,country\n"new\nyork",New York,US\nparis,Par\x1bis,FR\n')
    code, _, err = run(capsys, "--store", f"sqlite:///{tmp_path / 's.db'}", "import", str(bundle))
    assert code == 2 and err.splitlines() == [
        "citypeers: 2 problem(s); nothing was written:",
        "  cities.csv:2: id 'new\\nyork': ids use lower-case letters, digits and . _ : - (not at either end), at most "
        "128 characters",
        "  cities.csv:4: name 'Par\\x1bis': has the control character U+001B at character 4; text may hold tabs and "
        "line breaks, no other control characters"]
    assert not (tmp_path / "s.db").exists()  # nothing written, not even a new store
