"""uvicorn's httptools protocol with bounds on a request's head (its request line and headers).

uvicorn bounds neither the size of a head nor the time it may take to arrive. A client that sent one header
value without end made the server buffer all of it, and httptools joins a value's pieces with `bytes +=`, so
each new piece copied everything before it on the event loop: one connection streaming a header held every
other request, `/healthz` included, for 9-13 s at a time, and 286 MB of header grew the process by 350 MB
(2026-12-07). Nor did a connection that stopped half-way through its head ever end (slowloris: 300 of them
were all still open 20 s later). h11, uvicorn's other protocol, has a size limit but would halve the requests
a worker answers (README, "Dependencies": httptools).

`BoundedHead` answers 431 `HEADERS_TOO_LARGE` once a head passes MAX_BYTES, and 408 `REQUEST_TIMEOUT` when
a head is not whole HEAD_SECONDS after its connection opened or its previous request was answered (a
connection that sent nothing by then is closed without an answer, as uvicorn closes an idle keep-alive
one). The body is not counted here: `server.BodyLimit` bounds it and `server.Deadline` the time to read it.
`citypeers serve` uses it; with `uvicorn server:app`, pass `--http http_head:BoundedHead`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ERRORS = logging.getLogger("citypeers.errors")
MAX_BYTES = 64 * 1024  # request line and headers; a GET's ?query= of the longest document (2,000 tokens) fits
HEAD_SECONDS = 10.0  # from the connection's opening, or the previous answer, to the end of the head


class BoundedHead(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a head over MAX_BYTES (431) or slower than HEAD_SECONDS (408)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._head_bytes: int | None = None  # bytes of the head under way; None before it begins and after it ends
        self._message_ended_here = False  # a request ended inside the piece being parsed (see data_received)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._message_ended_here = False
        super().data_received(data)
        # a head still under way after this piece: counted as it comes, so an endless one is cut off. A piece in
        # which a request ended (pipelined) holds the end of its body before the next head, so it is not
        # counted: such a head may pass the limit by one piece (asyncio reads at most 256 KiB), still bounded
        if self._head_bytes is not None and not self._message_ended_here:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_BYTES:
                self._too_large()

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():  # not after an answer of ours (see on_headers_complete)
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._stop_head_timer()
        # a head that came whole in one piece: its size from its parts (without the CRLFs and colons it had)
        if len(self.url) + sum(len(name) + len(value) for name, value in self.headers) > MAX_BYTES:
            self._too_large()
            raise _Refused  # stops the parser: the request is not handed to the app
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._message_ended_here = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._start_head_timer()  # for the next request's head, if the connection is kept alive

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes is not None:  # part of a head came: say why it ends
            self._refuse(408, "REQUEST_TIMEOUT", f"the request line and headers did not arrive within "
                         f"{HEAD_SECONDS:g} s; send the whole request at once")
        elif self.cycle is None:  # nothing at all since the connection opened
            self.transport.close()

    def _too_large(self) -> None:
        if not self.transport.is_closing():
            self._refuse(431, "HEADERS_TOO_LARGE", f"the request line and headers are over {MAX_BYTES:,} bytes; "
                         "send less in headers, and a long query by POST in a JSON body")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer `status` with a JSON error in the app's shape, and close the connection."""
        self._head_bytes = None
        self._stop_head_timer()
        ERRORS.info(json.dumps({"error": code, "client": self.client and list(self.client), "message": message}))
        body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body),
                 b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request already answered (httptools stops at once)."""
