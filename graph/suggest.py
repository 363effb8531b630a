"""Suggestions for an unknown id: the closest existing ids ("did you mean 'amsterdam'?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from graph.errors import NotFoundError, shown
from graph.model import slug

CUTOFF = 0.6  # similarity (difflib's ratio) an id needs to be suggested


def not_found(kind: str, node_id: str, ids: Iterable[str], *, actual: str | None = None) -> NotFoundError:
    """NotFoundError for an unknown id, suggesting the closest existing ids (in `.suggestions`); `actual`: the
    kind of the node that does have the id, said when it is another (a cohort's id where a city is asked for
    read only "no city with id 'eu-digital-services'").

    >>> str(not_found("City", "eu-digital-services", ["amsterdam"], actual="Cohort"))
    "no city with id 'eu-digital-services' (it is a cohort's id)"
    """
    close = closest(node_id, ids)
    hint = f"; {did_you_mean(close)}" if close else ""
    other = f" (it is a {actual.lower()}'s id)" if actual and actual != kind else ""
    return NotFoundError(f"no {kind.lower()} with id {shown(node_id)}{other}{hint}", suggestions=close)


def did_you_mean(close: list[str]) -> str:
    """ "did you mean 'amsterdam' or 'rotterdam'?" for the closest ids, "" for none."""
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def closest(wanted: str, ids: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` existing ids closest to `wanted`: its slug when that exists, else ids that contain it or
    start alike, ranked by similarity. Cheap at 100,000 ids (the pairwise comparison runs on the few that
    share a first letter or contain the slug).

    >>> closest("Amsterdam", ["amsterdam", "rotterdam"]), closest("amsterdm", ["amsterdam", "riga"])
    (['amsterdam'], ['amsterdam'])
    >>> closest("bhcli-first-class", ["bhcli-class-1", "bhcli-class-2", "eu-digital-services"])
    ['bhcli-class-1', 'bhcli-class-2']
    >>> closest("eu", ["bhcli-class-1", "eu-digital-services"]), closest("x", ["amsterdam"])
    (['eu-digital-services'], [])
    """
    key = slug(wanted) or wanted.lower()
    pool = list(ids)
    if key in pool:
        return [key]
    matcher, scored = difflib.SequenceMatcher(), []  # difflib.get_close_matches, with ties in id order
    matcher.set_seq2(key)
    for candidate in (i for i in pool if i[:1] == key[:1] or key in i):
        matcher.set_seq1(candidate)
        if len(key) > 1 and key in candidate:  # "eu" -> "eu-digital-services": a part of the id, as good as close
            scored.append((-max(matcher.ratio(), CUTOFF), candidate))
        elif matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF and matcher.ratio() >= CUTOFF:
            scored.append((-matcher.ratio(), candidate))
    return [candidate for _, candidate in sorted(scored)[:n]]
