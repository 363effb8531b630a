"""The evaluation data sets as whole graphs, to load into a store and run `citypeers evaluate store` on.

- ``urbact``: every URBACT network as a cohort covering its themes, every membership (FACES without notes);
- ``gcom``: GCoM signatories, with each Covenant Coordinator's and Supporter's group of cities as a cohort
  (the organisations become programmes here, not partners), covering the commitments most of its members
  made. These are the only cohorts: the joint action plans' groups that `load_gcom` also reads are left
  out, so that the hold-out asks what issue #21 defined it to (its figures are comparable over time).

    python -m evaluation.datasets urbact --store sqlite:///urbact.db
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from graph.model import Cohort, MemberOf, Node, Relationship
from graph.store import open_store

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def urbact_graph(folder: Path = DATA / "urbact") -> tuple[list[Node], list[Relationship]]:
    from evaluation.urbact import load_urbact

    data = load_urbact(folder)
    projection = data.history(max(n.start for n in data.networks.values()) + 1)
    # FACES notes are the networks' descriptions: a hidden membership would leave its network's words in the
    # city's text (and the other members'), so they are left out here. The themes a city FACES still come
    # from its networks, hidden ones included: that helps the engine and the challenge baselines alike.
    return ([n for nodes in projection.nodes.values() for n in nodes],
            [dataclasses.replace(r, note=None) if r.KIND == "FACES" else r
             for rels in projection.relationships.values() for r in rels])


def gcom_graph(folder: Path = DATA / "gcom") -> tuple[list[Node], list[Relationship]]:
    from evaluation.gcom import covers, faced_by, load_gcom

    nodes, rels = load_gcom(folder)
    groups = {n.id: n for n in nodes if n.KIND == "Partner"}
    faced = faced_by(rels)
    members: dict[str, list[str]] = {}
    for r in rels:
        if r.KIND == "PARTNERS_WITH":
            members.setdefault(r.source, []).append(r.target)
    out_nodes: list[Node] = [n for n in nodes if n.KIND not in ("Partner", "Cohort")]
    out_rels: list[Relationship] = [r for r in rels if r.KIND not in ("PARTNERS_WITH", "MEMBER_OF", "COVERS")]
    for gid, cities in members.items():
        group = groups[gid]
        out_nodes.append(Cohort(id=gid, name=group.name, programme=f"GCoM {group.provenance.split()[-1]} group",
                                provenance=group.provenance))
        out_rels += [MemberOf(source=city, target=gid) for city in cities]
        out_rels += covers(gid, cities, faced)
    return out_nodes, out_rels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.datasets", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("urbact", "gcom"))
    parser.add_argument("--store", required=True, metavar="URL", help="the store to write into, e.g. sqlite:///x.db")
    args = parser.parse_args(argv)
    nodes, rels = (urbact_graph if args.dataset == "urbact" else gcom_graph)()
    store = open_store(args.store)
    try:
        result = store.upsert(nodes, rels)
    finally:
        store.close()
    print(f"{args.dataset}: {len(nodes):,} nodes, {len(rels):,} relationships -> {args.store} "
          f"(data version {result.version})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
