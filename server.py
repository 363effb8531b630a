"""The ASGI app: Settings -> open_store(url) -> schema -> app.

Routes: / (a landing page: what this is, links, the store's counts), /graphql (GraphiQL in a browser unless
switched off), /schema.graphql (the SDL), /healthz (the process is alive), /readyz (the store answers and
the index is at its data version; 503 "empty" for a store without cities), /graphiql-assets/ (GraphiQL's files).
`citypeers serve` runs it; so does `uvicorn server:app`, which builds the app from the environment on its
first request (CITYPEERS_STORE, CITYPEERS_GRAPHIQL, ...).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import functools
import json
import logging
import os
import threading
import time
import urllib.parse
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException  # what Strawberry raises for a request it refuses
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError
from threadpoolctl import threadpool_limits

from graph.cancel import CANCELLED
from graph.errors import CitypeersError, UsageError, shown
from graph.store import DEFAULT_URL, GraphStore, node_counts, open_store
from graph.tokens import role_of
from landing import render as render_landing
from matching.engine import Engine
from schema import Context, Loaders, build_schema
from schema.errors import RETRY_AFTER_SECONDS, RETRY_LATER, retry_later, shortened

LOG = logging.getLogger("citypeers.requests")
ERRORS = logging.getLogger("citypeers.errors")
BUSY = ("every worker of this server is busy with other requests, so the store was not asked; try again "
        "shortly (the store may be fine)")
READY_SECONDS = 3.0  # /readyz says 503 STORE_UNAVAILABLE when the store takes longer than this to answer


def serving_process(blas_threads: int = 1) -> None:
    """Set up a process that serves, once (`citypeers serve`, `uvicorn server:app`; importing does not, so
    library users keep their own settings): the request log to stderr, and BLAS on `blas_threads` threads
    (CITYPEERS_BLAS_THREADS, default 1).

    OpenBLAS splits a vector operation longer than 10,000 over a thread per core, and the peer search makes
    such calls on every request once a network has more than 10,000 cities (an axpy per popular challenge
    of the query). A server's parallelism is its requests and its worker processes; a BLAS thread per
    core on top of that waits, on every call, for a core that another worker or process holds. Measured
    at 100k cities on this 2-core machine: two server processes under load together made 35-90 requests/s
    (p99 330-850 ms) with OpenBLAS's default threads and 630-1,090 (p99 22-52 ms) with one; one process
    with the other core kept busy, 3.1 against 0.9-1.05 ms a query. With the other core idle the second
    thread does pay, 12-18% of a query at 100k (~5% of a request): a lone worker on an otherwise idle
    machine may raise the setting."""
    log_requests()
    threadpool_limits(limits=blas_threads, user_api="blas")


def log_requests() -> None:
    """Send the request log (one JSON line per request) to stderr, once (see `serving_process`)."""
    logger = logging.getLogger("citypeers")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@dataclass(frozen=True)
class Settings:
    store_url: str = DEFAULT_URL
    graphiql: bool = True
    max_body_bytes: int = 1_000_000
    cors_origins: tuple[str, ...] = ()  # closed unless configured (CITYPEERS_CORS_ORIGINS=a,b)
    reads_need_token: bool = False  # CITYPEERS_READS=token: every GraphQL request needs a viewer token
    request_timeout: float = 10.0  # CITYPEERS_REQUEST_TIMEOUT seconds: a GraphQL request past it gets 504 TIMEOUT
    blas_threads: int = 1  # CITYPEERS_BLAS_THREADS: BLAS threads of a serving process (see serving_process)
    workers: int = 8  # threads that run GraphQL operations and store calls off the event loop (see Workers)

    @classmethod
    def from_env(cls, *, store_url: str | None = None) -> Settings:
        origins = tuple(o.strip() for o in os.environ.get("CITYPEERS_CORS_ORIGINS", "").split(",") if o.strip())
        timeout = os.environ.get("CITYPEERS_REQUEST_TIMEOUT", "10")
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 3600:
            raise UsageError(f"CITYPEERS_REQUEST_TIMEOUT={timeout!r}: give seconds, more than 0 and at most 3600")
        threads = os.environ.get("CITYPEERS_BLAS_THREADS", "1")
        if not (threads.isascii() and threads.isdigit() and 1 <= int(threads) <= 256):
            raise UsageError(f"CITYPEERS_BLAS_THREADS={threads!r}: give a whole number of threads, 1 to 256 "
                             "(1, the default, unless this is the only worker on its machine)")
        return cls(store_url=store_url or os.environ.get("CITYPEERS_STORE") or DEFAULT_URL,
                   graphiql=os.environ.get("CITYPEERS_GRAPHIQL", "1").lower() not in ("0", "false", "no", "off"),
                   cors_origins=origins, reads_need_token=os.environ.get("CITYPEERS_READS", "open") == "token",
                   request_timeout=seconds, blas_threads=int(threads))


ASSETS = Path(__file__).resolve().parent / "web" / "graphiql"
# Strawberry's GraphiQL page fetches these from a CDN; web/graphiql holds the same files (same integrity hashes)
CDN_FILES = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom.production.min.js",
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer.umd.js",
}


# Strawberry's terse refusals, said with what would be valid
REFUSALS = {
    "Unsupported content type": "unsupported content type: POST the operation as JSON with 'content-type: "
                                "application/json', or send a query with GET ?query=...",
    "Batching is not enabled": "a JSON list (a batch of operations) is not accepted: send one operation per request",
    "No GraphQL query found in the request": "no GraphQL query in the request: send {\"query\": \"...\"}",
    # a GET can be a link followed or prefetched, so it never writes; Strawberry's text did not say what would do
    "mutations are not allowed when using GET": "mutations are not accepted over GET, which never writes: POST "
                                                "them as JSON, {\"query\": \"mutation { ... }\"}",
    # a browser's GET without a query asks for GraphiQL, which CITYPEERS_GRAPHIQL=0 turned off
    "Not Found": "GraphiQL is turned off on this server (CITYPEERS_GRAPHIQL=0): send GraphQL queries with POST and a "
                 "JSON body such as {\"query\": \"{ dataVersion }\"}, or with GET /graphql?query=...",
}


def _unanswered(exc: BaseException, path: str) -> str:
    """The code for a store that does not answer (STORE_BUSY or STORE_UNAVAILABLE), its details logged."""
    code = exc.code if isinstance(exc, CitypeersError) and exc.code in RETRY_LATER else "STORE_UNAVAILABLE"
    ERRORS.info(json.dumps({"error": code, "path": path,
                            "message": str(exc) or f"no answer within {READY_SECONDS:g} s"}))
    return code


def _unready(exc: BaseException) -> JSONResponse:
    """/readyz for a store that does not answer: its code, general words, Retry-After; details to the log."""
    code = _unanswered(exc, "/readyz")
    return JSONResponse({"status": "unavailable", "code": code, "error": RETRY_LATER[code]}, status_code=503,
                        headers={"retry-after": str(RETRY_AFTER_SECONDS)})


class Workers:
    """GraphQL execution off the event loop: threads that each run an event loop of their own.

    Every store call (a DataLoader batch, the engine's version check, a write) is synchronous; run on the
    server's event loop, one that waits (a SQLite write lock held by an import, a Bolt server that is down)
    held every request with it, `/healthz` included, and the request deadline could not fire. Here the
    server's loop only parses HTTP and awaits the worker, so it stays free whatever the store does, and the
    deadline answers 504 on time (the worker finishes or fails on its own, bounded by the stores' own
    timeouts). Resolvers and DataLoaders run in the worker's loop exactly as before."""

    def __init__(self, threads: int):
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="citypeers-graphql")
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        # closed with the server, or when an app that never ran its lifespan (an embedding, a test) is dropped:
        # an event loop left open warns when it is collected
        self._finalizer = weakref.finalize(self, Workers._shut, self._pool, self._loops)

    def _run(self, work: Callable[[], Awaitable[Any]]) -> Any:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
            self._loops.append(loop)
        return loop.run_until_complete(work())

    @staticmethod
    def _shut(pool: concurrent.futures.ThreadPoolExecutor, loops: list[asyncio.AbstractEventLoop]) -> None:
        pool.shutdown(wait=False, cancel_futures=True)
        for loop in loops:
            if not loop.is_running():  # one still running (a store call past the deadline) closes with its thread
                loop.close()

    async def run(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Await `work()` (a coroutine) in a worker's event loop, in the caller's context (its request's
        graph.cancel.CANCELLED goes with it: run_in_executor alone does not carry context variables)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, self._run, work)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call a plain function in a worker, in the caller's context."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, function, *args)

    def submit(self, function: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        """Start a plain function in a worker without waiting for it."""
        return self._pool.submit(function, *args)

    def close(self) -> None:
        self._finalizer()


EXPLORER = Path(__file__).resolve().parent / "web" / "explore"
# the explorer page may fetch only from this server (tests check it in a browser as well)
EXPLORER_POLICY = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
                   "worker-src 'self' blob:; frame-ancestors 'none'")


async def explore_page(request: Request) -> FileResponse:
    """The staff network explorer (web/explore): a page of the built bundle, a client of /graphql."""
    return FileResponse(EXPLORER / "index.html", headers={"content-security-policy": EXPLORER_POLICY})


class _GraphQL(GraphQL):
    def __init__(self, store: GraphStore, engine: Engine, *, workers: Workers, reads_need_token: bool = False,
                 **kwargs: Any):
        super().__init__(build_schema(), **kwargs)
        self.store, self.engine, self.workers, self.reads_need_token = store, engine, workers, reads_need_token

    @property
    def graphql_ide_html(self) -> str:
        """Strawberry's GraphiQL page with its scripts and styles served from /graphiql-assets/."""
        html = super().graphql_ide_html
        for url, name in CDN_FILES.items():
            html = html.replace(url, f"/graphiql-assets/{name}")
        return html

    def encode_json(self, data: object) -> str | bytes:
        """orjson: ~15x faster than json.dumps on a recommendation answer (6.6 KB: 0.062 -> 0.004 ms).
        Anything it will not encode (numbers beyond 64 bits, say) goes through Strawberry's json.dumps."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        """The request body (or a GET's variables): a JSON object, or 400 BAD_REQUEST saying what is wrong.
        orjson refuses invalid UTF-8, NaN and nesting deeper than 1,024 levels by itself (json.loads crashed
        with RecursionError on variables nested 100,000 deep: a 500)."""
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            # both the body and a GET's `variables` come here: "the request body" misled a GET, which has none
            raise HTTPException(400, "the JSON sent (the request body, or a GET's variables) is not valid JSON "
                                     f"(UTF-8, at most 1,024 levels deep): {exc}") from exc
        if not isinstance(parsed, dict | list):  # a list is a batch, which Strawberry refuses by name
            raise HTTPException(400, f"the request body must be a JSON object such as {{\"query\": \"{{ dataVersion "
                                     f"}}\"}}, not a JSON {type(parsed).__name__.replace('str', 'string')}")
        return parsed

    async def parse_http_body(self, request: Any) -> Any:
        """The request's query, variables and operationName; an operationName that is not text is refused by
        name (Strawberry passed `["A"]` on and answered 'Unknown operation named "['A']"'). A compressed body is
        refused as such (415): it was read as JSON, and a gzip body was said to be "not valid UTF-8"."""
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            raise HTTPException(415, f"the request body is compressed (content-encoding: {shown(encoding)}), which "
                                     "this server does not take: send it uncompressed")
        data = await super().parse_http_body(request)
        if not isinstance(getattr(data, "operation_name", None), str | None):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")
        return data

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Who is asking, before anything else: a request that sends a token must send a valid one (401
        UNAUTHENTICATED otherwise, whatever it asks for; a valid token without the role a field needs is
        FORBIDDEN there), and with CITYPEERS_READS=token every operation needs one."""
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            header = headers.get(b"authorization", b"").decode("latin-1")
            role = None
            if sum(name == b"authorization" for name, _ in scope.get("headers") or []) > 1:
                # which one counts would be ours to guess (the last did), and a proxy may have checked another
                await _unauthenticated("the request has more than one Authorization header: send one, "
                                       "'Authorization: Bearer <token>'")(scope, receive, send)
                return
            if header:
                try:
                    role = await self.workers.call(role_of, self.store, header)
                except CitypeersError as exc:
                    await _store_error(exc)(scope, receive, send)
                    return
                if role is None:
                    await _unauthenticated("the token in the Authorization header is not valid (unknown, revoked, "
                                           "expired, or not 'Bearer <token>'): send a valid token or none at all")(
                        scope, receive, send)
                    return
            elif self.reads_need_token and not _is_ide_page(scope, headers):
                await _unauthenticated("this server needs a token for reads: send 'Authorization: Bearer <token>' "
                                       "(any role)")(scope, receive, send)
                return
            scope.setdefault("state", {})["citypeers_role"] = role
            try:
                response = await self.run(Request(scope, receive))
            except ClientDisconnect:
                return  # the client went away before its request was whole: nobody to answer (logged as 499)
            except HTTPException as exc:  # Strawberry's own answer is plain text: the same with a code
                message = shortened(REFUSALS.get(exc.reason, exc.reason))
                if isinstance(exc.__cause__, CannotGetOperationTypeError) and exc.__cause__.operation_name:
                    # Strawberry's text held the whole name (a 900 KB operationName came back whole)
                    message = (f"operationName {shown(exc.__cause__.operation_name)} names no operation of the query; "
                               "give the name of one of its operations, or leave operationName out when it has one")
                code = "NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST"  # 404: GraphiQL is off
                response = JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                                        status_code=exc.status_code)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> Context:  # type: ignore[override]
        role = request.scope.get("state", {}).get("citypeers_role")
        return Context(store=self.store, engine=self.engine, loaders=Loaders(self.store), role=role)

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: Any) -> Any:
        """The operation runs in a worker (see Workers); a store that cannot serve now makes the answer 503."""
        parent = super().execute_single
        result = await self.workers.run(lambda: parent(request=request, request_adapter=request_adapter,
                                                       sub_response=sub_response, context=context,
                                                       root_value=root_value, request_data=request_data))
        if retry_later(result.errors):
            sub_response.status_code = 503
            sub_response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        return result


def _unauthenticated(message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
                        status_code=401)


def _store_error(exc: CitypeersError) -> JSONResponse:
    """503 for a store that cannot serve now (its details logged, not told); other failures 500."""
    code = exc.code if exc.code in RETRY_LATER else "INTERNAL_SERVER_ERROR"
    ERRORS.info(json.dumps({"error": code, "message": str(exc)}))
    message = RETRY_LATER.get(code, "the server failed to check the request's token")
    headers = {"retry-after": str(RETRY_AFTER_SECONDS)} if code in RETRY_LATER else None
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=503 if code in RETRY_LATER else 500, headers=headers)


def create_app(settings: Settings) -> Starlette:
    store = open_store(settings.store_url)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    engine = Engine(store, freeze_gc=True)  # long-lived snapshots kept out of GC pauses

    workers = Workers(settings.workers)

    fitting: concurrent.futures.Future | None = None  # the one engine refresh /readyz is waiting for

    def refresh() -> concurrent.futures.Future:
        """Bring the index up to date in a worker, one refresh at a time (a 100k-city fit takes ~15 s)."""
        nonlocal fitting
        if fitting is None or fitting.done():
            fitting = workers.submit(engine.current)
        return fitting

    def store_state() -> tuple[int, int]:
        return store.version(), store.count("City")

    async def readyz(request: Request) -> JSONResponse:
        """Ready when the store answers and recommendations are served from its current data version.
        503 "refreshing" while the index is (re)built, in a worker, within a few seconds or in the
        background; 503 "empty" for a store with no cities (seed or import first); 503 "unavailable" with
        the store's code when it does not answer within READY_SECONDS. `"read_only": true` for a store
        opened read-only (ready all the same: it serves queries)."""
        began = threading.Event()

        def asked() -> tuple[int, int]:
            began.set()
            return store_state()

        try:
            async with asyncio.timeout(READY_SECONDS):
                version, cities = await workers.call(asked)
        except TimeoutError as exc:
            if began.is_set():
                return _unready(exc)
            # the question never reached the store: every worker was busy with requests. Said as such; it read
            # "the store cannot be reached right now" until 2026-12-07, which sent operators to a store that was fine
            ERRORS.info(json.dumps({"error": "SERVER_BUSY", "path": "/readyz",
                                    "message": f"no worker free within {READY_SECONDS:g} s"}))
            return JSONResponse({"status": "busy", "code": "SERVER_BUSY", "error": BUSY}, status_code=503,
                                headers={"retry-after": str(RETRY_AFTER_SECONDS)})
        except CitypeersError as exc:
            return _unready(exc)
        try:
            fitted = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(refresh())), READY_SECONDS)
        except TimeoutError:
            fitted = None  # still fitting: asked again, the same refresh is awaited
        except CitypeersError as exc:
            return _unready(exc)
        served = fitted.version if fitted else None
        body = {"data_version": version, "index_version": served, "cities": cities}
        if store.read_only:  # queries are answered; mutations are refused with STORE_READ_ONLY
            body["read_only"] = True
        if fitted is not None:
            tuned = fitted.weights  # the matching weights in use, and where they came from
            body["weights"] = {"origin": "tuned" if tuned and tuned.adopted else "defaults",
                               "tuned_on_data_version": tuned.data_version if tuned else None,
                               "note": tuned.note if tuned else "never tuned on this store: run citypeers tune"}
        if served != version:
            return JSONResponse({"status": "refreshing", **body}, status_code=503)
        if cities == 0:
            return JSONResponse({"status": "empty", **body, "hint": "the store holds no cities: run `citypeers "
                                 "seed` or `citypeers import BUNDLE`"}, status_code=503)
        return JSONResponse({"status": "ready", **body})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        refresh()  # build the index as the server starts, not on the first request
        yield
        workers.close()
        engine.wait(timeout=30)  # a refit still reading the store
        store.close()

    graphql = _GraphQL(store, engine, workers=workers, reads_need_token=settings.reads_need_token,
                       graphql_ide="graphiql" if settings.graphiql else None)
    sdl = graphql.schema.as_str() + "\n"

    async def schema_sdl(request: Request) -> PlainTextResponse:
        return PlainTextResponse(sdl, headers={"content-disposition": 'inline; filename="schema.graphql"'})

    async def landing(request: Request) -> HTMLResponse:
        """The page; a store that does not answer is said on it, in general words (503: it was a bare 500)."""
        page = functools.partial(render_landing, url=store.url, graphiql=settings.graphiql,
                                 explorer=any(getattr(r, "path", "") == "/explore" for r in routes))
        try:
            version, counts = await workers.call(lambda: (store.version(), node_counts(store)))
        except CitypeersError as exc:
            code = _unanswered(exc, "/")
            return HTMLResponse(page(version=None, counts={}, unavailable=RETRY_LATER[code]), status_code=503,
                                headers={"retry-after": str(RETRY_AFTER_SECONDS)})
        return HTMLResponse(page(version=version, counts=counts))

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/graphql", graphql, methods=["GET", "POST"]),
              Mount("/graphiql-assets", StaticFiles(directory=ASSETS), name="graphiql-assets"),
              Route("/explore", explore_page),
              Mount("/explore-assets", StaticFiles(directory=EXPLORER / "dist"), name="explore-assets")]
    routes += [Route("/", landing), Route("/schema.graphql", schema_sdl)]
    middleware = [Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
                  Middleware(Deadline, seconds=settings.request_timeout),
                  # answers over 1 KB gzipped for clients that accept it: a whole view of the 12k-city GCoM
                  # store is 3.3 MB of JSON, 0.38 MB gzipped at level 6 in 37 ms (docs/architecture.md)
                  Middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)]
    if settings.cors_origins:
        middleware.insert(0, Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                        allow_methods=["GET", "POST"], allow_headers=["authorization", "content-type"]))
    middleware.insert(0, Middleware(ArrivalOrder))  # requests start in the order they came
    middleware.insert(0, Middleware(RequestLog))  # outermost: a request's duration includes its wait for a turn
    app = Starlette(routes=routes, middleware=middleware,
                    lifespan=lifespan)
    app.state.store, app.state.engine, app.state.workers = store, engine, workers
    return app


class ArrivalOrder:
    """Start HTTP requests one per event-loop turn, in the order they arrived.

    The event loop reads every socket that became readable in one poll, then runs all the requests it
    found before it polls again; as a request's work is synchronous, each runs to its end in its turn. A
    request that arrives just after a poll therefore waits for that whole batch, and then for its place in
    the next one, where the order is the sockets' order, not arrival: under 16 busy connections about 4% of
    requests waited two rounds instead of one (wrk's p99 twice its median). Here each request waits for its
    turn in a queue, and one request is let go per loop turn, so the loop polls between two requests and
    a new arrival queues behind those already waiting. A request that awaits (a DataLoader batch) does not
    hold up the next: starts are metered, the requests still overlap. Cost: a future and a callback per
    request. Measured with wrk (16 connections, 10k cities, alternating runs): p99 62-66 -> 42-47 ms at the
    same requests/s.
    """

    def __init__(self, app: Any):
        self.app = app
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def letting(self) -> bool:
        """Whether a `_let_one` call is scheduled: exactly while requests wait."""
        return bool(self.waiting)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new event loop (tests, embedding): what waited on the old one is gone
            self.loop = loop
            self.waiting.clear()
        if not self.waiting:
            loop.call_soon(self._let_one, loop)
        turn = loop.create_future()
        self.waiting.append(turn)
        await turn
        await self.app(scope, receive, send)

    def _let_one(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self.loop:  # scheduled on an event loop since replaced: the queue is not its own
            return
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():  # skipped if its request was cancelled while waiting
                turn.set_result(None)
                break
        if self.waiting:
            loop.call_soon(self._let_one, loop)  # the next one in the next turn, after the loop polls


class RequestLog:
    """One structured log line per request: method, path, status, duration in ms."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), None

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, sending)
        except Exception:
            failed = True
            raise
        finally:
            if LOG.isEnabledFor(logging.INFO):
                # no answer sent and nothing raised: the client went away first (499, as nginx logs it), not a 500
                LOG.info(json.dumps({"method": scope["method"], "path": scope["path"],
                                     "status": status or (500 if failed else 499),
                                     "duration_ms": round((time.perf_counter() - start) * 1000, 2)}))


def _is_ide_page(scope: Any, headers: dict[bytes, bytes]) -> bool:
    """A browser asking for the GraphiQL page itself: a GET that accepts HTML and carries no operation. A GET
    with a `query` parameter is an operation whatever its Accept header says (Strawberry executes it), so it
    needs the token like any other."""
    if scope.get("method") != "GET" or b"text/html" not in headers.get(b"accept", b""):
        return False
    params = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return not params.keys() & {"query", "variables", "operationName", "extensions"}


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, never handing them to the app: when Content-Length
    says so, or as soon as a streamed body passes the limit.

    Before answering, the rest of the refused body is read and thrown away (up to DRAIN_BYTES and
    DRAIN_SECONDS): uvicorn closes a `Connection: close` request as soon as it is answered, and closing with
    the client's data unread resets the connection, so the client, still sending, got a broken pipe or
    "connection reset" instead of the 413 and its message."""

    DRAIN_BYTES = 64 * 1024 * 1024  # past these, answer anyway and let the connection reset
    DRAIN_SECONDS = 5.0

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, more=True)
            return
        seen = 0
        more = True

        async def limited() -> Any:
            nonlocal seen, more
            message = await receive()
            seen += len(message.get("body", b""))
            more = message.get("more_body", False)
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, more=more)

    async def _refuse(self, scope: Any, receive: Any, send: Any, *, more: bool) -> None:
        drained = 0
        try:
            async with asyncio.timeout(self.DRAIN_SECONDS):
                while more and drained <= self.DRAIN_BYTES:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away
                        return
                    drained += len(message.get("body", b""))
                    more = message.get("more_body", False)
        except TimeoutError:
            pass  # a client this slow gets its answer now, and perhaps a reset with it
        message = f"request body over {self.max_bytes:,} bytes; send a smaller query or import large data with the CLI"
        await JSONResponse({"errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
                           status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass


class Deadline:
    """Per-request timeout for /graphql: past `seconds`, the request is cancelled at its next await and the
    client gets 504 with a TIMEOUT error. Heavy synchronous work (learning groups, reports, views) runs in a
    worker thread, which goes on after the 504 until its next graph.cancel.checkpoint(): the request's event,
    set here, stops it there. (Until 2026-12-07 nothing stopped it: eight abandoned learning-group requests on
    a 1,500-city cohort held every GraphQL worker for minutes.) A response already started is left to finish."""

    def __init__(self, app: Any, seconds: float):
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        # a body announced (a length, or chunks) and not yet whole: past the deadline that is the client's slow
        # upload, 408 as for a slow head (http_head.py), not a 504 saying a change may have been saved (nothing
        # ran: until 2026-12-07 it was that 504)
        whole = not any(name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0")
                        for name, value in scope["headers"])

        async def receiving() -> Any:
            nonlocal whole
            message = await receive()
            whole = whole or (message["type"] == "http.request" and not message.get("more_body", False))
            return message

        abandoned = threading.Event()
        token = CANCELLED.set(abandoned)
        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receiving, sending)
        except TimeoutError:
            abandoned.set()  # the work still running in a worker stops at its next checkpoint
            if started:
                raise
            if not whole:
                message = (f"the request's body did not arrive whole within {self.seconds:g} s, so nothing of it "
                           "ran; send it again, whole")
                await JSONResponse({"errors": [{"message": message, "extensions": {"code": "REQUEST_TIMEOUT"}}]},
                                   status_code=408, headers={"connection": "close"})(scope, receive, send)
                return
            # a write already handed to the store's thread cannot be taken back: it may still be saved
            message = (f"the request took longer than {self.seconds:g} s and its answer was abandoned (a change it "
                       "made may still be saved: read before you retry one); ask for less (smaller pages, fewer "
                       "recommendations) or raise CITYPEERS_REQUEST_TIMEOUT")
            await JSONResponse({"errors": [{"message": message, "extensions": {"code": "TIMEOUT"}}]},
                               status_code=504)(scope, receive, send)
        finally:
            CANCELLED.reset(token)


class _LazyApp:
    """`uvicorn server:app`: build from the environment on first use, not at import time."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            settings = Settings.from_env()
            serving_process(settings.blas_threads)
            self._app = create_app(settings)
        await self._app(scope, receive, send)


app = _LazyApp()
