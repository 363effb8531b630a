"""Incremental refresh: a MatchingIndex after a few relationship changes, without rebuilding it.

A full build at 100k cities takes ~5 s (plus ~10 s to read the store). A write through the API changes a
handful of relationships: a city's challenge, a dismissal, a meeting, a membership. Here only what they
touch is recomputed: the changed cities' rows (direct and taxonomy-expanded challenges, the dense block,
TF-IDF, cohorts, partners, known peers, feedback) and the touched columns of the inverted indexes, with
the challenges' degrees and rarity weights. Arrays are spliced into new ones, never edited in place, so
requests still reading the previous snapshot are not disturbed.

Not incremental (the caller rebuilds): the taxonomy (PART_OF), relationships to nodes the index does not
know, and anything beyond relationships (node writes arrive as a "rebuild" entry of the change log). Two
things are kept from the last full build on purpose: the choice of dense columns (a speed choice; scores
do not depend on it) and TF-IDF's vocabulary and idf weights (a changed city's document is re-encoded with
them; the Engine refits in the background afterwards, so text similarity converges to a full build's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from graph.projection import Projection
from graph.store import Change
from matching.index import MatchingIndex, city_document, popularity_of

# kinds whose changes the index absorbs; SERVES, WORKS_ON and COVERS (read from the projection) do not touch it
INDEXED = {"FACES", "MEMBER_OF", "PARTNERS_WITH", "PEERS_WITH", "DISMISSED"}
IGNORED = {"SERVES", "WORKS_ON", "COVERS"}


def index_with_changes(index: MatchingIndex, changes: Sequence[Change],
                       projection: Projection) -> MatchingIndex | None:
    row = index.city_row
    cohort_col = {c: i for i, c in enumerate(index.cohort_ids)}
    partner_col = {p: i for i, p in enumerate(index.partner_ids)}
    faces: set[int] = set()
    members: set[int] = set()
    partners: dict[int, dict[int, bool]] = {}  # city row -> partner column -> present after the changes
    pairs: set[tuple[str, str]] = set()
    for change in changes:
        kind, source, target = change.key
        if kind in IGNORED:
            continue
        if kind not in INDEXED:
            return None  # the taxonomy: rebuild
        if kind == "FACES":
            if source not in row or target not in index.challenge_col:
                return None
            faces.add(row[source])
        elif kind == "MEMBER_OF":
            if target not in cohort_col:
                return None
            if source in row:  # leaders' and partners' memberships are not in the index
                members.add(row[source])
        elif kind == "PARTNERS_WITH":
            if target not in row or source not in partner_col:
                return None
            partners.setdefault(row[target], {})[partner_col[source]] = change.relationship is not None
        else:  # PEERS_WITH, DISMISSED
            if source not in row or target not in row:
                return None
            pairs.add((source, target))
    out = dataclasses.replace(index, version=projection.version)
    if faces:
        out = _faces(out, sorted(faces), projection)
    if members:
        rows = {r: _ones(sorted(cohort_col[m.target] for m in projection.outgoing("MEMBER_OF", index.city_ids[r])))
                for r in sorted(members)}
        out = dataclasses.replace(out, cohorts=_set_slices(out.cohorts, rows),
                                  cohort_members=_set_columns(out.cohort_members, rows, _old(out.cohorts, rows)))
    if partners:
        rows = _edited(out.partners, partners)
        out = dataclasses.replace(out, partners=_set_slices(out.partners, rows),
                                  partner_cities=_set_columns(out.partner_cities, rows, _old(out.partners, rows)))
    if members or partners:
        popularity = popularity_of(out.cohorts, out.partners)
        out = dataclasses.replace(out, popularity=popularity, popularity32=popularity.astype(np.float32))
    if pairs:
        out = _pairs(out, pairs, projection)
    return out


def _faces(index: MatchingIndex, rows: list[int], projection: Projection) -> MatchingIndex:
    col = index.challenge_col
    direct_rows, expanded_rows, text_rows = {}, {}, {}
    for r in rows:
        mine = projection.outgoing("FACES", index.city_ids[r])
        direct_rows[r] = _ones(sorted(col[f.target] for f in mine))
        vector = sp.csr_array((direct_rows[r][1], direct_rows[r][0], [0, len(direct_rows[r][0])]),
                              shape=(1, len(index.challenge_ids)))
        expanded = (vector @ index.taxonomy).tocsr()
        expanded.sort_indices()
        expanded_rows[r] = (expanded.indices.astype(np.int64), np.minimum(expanded.data, 1.0))
        if index.vectorizer is not None:
            encoded = sp.csr_array(index.vectorizer.transform([city_document(mine, index.challenge_text)]))
            encoded.sort_indices()
            text_rows[r] = (encoded.indices.astype(np.int64), encoded.data)
    old_cols = _old(index.challenges, expanded_rows)
    challenges = _set_slices(index.challenges, expanded_rows)
    by_column = _set_columns(index.challenges_by_column, expanded_rows, old_cols)
    touched = np.unique(np.concatenate([old_cols, *(c for c, _ in expanded_rows.values())])).astype(np.int64)
    degree = index.degree.copy()
    degree[touched] = np.diff(by_column.indptr)[touched]
    rarity = index.rarity.copy()
    rarity[touched] = 1.0 / np.log1p(np.maximum(degree[touched], 1))
    dense_block, dense_block32 = index.dense_block, index.dense_block32
    if index.dense_cols.size:  # both copies, edited on the changed rows only
        dense_block, dense_block32 = dense_block.copy(order="F"), dense_block32.copy(order="F")
        for r, (cols, vals) in expanded_rows.items():
            full = np.zeros(len(index.challenge_ids))
            full[cols] = vals
            dense_block[r] = full[index.dense_cols]
            dense_block32[r] = dense_block[r]
    text = _set_slices(index.text, text_rows) if text_rows else index.text
    return dataclasses.replace(index, direct=_set_slices(index.direct, direct_rows), challenges=challenges,
                               challenges_by_column=by_column, degree=degree, rarity=rarity,
                               dense_block=dense_block, dense_block32=dense_block32,
                               text=text)


def _pairs(index: MatchingIndex, pairs: set[tuple[str, str]], projection: Projection) -> MatchingIndex:
    """Known peers (either direction) and feedback (dismissed by the row city, or met: both ways)."""
    row = index.city_row

    def has(kind: str, a: str, b: str, met: bool = False) -> bool:
        return any(r.target == b and (not met or r.origin == "met") for r in projection.outgoing(kind, a))

    known, again = {}, {}
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            known.setdefault(row[x], {})[row[y]] = has("PEERS_WITH", x, y) or has("PEERS_WITH", y, x)
            again.setdefault(row[x], {})[row[y]] = (has("DISMISSED", x, y) or has("PEERS_WITH", x, y, met=True)
                                                     or has("PEERS_WITH", y, x, met=True))
    return dataclasses.replace(index, known_peers=_set_slices(index.known_peers, _edited(index.known_peers, known)),
                               not_again=_set_slices(index.not_again, _edited(index.not_again, again)))


def _edited(matrix: sp.csr_array, edits: dict[int, dict[int, bool]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows = {}
    for r, cols in edits.items():
        present = set(_row(matrix, r)[0].tolist())
        present |= {c for c, on in cols.items() if on}
        present -= {c for c, on in cols.items() if not on}
        rows[r] = _ones(sorted(present))
    return rows


def _ones(cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(cols, dtype=np.int64), np.ones(len(cols))


def _row(matrix, r: int) -> tuple[np.ndarray, np.ndarray]:
    start, stop = matrix.indptr[r], matrix.indptr[r + 1]
    return matrix.indices[start:stop].astype(np.int64), matrix.data[start:stop]


def _set_slices(matrix, replacement: dict[int, tuple[np.ndarray, np.ndarray]]):
    """A copy of a CSR (rows) or CSC (columns) array with some slices replaced: one pass of concatenation,
    O(stored entries) memory copies and no Python loop over them."""
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    idx_parts, data_parts, prev = [], [], 0
    lengths = np.diff(indptr).astype(np.int64)
    for r in sorted(replacement):
        cols, vals = replacement[r]
        idx_parts += [indices[indptr[prev]:indptr[r]], np.asarray(cols, dtype=indices.dtype)]
        data_parts += [data[indptr[prev]:indptr[r]], np.asarray(vals, dtype=data.dtype)]
        lengths[r] = len(cols)
        prev = r + 1
    idx_parts.append(indices[indptr[prev]:])
    data_parts.append(data[indptr[prev]:])
    # keep the index dtype (int32 at this scale): scipy would otherwise copy every index to a common one
    new_indptr = np.zeros(len(indptr), dtype=indices.dtype if lengths.sum() < np.iinfo(indices.dtype).max
                          else np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    return type(matrix)((np.concatenate(data_parts), np.concatenate(idx_parts), new_indptr), shape=matrix.shape,
                        copy=False)


def _old(by_row, rows: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The columns the given rows of `by_row` held before they are replaced."""
    return np.unique(np.concatenate([_row(by_row, r)[0] for r in rows] + [np.zeros(0, np.int64)]))


def _set_columns(by_column, new_rows: dict[int, tuple[np.ndarray, np.ndarray]], old_cols: np.ndarray):
    """The column-major companion of a matrix whose rows `new_rows` were replaced (their old columns:
    `old_cols`): each touched column loses the changed rows' entries and gains their new ones."""
    changed = np.array(sorted(new_rows), dtype=np.int64)
    touched = np.unique(np.concatenate([old_cols.astype(np.int64), *(c for c, _ in new_rows.values())]))
    replacement = {}
    for c in touched.tolist():
        rows, vals = _row(by_column, c)
        keep = ~np.isin(rows, changed)
        rows, vals = rows[keep], vals[keep]
        add_rows, add_vals = [], []
        for r, (cols, values) in new_rows.items():
            at = np.searchsorted(cols, c)
            if at < len(cols) and cols[at] == c:
                add_rows.append(r)
                add_vals.append(values[at])
        if add_rows:
            where = np.searchsorted(rows, add_rows)
            rows, vals = np.insert(rows, where, add_rows), np.insert(vals, where, add_vals)
        replacement[c] = (rows, vals)
    return _set_slices(by_column, replacement)
