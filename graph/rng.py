"""Seeded random generators, made in one place so that every command and field taking a seed (the group
search, the hold-outs of `tune` and `evaluate`, synthetic bundles) refuses a bad one in the same words."""

from __future__ import annotations

import numpy as np

from graph.errors import UsageError


def seeded(seed: int) -> np.random.Generator:
    """numpy's generator for `seed`: the same seed, the same draws. A negative seed is a UsageError naming it
    (numpy's own ValueError says only "expected non-negative integer", and reached clients as a crash).

    >>> int(seeded(7).integers(1000)) == int(seeded(7).integers(1000))
    True
    >>> seeded(-1)
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: seed=-1 is out of range; use 0 or more
    """
    if seed < 0:
        raise UsageError(f"seed={seed} is out of range; use 0 or more")
    return np.random.default_rng(seed)
