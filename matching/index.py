"""The matching index: sparse matrices built once from a Projection, read by every recommendation.

Rows are cities (sorted ids). Columns of the challenge matrix are challenges, with each city's challenges
*expanded up the taxonomy*: facing "affordable housing" also counts, at `parent_weight`, toward "housing".
Rarity weights follow resource allocation / Adamic-Adar: a challenge faced by d cities weighs 1/log(1+d),
so sharing a rare challenge says more than sharing one that everybody faces.

>>> from graph.model import City, Challenge, Faces, PartOf
>>> from graph.projection import Projection
>>> p = Projection([City(id="a", name="A", country="FR"), City(id="b", name="B", country="FR"),
...                 Challenge(id="h", name="Housing"), Challenge(id="ah", name="Affordable housing")],
...                [Faces(source="a", target="ah"), Faces(source="b", target="h"),
...                 PartOf(source="ah", target="h")], version=1)
>>> index = MatchingIndex.build(p)
>>> index.challenges.toarray().tolist()  # columns: ah, h
[[1.0, 0.5], [0.0, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from graph.model import City, Node
from graph.projection import Projection


@dataclass(frozen=True)
class MatchingIndex:
    version: int
    city_ids: tuple[str, ...]
    city_row: dict[str, int]
    cities: tuple[City, ...]
    challenge_ids: tuple[str, ...]
    challenge_col: dict[str, int]
    nodes: dict[str, Node]  # challenges, partners, cohorts by id (for explanations)
    ancestors: dict[str, frozenset[str]]  # challenge -> its parents, grandparents, ...
    challenges: sp.csr_array  # cities x challenges, taxonomy-expanded, 1 for a direct challenge
    direct: sp.csr_array  # cities x challenges, direct only (for "shared challenges" evidence)
    rarity: np.ndarray  # per challenge: 1 / log(1 + number of cities facing it, expanded)
    partners: sp.csr_array  # cities x partners (PARTNERS_WITH)
    partner_ids: tuple[str, ...]
    cohorts: sp.csr_array  # cities x cohorts (MEMBER_OF)
    cohort_ids: tuple[str, ...]
    text: sp.csr_array  # cities x terms, L2-normalised TF-IDF of their challenges' texts and notes
    known_peers: sp.csr_array  # cities x cities, symmetric PEERS_WITH
    population: np.ndarray  # 0 where unknown
    region: tuple[str | None, ...]
    country: tuple[str, ...]

    @classmethod
    def build(cls, projection: Projection, *, parent_weight: float = 0.5) -> MatchingIndex:
        faces = projection.matrix("FACES")
        city_ids, challenge_ids = faces.rows, faces.cols
        col = faces.col_index
        direct = (faces.matrix > 0).astype(np.float64)
        # Taxonomy: E[c, ancestor] = parent_weight ** depth; the identity keeps direct challenges at 1.
        n = len(challenge_ids)
        rows, cols, vals = list(range(n)), list(range(n)), [1.0] * n
        parent = {r.source: r.target for r in projection.relationships["PART_OF"]}
        ancestors: dict[str, frozenset[str]] = {}
        for child in challenge_ids:
            node, weight, seen = parent.get(child), parent_weight, {child}
            while node is not None and node not in seen:
                rows.append(col[child])
                cols.append(col[node])
                vals.append(weight)
                seen.add(node)
                node, weight = parent.get(node), weight * parent_weight
            ancestors[child] = frozenset(seen - {child})
        expand = sp.csr_array((vals, (rows, cols)), shape=(len(challenge_ids),) * 2)
        expanded = (direct @ expand).tocsr()
        expanded.data = np.minimum(expanded.data, 1.0)  # a city facing child and parent: the parent counts once
        degree = np.asarray((expanded > 0).sum(axis=0)).ravel()
        rarity = 1.0 / np.log1p(np.maximum(degree, 1))
        partners = projection.matrix("PARTNERS_WITH")  # partners x cities
        cohorts = projection.matrix("MEMBER_OF", source="City")
        peers = projection.matrix("PEERS_WITH").matrix
        known = ((peers + peers.T) > 0).astype(np.float64).tocsr()
        nodes = {n.id: n for kind in ("Challenge", "Partner", "Cohort") for n in projection.nodes[kind]}
        cities = tuple(projection.nodes["City"])  # sorted by id, as city_ids
        return cls(
            version=projection.version, city_ids=city_ids, city_row=faces.row_index, cities=cities,
            challenge_ids=challenge_ids, challenge_col=col, nodes=nodes, ancestors=ancestors,
            challenges=expanded, direct=direct.tocsr(),
            rarity=rarity, partners=sp.csr_array(partners.matrix.T), partner_ids=partners.rows,
            cohorts=cohorts.matrix, cohort_ids=cohorts.cols, text=_text_matrix(projection, city_ids, col),
            known_peers=known,
            population=np.array([c.population or 0 for c in cities], dtype=np.float64),
            region=tuple(c.region for c in cities), country=tuple(c.country for c in cities),
        )


def _text_matrix(projection: Projection, city_ids: tuple[str, ...], col: dict[str, int]) -> sp.csr_array:
    """Each city as one document: the names and descriptions of its challenges plus its own notes on them."""
    challenge_text = {c.id: f"{c.name} {c.description or ''}" for c in projection.nodes["Challenge"]}
    docs: dict[str, list[str]] = {city: [] for city in city_ids}
    for rel in projection.relationships["FACES"]:
        docs[rel.source].append(challenge_text[rel.target])
        if rel.note:
            docs[rel.source].append(rel.note)
    corpus = [" ".join(docs[city]) for city in city_ids]
    if not any(doc.strip() for doc in corpus):
        return sp.csr_array((len(city_ids), 1))
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
    try:
        return sp.csr_array(vectorizer.fit_transform(corpus))
    except ValueError:  # only stop words
        return sp.csr_array((len(city_ids), 1))
