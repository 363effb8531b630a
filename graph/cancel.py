"""Work abandoned by whoever asked for it stops at its next checkpoint.

A GraphQL request past its deadline gets 504 at once (server.Deadline), but the work it started runs in a
worker thread, which Python cannot stop from outside: a learning-group search over a 1,500-city cohort went on
for minutes after its 504, holding a GraphQL worker, and eight such requests held all of them (every request
then got 504 until they finished). So the deadline sets the request's `Event`, held in a context variable that
follows the request into its worker threads, and long loops call `checkpoint()`, which raises `Abandoned` once
it is set. Outside a request (the CLI, tests) there is no event and a checkpoint costs one lookup.

>>> import threading
>>> checkpoint()  # nothing asked to stop
>>> event = threading.Event()
>>> token = CANCELLED.set(event)
>>> checkpoint(); event.set()
>>> checkpoint()
Traceback (most recent call last):
...
graph.cancel.Abandoned: abandoned: its request passed its deadline
>>> CANCELLED.reset(token)
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

from graph.errors import CitypeersError

CANCELLED: ContextVar[threading.Event | None] = ContextVar("citypeers_cancelled", default=None)


class Abandoned(CitypeersError):
    """The work's request was abandoned (its deadline passed); nobody waits for its answer, and the server's
    log has one line for it (code TIMEOUT), not a traceback."""

    code = "TIMEOUT"


def checkpoint() -> None:
    """Raise `Abandoned` when the work in progress was abandoned; else nothing."""
    event = CANCELLED.get()
    if event is not None and event.is_set():
        raise Abandoned("abandoned: its request passed its deadline")
