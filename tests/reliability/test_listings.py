"""Issue #22, point 12: the cities listing's filters and usual orders are indexed in both stores. In SQLite a
filtered page in such an order reads an index in that order (no scan of the kind, no sort of what the filter
matched), and a store made before the indexes gets them, with the same answers."""

from __future__ import annotations

import json
import sqlite3

import pytest

from graph.model import City
from graph.store import LISTING_FILTERS, LISTING_SORTS, Order, open_store

CITIES = [City(id=f"c{i:02d}", name=f"City {i % 7}", country=("NL", "DE", "LV")[i % 3],
               region=("Europe", None)[i % 5 == 0], population=None if i % 4 == 0 else 1000 * (i % 6))
          for i in range(40)]


def _plans(store, **listing) -> list[str]:
    """SQLite's query plan for every statement `store.list` runs."""
    statements: list[str] = []
    with store._reading() as db:  # this thread's read connection, which listings use
        db.set_trace_callback(statements.append)
        try:
            store.list("City", **listing)
        finally:
            db.set_trace_callback(None)
        return [detail for sql in statements if sql.startswith("SELECT")
                for *_, detail in db.execute("EXPLAIN QUERY PLAN " + sql)]


@pytest.mark.parametrize("order", [Order(), Order("id", descending=True),
                                   *(Order(field, descending=way == "desc") for field, way in LISTING_SORTS)])
@pytest.mark.parametrize("where", [{}, {"country": "LV"}, {"region": "Europe"}])
def test_a_filtered_sorted_page_reads_an_index_in_its_order(sqlite_store, where, order):
    sqlite_store.upsert(CITIES)
    first = sqlite_store.list("City", where=where, first=5, order=order)
    plans = _plans(sqlite_store, where=where, first=5, order=order, after=first.end_cursor)
    assert plans and not [p for p in plans if "TEMP B-TREE" in p or p.startswith("SCAN")], plans
    if where:  # the filter is in the index, not tested on every node of the kind
        assert not [p for p in plans if "nodes_kind" in p], plans
    wanted = sorted((c for c in CITIES if all(getattr(c, k) == v for k, v in where.items())), key=order.key)
    assert first.items + sqlite_store.list("City", where=where, first=50, order=order,
                                           after=first.end_cursor).items == wanted


def test_a_filtered_count_reads_one_index(sqlite_store):
    sqlite_store.upsert(CITIES)
    statements: list[str] = []
    with sqlite_store._reading() as db:  # this thread's read connection, which counts use
        db.set_trace_callback(statements.append)
        assert sqlite_store.count("City", where={"country": "LV"}) == 13
        db.set_trace_callback(None)
        plan = [d for *_, d in db.execute("EXPLAIN QUERY PLAN " + statements[-1])]
    assert len(plan) == 1 and "USING COVERING INDEX" in plan[0] and "(kind=? AND country=?)" in plan[0], plan


def test_a_store_made_before_the_listing_columns_gets_them(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the nodes table as it was
        db.execute("CREATE TABLE nodes (id TEXT PRIMARY KEY, kind TEXT NOT NULL, props TEXT NOT NULL) WITHOUT ROWID")
        db.executemany("INSERT INTO nodes VALUES (?, 'City', ?)",
                       [(c.id, json.dumps({k: v for k, v in c.record().items() if k != "id"})) for c in CITIES])
    db.close()
    with open_store(f"sqlite:///{path}") as store:
        order = Order("population", descending=True)
        assert store.list("City", where={"country": "NL"}, first=50, order=order).items == sorted(
            (c for c in CITIES if c.country == "NL"), key=order.key)
        assert store.count("City", search="city 3") == len([c for c in CITIES if c.name == "City 3"])
        store.upsert([City(id="c00", name="Renamed", country="LV")])
        assert store.list("City", where={"country": "LV"}, first=1, order=Order("name", True)).items[0].id == "c00"


@pytest.mark.bolt
def test_bolt_stores_index_the_listing_fields(store):
    if "sqlite" in store.url:
        pytest.skip("the Bolt half")
    if store.flavour == "falkordb":
        rows = store._read("CALL db.indexes() YIELD label, properties RETURN label, properties")
        indexed = {p for r in rows if r["label"] == "City" for p in r["properties"]}
    else:
        rows = store._read("SHOW INDEXES YIELD labelsOrTypes, properties RETURN labelsOrTypes, properties")
        indexed = {p for r in rows if r["labelsOrTypes"] == ["City"] for p in r["properties"]}
    assert indexed >= {*LISTING_FILTERS, *(field for field, _ in LISTING_SORTS)}
