"""Relay connections: pages of nodes with cursors, the page info and the total count.

Top-level listings (`cities`, `challenges`, ...) page through the store in any order they offer; the lists
under a node that grow with the network (a challenge's cities, a cohort's members, a partner's cities)
page by id through the request's DataLoaders (`id_page` here, `_city_page` in schema/types.py).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Generic, TypeVar

import strawberry

from graph.errors import UsageError
from graph.store import Order

MAX_PAGE = 100
T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def check_first(first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise UsageError(f"first={first} is out of range; ask for 0 to {MAX_PAGE} items per page")


def id_page(ids: list[str], first: int, after: str | None) -> tuple[list[str], bool]:
    """The page of sorted `ids` after the cursor `after` (an id: the cursors of an id-ordered page are its
    ids, as in the top-level listings), and whether more follow.

    >>> id_page(["a", "b", "c", "d"], 2, None), id_page(["a", "b", "c", "d"], 2, "b"), id_page(["a", "c"], 5, "b")
    ((['a', 'b'], True), (['c', 'd'], False), (['c'], False))
    """
    check_first(first)
    if after is not None:
        Order().position(after)  # another order's cursor is refused, as the listings refuse it
    start = bisect_right(ids, after) if after is not None else 0
    return ids[start:start + first], start + first < len(ids)


def connection(items: list[tuple[str, T]], has_next: bool, total: int, end_cursor: str | None) -> Connection[T]:
    """A Connection from (cursor, node) pairs; `end_cursor` is the last item's cursor, or for an empty page
    the `after` it was asked with (as the stores' listings give it)."""
    return Connection(edges=[Edge(cursor=c, node=n) for c, n in items],
                      page_info=PageInfo(has_next_page=has_next, end_cursor=end_cursor), total_count=total)
