"""The whole network's report (`citypeers report network`): every city's peers, exposure and coverage.

At 100,000 cities every signal for every city is ~100,000 peer searches (minutes); the network report ranks
instead by the challenge signal alone, computed for all cities at once (`matching.similar.most_similar`,
the numbers `citypeers batch similar` prints and `recommendPeers` reports as the `challenges` signal), then
applies the same exposure cap (`matching.batch.spread`). The cities' sections are produced one at a time
while the files are written, so memory stays bounded (report.json is written as a stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from matching.batch import spread
from matching.engine import Fitted
from matching.index import row_of
from matching.similar import most_similar
from reports.build import MEANINGS, SCHEMA, exposure_summary
from reports.params import Parameters
from reports.provenance import inputs_sha256, software

Progress = Callable[[int], None]
NETWORK_PARAMETERS = ("k", "max_exposure")
RANKING = ("Network reports rank peers by the challenge signal alone (weight 1), for every city at once; a cohort "
           "report, or recommendPeers, adds the other signals.")


def network_report(fitted: Fitted, params: Parameters, *,
                   progress: Progress | None = None) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """(head, cities): report.json's fields but `cities`, and an iterator over the cities' sections."""
    index = fitted.peers.index_
    depth = params.k if params.max_exposure is None else 3 * params.k
    similar = most_similar(index, k=depth, progress=progress)
    ranked = {}
    for i, city in enumerate(similar.city_ids):
        row = similar.neighbours[i]
        ranked[city] = [(int(j), float(s)) for j, s in zip(row[row >= 0], similar.scores[i][row >= 0], strict=True)]
    ids = index.city_ids
    names = {c.id: c.name for c in index.cities}
    result = spread(ranked, ids, k=params.k, max_exposure=params.max_exposure, depth=depth,
                    peer=lambda m: ids[m[0]], score=lambda m: m[1], named=lambda c: f"{names[c]} ({c})")
    head = {
        "schema": SCHEMA, "kind": "network", "data_version": fitted.version,
        # the parameters a network report takes (it recorded the cohort report's group sizes, seed, partners and
        # people too until 2026-12-07, values it never used)
        "inputs_sha256": inputs_sha256(fitted.projection), "software": software(),
        "parameters": {key: value for key, value in params.as_json().items() if key in NETWORK_PARAMETERS},
        "counts": {"cities": len(ids), "countries": len(set(index.country))},
        "method": {"peer_signals": [{"name": "challenges", "weight": 1.0, "meaning": MEANINGS["challenges"]}],
                   "partner_signals": [], "weights_source": RANKING},
        "cohort": None,
        "summary": exposure_summary(result, params, names, ("city", "cities"), shares="a challenge"),
    }
    return head, _cities(fitted, result.lists)


def _cities(fitted: Fitted, lists: dict[str, list[tuple[int, float]]]) -> Iterator[dict[str, Any]]:
    index = fitted.peers.index_
    for i, city_id in enumerate(index.city_ids):
        mine = set(row_of(index.direct, i)[0].tolist())
        peers = []
        for rank, (j, score) in enumerate(lists[city_id], 1):
            other = index.cities[j]
            shared = [index.nodes[index.challenge_ids[c]] for c in row_of(index.direct, j)[0].tolist() if c in mine]
            names = ", ".join(c.name for c in shared[:3]) + (f" and {len(shared) - 3} more" if len(shared) > 3 else "")
            reason = (f"{other.name} also faces {names}." if shared else
                      f"{other.name} faces challenges related to yours (through the taxonomy).")
            peers.append({"rank": rank, "id": other.id, "name": other.name, "country": other.country, "score": score,
                          "signals": [{"name": "challenges", "value": score, "contribution": score}],
                          "shared_challenges": [{"id": c.id, "name": c.name} for c in shared], "reason": reason})
        yield {"id": city_id, "name": index.cities[i].name, "country": index.country[i], "peers": peers}
