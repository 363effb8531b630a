"""A cohort's themes (COVERS: the challenges a programme or network covers), as a peer query's focus.

"Peers for Riga on the programme's themes" is `recommend("riga", challenges=cohort_themes(p, cohort))`.

>>> from graph.model import Challenge, Cohort, Covers
>>> from graph.projection import Projection
>>> p = Projection([Cohort(id="c", name="C", programme="P"), Challenge(id="h", name="Housing")],
...                [Covers(source="c", target="h")], version=1)
>>> cohort_themes(p, "c")
['h']
"""

from __future__ import annotations

from graph.errors import NotFoundError, UsageError, shown
from graph.projection import Projection


def cohort_themes(projection: Projection, cohort_id: str) -> list[str]:
    """The challenge ids the cohort covers, sorted; raises when there is no such cohort or it has none."""
    if cohort_id not in projection.ids("Cohort"):
        raise NotFoundError(f"no cohort with id {shown(cohort_id)}")
    themes = sorted(r.target for r in projection.outgoing("COVERS", cohort_id))
    if not themes:
        raise UsageError(f"cohort {shown(cohort_id)} has no themes (no COVERS relationship to a challenge); "
                         "add its themes or ask for peers without them")
    return themes
