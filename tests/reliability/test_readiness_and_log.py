"""/readyz tells an empty store apart, and the request log measures what a client waited (issue #22, point 11)."""

from __future__ import annotations

import json

from server import ArrivalOrder, RequestLog, Settings, create_app
from tests.test_server import _asgi


def test_an_empty_store_is_reported_as_empty_not_ready(tmp_path):
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        sent = _asgi(app, "GET", "/readyz")
        body = json.loads(sent[1]["body"])
        assert sent[0]["status"] == 503 and body["status"] == "empty" and body["cities"] == 0
        assert "citypeers seed" in body["hint"]
    finally:
        app.state.store.close()


def test_the_request_log_wraps_the_wait_for_a_turn(tmp_path):
    # duration_ms is measured outside ArrivalOrder, so it includes the time a request queued for its turn
    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'log.db'}"))
    try:
        outer = [m.cls for m in app.user_middleware]
        assert outer.index(RequestLog) == 0 and outer.index(ArrivalOrder) == 1
    finally:
        app.state.store.close()
