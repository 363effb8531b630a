"""A seeded synthetic network with planted cohorts (synthetic: no real places or people).

Cohorts draw their members from one area of the map and cover two of a dozen themes; members face their
cohorts' themes now and then and some themes at random; partners work with a few cohorts' members. So
membership is predictable from geography, themes and co-membership, as in real programmes, without any of
them alone giving it away.
"""

from __future__ import annotations

import numpy as np

from graph.model import Challenge, City, Cohort, Covers, Faces, MemberOf, Node, Partner, PartnersWith, Relationship
from graph.projection import Projection


def planted(*, cities: int = 120, cohorts: int = 16, seed: int = 0) -> tuple[list[Node], list[Relationship]]:
    rng = np.random.default_rng(seed)
    themes = [Challenge(id=f"syn-theme-{t}", name=f"Synthetic theme {t}") for t in range(12)]
    centres = rng.uniform([40, -5], [60, 25], size=(cohorts, 2))
    nodes: list[Node] = [*themes]
    rels: list[Relationship] = []
    covers = [rng.choice(len(themes), size=2, replace=False) for _ in range(cohorts)]
    for c in range(cohorts):
        nodes.append(Cohort(id=f"syn-cohort-{c}", name=f"Synthetic cohort {c}", programme="Synthetic programme",
                            provenance="synthetic"))
        rels += [Covers(source=f"syn-cohort-{c}", target=themes[t].id) for t in covers[c]]
    for i in range(cities):
        home = int(rng.integers(cohorts))
        lat, lon = centres[home] + rng.normal(0, 1.5, size=2)
        nodes.append(City(id=f"syn-city-{i}", name=f"Synthetic city {i}", country="FR", latitude=float(lat),
                          longitude=float(lon), population=int(rng.integers(10_000, 1_000_000)),
                          provenance="synthetic"))
        near = np.argsort(np.hypot(*(centres - [lat, lon]).T))[: 1 + int(rng.integers(1, 4))]
        faced = set()
        for c in near.tolist():
            rels.append(MemberOf(source=f"syn-city-{i}", target=f"syn-cohort-{c}"))
            faced |= {int(t) for t in covers[c] if rng.random() < 0.5}
        faced |= {int(t) for t in rng.choice(len(themes), size=2, replace=False)}
        rels += [Faces(source=f"syn-city-{i}", target=themes[t].id) for t in sorted(faced)]
    for p in range(8):
        nodes.append(Partner(id=f"syn-partner-{p}", name=f"Synthetic partner {p}", sector="network",
                             provenance="synthetic"))
        served = {r.source for r in rels if isinstance(r, MemberOf) and r.target in (f"syn-cohort-{2 * p}",
                                                                                     f"syn-cohort-{2 * p + 1}")}
        rels += [PartnersWith(source=f"syn-partner-{p}", target=c) for c in sorted(served) if rng.random() < 0.7]
    return nodes, rels


def planted_projection(**options) -> Projection:
    nodes, rels = planted(**options)
    return Projection(nodes, rels, version=1)


DRIVERS = ("popularity", "geography", "themes")


def driven(driver: str, *, cities: int = 300, cohorts: int = 30,
           seed: int = 0) -> tuple[list[Node], list[Relationship]]:
    """A seeded synthetic network whose cohorts are drawn by one mechanism alone (synthetic: no real places or
    people), to check that the same `tune` finds it on any network:

    - ``popularity``: each city has a heavy-tailed activity (Pareto); a cohort's members are drawn in
      proportion to it, wherever they are and whatever they face;
    - ``geography``: a cohort's members are the cities nearest a random centre;
    - ``themes``: a cohort covers two of 15 themes; its members are drawn from the cities facing both.

    Every city faces three themes at random (the ``themes`` cohorts' members face theirs too) and lies at a
    random point; each joins one cohort at least.
    """
    if driver not in DRIVERS:
        raise ValueError(f"driver {driver!r}; use one of {', '.join(DRIVERS)}")
    rng = np.random.default_rng(seed)
    themes = [Challenge(id=f"syn-theme-{t}", name=f"Synthetic theme {t}") for t in range(15)]
    coords = rng.uniform([40, -5], [60, 25], size=(cities, 2))
    activity = rng.pareto(1.5, size=cities) + 0.05
    faced = [set(rng.choice(len(themes), size=3, replace=False).tolist()) for _ in range(cities)]
    nodes: list[Node] = [*themes]
    rels: list[Relationship] = []
    members: list[set[int]] = []
    for c in range(cohorts):
        size = int(rng.integers(6, 16))
        covered = rng.choice(len(themes), size=2, replace=False).tolist()
        if driver == "popularity":
            chosen = rng.choice(cities, size=size, replace=False, p=activity / activity.sum())
        elif driver == "geography":
            centre = rng.uniform([40, -5], [60, 25])
            chosen = np.argsort(np.hypot(*(coords - centre).T))[:size]
        else:
            chosen = rng.choice(cities, size=size, replace=False)
            for i in chosen.tolist():
                faced[i] |= set(covered)
        members.append(set(chosen.tolist()))
        nodes.append(Cohort(id=f"syn-cohort-{c}", name=f"Synthetic cohort {c}", programme="Synthetic programme",
                            provenance="synthetic"))
        rels += [Covers(source=f"syn-cohort-{c}", target=themes[t].id) for t in covered]
    for i in range(cities):
        if not any(i in m for m in members):
            members[int(rng.integers(cohorts))].add(i)
        nodes.append(City(id=f"syn-city-{i}", name=f"Synthetic city {i}", country="FR",
                          latitude=float(coords[i, 0]), longitude=float(coords[i, 1]),
                          population=int(rng.integers(10_000, 1_000_000)), provenance="synthetic"))
        rels += [Faces(source=f"syn-city-{i}", target=themes[t].id) for t in sorted(faced[i])]
    rels += [MemberOf(source=f"syn-city-{i}", target=f"syn-cohort-{c}")
             for c, m in enumerate(members) for i in sorted(m)]
    return nodes, rels


PARTNER_DRIVERS = ("cohorts", "geography", "popularity", "themes")


def partnered(driver: str, *, cities: int = 300, cohorts: int = 30, partners: int = 25,
              seed: int = 0) -> tuple[list[Node], list[Relationship]]:
    """The ``themes`` network of `driven` with partner organisations whose links follow one mechanism alone
    (synthetic):

    - ``cohorts``: each cohort has one or two organisations (a programme's partners); each of its members
      works with each of them with probability 0.8;
    - ``geography``: organisations sit at random points; a city works with the nearest, likely the second
      (0.7) and perhaps the third (0.3);
    - ``popularity``: organisations have a heavy-tailed reach (Pareto); a city works with one to three drawn
      in proportion to it;
    - ``themes``: each organisation works on two themes (WORKS_ON); a city works with one to three of
      those working on a theme it faces.
    """
    from graph.model import WorksOn

    if driver not in PARTNER_DRIVERS:
        raise ValueError(f"driver {driver!r}; use one of {', '.join(PARTNER_DRIVERS)}")
    nodes, rels = driven("themes", cities=cities, cohorts=cohorts, seed=seed)
    rng = np.random.default_rng(seed + 100)
    city_nodes = [n for n in nodes if isinstance(n, City)]
    coords = np.array([[c.latitude, c.longitude] for c in city_nodes])
    faced: dict[str, set[str]] = {}
    members: dict[str, list[str]] = {}
    for r in rels:
        if isinstance(r, Faces):
            faced.setdefault(r.source, set()).add(r.target)
        elif isinstance(r, MemberOf):
            members.setdefault(r.target, []).append(r.source)
    themes = sorted({t for f in faced.values() for t in f})
    works = [set(rng.choice(themes, size=2, replace=False).tolist()) for _ in range(partners)]
    links: set[tuple[int, str]] = set()
    if driver == "cohorts":
        for cohort in sorted(members):
            for p in rng.choice(partners, size=int(rng.integers(1, 3)), replace=False).tolist():
                links |= {(p, c) for c in members[cohort] if rng.random() < 0.8}
    elif driver == "geography":
        centres = rng.uniform([40, -5], [60, 25], size=(partners, 2))
        for i, city in enumerate(city_nodes):
            order = np.argsort(np.hypot(*(centres - coords[i]).T)).tolist()
            links |= {(p, city.id) for p, chance in zip(order, (1.0, 0.7, 0.3), strict=False) if rng.random() < chance}
    elif driver == "popularity":
        reach = rng.pareto(1.2, size=partners) + 0.05
        for city in city_nodes:
            drawn = rng.choice(partners, size=int(rng.integers(1, 4)), replace=False, p=reach / reach.sum())
            links |= {(p, city.id) for p in drawn.tolist()}
    else:
        for city in city_nodes:
            able = [p for p in range(partners) if works[p] & faced.get(city.id, set())]
            if able:
                drawn = rng.choice(able, size=min(len(able), int(rng.integers(1, 4))), replace=False)
                links |= {(p, city.id) for p in drawn.tolist()}
        rels += [WorksOn(source=f"syn-partner-{p}", target=t) for p in range(partners) for t in sorted(works[p])]
    nodes += [Partner(id=f"syn-partner-{p}", name=f"Synthetic partner {p}", sector="network", provenance="synthetic")
              for p in range(partners)]
    rels += [PartnersWith(source=f"syn-partner-{p}", target=c) for p, c in sorted(links)]
    return nodes, rels
