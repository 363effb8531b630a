"""A bounded write storm against a live server: writer threads send GraphQL mutations, each different, and
record which were acknowledged; it stops when told, after each writer's quota, or at its time limit."""

from __future__ import annotations

import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.reliability.live import graphql

Mutation = Callable[[int, int], tuple[str, str]]  # (writer, n) -> (GraphQL mutation, the __typename of success)


@dataclass
class Storm:
    acknowledged: list[tuple[int, int]] = field(default_factory=list)  # (writer, n) of every acknowledged write
    unanswered: int = 0  # sent, and the connection failed before an answer: may or may not have committed
    refused: list[str] = field(default_factory=list)  # answered, but not with success
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def storm(base: str, token: str, mutation: Mutation, *, writers: int, quota: int, seconds: float,
          on_ack: Callable[[Storm], None] = lambda _: None) -> Storm:
    """Run `writers` threads of at most `quota` writes each, for at most `seconds`."""
    state = Storm()
    deadline = time.monotonic() + seconds

    def write(writer: int) -> None:
        for n in range(quota):
            if state.stop.is_set() or time.monotonic() > deadline:
                return
            query, success = mutation(writer, n)
            try:
                status, answer = graphql(base, query, token, timeout=30)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                with state.lock:
                    state.unanswered += 1
                return  # the server is gone
            data = (answer.get("data") or {}) if status == 200 else {}
            with state.lock:
                if data and next(iter(data.values()))["__typename"] == success:
                    state.acknowledged.append((writer, n))
                else:
                    state.refused.append(f"{status}: {str(answer)[:300]}")
            on_ack(state)

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0) + 35)
    return state
