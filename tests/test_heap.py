"""graph.heap: full garbage collections wait for the outermost bulk build, whichever thread ends last."""

from __future__ import annotations

import gc
import threading

import pytest

from graph.heap import long_lived, paused


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


def test_paused_restores_the_collector_as_it_found_it():
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():  # a build that fails still turns it back on
        assert not gc.isenabled()
        with paused():  # nested: the inner call leaves it off for the outer one
            pass
        assert not gc.isenabled()
        raise ValueError("a build that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()  # off before, so not turned on by a call that did not turn it off
    finally:
        gc.enable()
