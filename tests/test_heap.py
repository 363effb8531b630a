"""graph.heap: full garbage collections wait for the outermost bulk build, whichever thread ends last."""

from __future__ import annotations

import gc
import threading

import pytest

from graph.heap import long_lived


def test_thresholds_come_back_when_the_last_of_two_threads_ends_its_build():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def build() -> None:
        with long_lived():
            inside.set()
            release.wait(10)

    other = threading.Thread(target=build)
    other.start()
    assert inside.wait(10)
    with long_lived():
        assert gc.get_threshold()[:2] == before[:2]  # young collections as before
    assert gc.get_threshold()[2] > 10**9  # the other build still runs: no full collections yet
    release.set()
    other.join(10)
    assert gc.get_threshold() == before


def test_thresholds_come_back_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(KeyError), long_lived():
        raise KeyError("x")
    assert gc.get_threshold() == before
