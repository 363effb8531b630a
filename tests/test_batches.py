"""Batch planning for Bolt: batches keep order and fit the server's limit, sized the way the server reads."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import ValueTooLargeError
from graph.neo4j_store import (
    FALKORDB_ENVELOPE,
    FALKORDB_MAX_MESSAGE,
    _needs_escape,
    falkordb_rendered_size,
    literal_bound,
    literal_size,
    packed_size,
    plan_batches,
    plan_groups,
    upsert_statement,
)

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text()
float_free = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()  # beyond 64 bits: fallback
QUERY = "UNWIND $rows AS r RETURN r"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abcd"), scalars, max_size=4), max_size=60),
       st.integers(600, 5000), st.sampled_from([literal_size, packed_size]))
def test_batches_keep_order_and_fit(rows, limit, size):
    try:
        batches = plan_batches(QUERY, rows, max_bytes=limit, size=size)
    except ValueTooLargeError:
        assert any(size(r) + len(QUERY) + 64 > limit for r in rows)
        return
    assert [r for b in batches for r in b] == rows
    for batch in batches:
        assert len(QUERY) + 64 + sum(size(r) + 2 for r in batch) <= limit


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=20), st.lists(st.lists(scalars, max_size=4), max_size=30), max_size=8),
       st.integers(600, 5000), st.sampled_from([literal_size, literal_bound, packed_size]), st.integers(1, 50))
def test_groups_keep_order_fit_and_repeat_their_key(groups, limit, size, max_rows):
    """...and every batch is full: the row that starts the next one would not have fitted (a group is
    placed whole when it fits, row by row otherwise)."""
    try:
        batches = plan_groups(QUERY, groups, max_bytes=limit, size=size, max_rows=max_rows)
    except ValueTooLargeError:
        assert any(size(r) + size(k) + len(QUERY) + 64 + 10 > limit for k, rows in groups.items() for r in rows)
        return
    sent = [(key, row) for batch in batches for key, rows in batch for row in rows]
    assert sent == [(key, row) for key, rows in groups.items() for row in rows]
    for batch in batches:
        assert size(batch) + len(QUERY) + 64 <= limit
        assert sum(len(rows) for _, rows in batch) <= max_rows
        assert all(rows for _, rows in batch)
    for batch, following in pairwise(batches):
        used = len(QUERY) + 64 + sum(size(key) + 8 + sum(size(r) + 2 for r in rows) for key, rows in batch)
        key, rows = following[0]
        need = size(rows[0]) + 2 + (0 if key == batch[-1][0] else size(key) + 8)
        assert sum(len(rows) for _, rows in batch) >= max_rows or used + need > limit


@pytest.mark.parametrize(("value", "literal"), [
    (None, "null"), (True, "true"), (12, "12"), ("it's", "'it\\'s'"), ([1, "a"], "[1, 'a']"),
    ({"k": [None], "x": {}}, "{k: [null], x: {}}"),
])
def test_literal_size_matches_the_rendering_it_models(value, literal):
    assert literal_size(value) == len(literal)


@settings(max_examples=300, deadline=None)
@given(st.recursive(float_free, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner), max_leaves=20))
def test_literal_bound_is_an_upper_bound_close_to_literal_size(value):
    """literal_bound sizes FalkorDB rows without floats: never below literal_size (a message it passes must
    pass the server), and above it only by what JSON writes longer inside strings: commas (counted as list
    separators), double quotes and control characters (escaped)."""
    strings, stack = [], [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list | tuple):
            stack += v
        elif isinstance(v, str):
            strings.append(v)
    slack = sum(t.count(",") + t.count('"') + 5 * sum(ord(c) < 32 for c in t) for t in strings)
    assert literal_size(value) <= literal_bound(value) <= literal_size(value) + slack


@given(st.dictionaries(st.sampled_from(["rows", "v"]), st.lists(st.text(max_size=8) | st.integers(), max_size=6)))
def test_escape_is_needed_when_a_string_holds_a_quote_or_backslash(params):
    """Never no for ' or \\; yes otherwise only for what JSON escapes (a double quote, a control character;
    anything beyond ASCII when an integer beyond 64 bits sends it to the standard library's encoder)."""
    texts = [x for values in params.values() for x in values if isinstance(x, str)]
    certain = any("'" in t or "\\" in t for t in texts)
    maybe = any(c == '"' or not " " <= c <= "~" for t in texts for c in t)
    assert _needs_escape(params) if certain else (not _needs_escape(params) or maybe)


def test_packed_size_is_exact_for_what_the_driver_sends():
    from neo4j._codec.packstream.v1 import Packer

    class Buffer(bytearray):
        def write(self, data):
            self.extend(data)

    for value in [None, True, 1, -17, 200, 70_000, 2**40, 1.5, "x" * 300, [1, "ab"], {"a": {"b": [None]}}]:
        out = Buffer()
        Packer(out).pack(value)
        assert packed_size(value) == len(out), value


def test_one_row_too_large_names_the_field():
    with pytest.raises(ValueTooLargeError, match=r"City x: field 'note' is 5,00\d bytes"):
        plan_batches(QUERY, [{"id": "x", "note": "n" * 5000}], max_bytes=3800, describe=lambda r: f"City {r['id']}")


texts_and_ints = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=40)
row_values = st.lists(texts_and_ints | st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5)


@settings(max_examples=100, deadline=None)
@given(st.lists(row_values, max_size=200), st.sampled_from([literal_size, literal_bound]))
def test_falkordb_messages_render_within_the_limit(rows, size):
    """What FalkorDB's endpoint writes into its 4,096-byte buffer (CYPHER rows=[...] and the query) stays within
    FALKORDB_MAX_MESSAGE for every planned message, sized exactly (literal_size) or from above (literal_bound,
    for rows without floats)."""
    if size is literal_bound:
        rows = [[v for v in row if not isinstance(v, float)] or [None] for row in rows]
    query = upsert_statement("FACES", "target")[0]
    for batch in plan_batches(query, rows, max_bytes=FALKORDB_MAX_MESSAGE, size=size, envelope=FALKORDB_ENVELOPE):
        assert falkordb_rendered_size(query, {"rows": batch}) <= FALKORDB_MAX_MESSAGE
    groups = {f"key-{i % 7}": [tuple(r) for r in rows[i::7]] for i in range(7)}
    for batch in plan_groups(query, groups, max_bytes=FALKORDB_MAX_MESSAGE, size=size, envelope=FALKORDB_ENVELOPE):
        assert falkordb_rendered_size(query, {"rows": batch}) <= FALKORDB_MAX_MESSAGE


@pytest.mark.parametrize(("value", "rendered"), [
    (None, "NULL"), (False, "false"), (-42, "-42"), (2**40, "1099511627776"), (52.3676, "52.367600"),
    (1e30, "1000000000000000019884624838656.000000"), ("it's", "'it\\'s'"), ("Zürich", "'Zürich'"),
    (["a", [1, None]], "['a', [1, NULL]]"), ({"k": 1, "m": "x"}, "{k: 1, m: 'x'}"),
])
def test_literal_size_counts_what_falkordb_renders(value, rendered):
    """FalkorDB writes NULL, decimal integers, floats as C's %f, strings in '...' (escaped by the store),
    lists and maps with ", " (src/bolt/bolt_api.c, write_value); sizes are UTF-8 bytes."""
    assert literal_size(value) == len(rendered.encode())


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 13, 17, 21, 34])
def test_falkordb_messages_are_full_and_within_the_limit(width):
    """Every message but the last renders within FALKORDB_MAX_MESSAGE, and one more row would not have fitted."""
    query = "UNWIND $rows AS r RETURN count(r)"
    rows = [("x" * width, i) for i in range(3000)]
    batches = plan_batches(query, rows, max_bytes=FALKORDB_MAX_MESSAGE, size=literal_size, envelope=FALKORDB_ENVELOPE)
    for batch, following in pairwise(batches):
        rendered = falkordb_rendered_size(query, {"rows": batch})
        assert rendered <= FALKORDB_MAX_MESSAGE < rendered + literal_size(following[0]) + 2
