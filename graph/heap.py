"""Building many long-lived objects without CPython's full garbage collections walking them over and over.

A projection of 100k cities makes ~1.3M nodes and relationships that all live on, and reading a bundle as
many. CPython 3.11 runs a full collection whenever the objects promoted to its oldest generation since the
last one pass a quarter of those already there, so a build of N such objects walks the growing heap
about ten times: measured at 100k cities, 1.8 of the projection's 9.3 s read and 2.6 of an 18 s bundle
read were full collections, each finding nothing to free (frozen dataclasses of strings and numbers do
not form cycles). Young collections still run, so short-lived cycles are freed as usual.

`long_lived()` postpones full collections until the outermost build ends; threads share the setting,
so it is counted and restored by whichever build ends last. `paused()` is the stronger form for a build
that also makes thousands of young containers it keeps (a Bolt upsert's rows): no collections at all,
counted and restored the same way.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None
_NEVER = 2**31 - 1  # gen-1 collections between full ones: never, in practice
_paused = 0
_was_enabled = False


@contextmanager
def long_lived() -> Iterator[None]:
    """No full collections while the block runs (young ones still do); the thresholds come back after.

    >>> before = gc.get_threshold()
    >>> with long_lived():
    ...     with long_lived():
    ...         gc.get_threshold()[2] > 10**9
    True
    >>> gc.get_threshold() == before
    True
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], _NEVER)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off while the block runs, and as it was once the last paused block in any thread
    ends (so a collector that was off stays off). Reference counting still frees everything else at once.

    >>> with paused():
    ...     with paused():
    ...         gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
