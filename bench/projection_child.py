"""Run in a fresh process so peak memory belongs to the projection alone: prints JSON figures."""

from __future__ import annotations

import json
import resource
import sys
import time

from graph.projection import Projection
from graph.store import open_store


def main(url: str) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = open_store(url)
    t0 = time.perf_counter()
    projection = Projection.from_store(store)
    t1 = time.perf_counter()
    faces = projection.matrix("FACES", weight="priority")
    t2 = time.perf_counter()
    graph = projection.to_networkx()
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"read_s": t1 - t0, "matrix_s": t2 - t1, "networkx_s": t3 - t2, "total_s": t3 - t0,
                      "peak_mb": peak / 1024, "baseline_mb": base / 1024, "nodes": graph.number_of_nodes(),
                      "edges": graph.number_of_edges(), "faces_nnz": int(faces.matrix.nnz)}))


if __name__ == "__main__":
    main(sys.argv[1])
