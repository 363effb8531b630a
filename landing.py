"""The landing page at `/`: what the service is, where to go next, and what the store holds. Plain HTML
rendered on the server, with no request to anywhere else (no scripts, fonts or styles from elsewhere).

>>> page = render(url="sqlite:///citypeers.db", version=0, counts={"City": 0, "Leader": 0}, explorer=True)
>>> "The store is empty" in page and 'href="/graphql"' in page and "<script" not in page
True

Commands in the shared messages are quoted as in Markdown (`citypeers seed`); the page shows them as code:

>>> "`" in page, "<code>citypeers seed</code>" in page
(False, True)
"""

from __future__ import annotations

import re
from html import escape

from graph.store import FILLING_COMMANDS

LINKS = (
    ("/graphql", "GraphiQL", "ask GraphQL queries in the browser, with the schema's documentation and autocompletion"),
    ("/explore", "Network explorer", "the graph of cities, challenges, partners and cohorts, for programme staff"),
    ("/schema.graphql", "Schema (SDL)", "the GraphQL schema as text, for code generators and clients"),
    ("/healthz", "Health", "whether the process is alive"),
    ("/readyz", "Readiness", "whether recommendations come from the store's current data"),
)

STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "h1{margin-bottom:.2rem}dt{font-weight:600;margin-top:.6rem}dd{margin-left:0}table{border-collapse:collapse}"
         "td{padding:.1rem 1rem .1rem 0}td.n{text-align:right}.empty{background:#fff4d6;padding:.6rem 1rem}")


# An empty icon of the page's own: without one a browser asks for /favicon.ico, which is not served, and shows
# its 404 as an error in the console (the explorer's page does the same).
ICON = '<link rel=icon href="data:,">'

NO_GRAPHIQL = ("<dt>GraphQL <code>/graphql</code></dt><dd>send GraphQL queries here (POST, or GET with ?query=); "
               "GraphiQL, the in-browser editor, is turned off on this server (CITYPEERS_GRAPHIQL=0)</dd>")


def _code(text: str) -> str:
    """`text` as HTML, its Markdown-quoted `commands` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def kind_of(url: str) -> str:
    """What the store is, in words that name no file, host or user (anyone may read this page).

    >>> kind_of("sqlite:////srv/citypeers/prod.db"), kind_of("bolt://neo4j:pw@db.internal:7687")
    ('an embedded SQLite file', 'a Neo4j (Bolt) server')
    """
    return "an embedded SQLite file" if url.startswith("sqlite:") else "a Neo4j (Bolt) server"


def render(*, url: str, version: int | None, counts: dict[str, int], explorer: bool, graphiql: bool = True,
           unavailable: str | None = None) -> str:
    """The page for a store at `url` with data `version` and node `counts` by kind, or that says the store is
    `unavailable` (why, in general words); without `graphiql`, /graphql is named as the endpoint, not linked as
    an editor a browser would open. The page names the store's kind, not its URL: it showed the URL until
    2026-12-07, an absolute file path or a database host to anonymous clients (the server's log has it)."""
    links = "".join(NO_GRAPHIQL if href == "/graphql" and not graphiql else
                    f'<dt><a href="{href}">{escape(title)}</a> <code>{href}</code></dt><dd>{escape(what)}</dd>'
                    for href, title, what in LINKS if explorer or href != "/explore")
    rows = "".join(f'<tr><td>{escape(kind)}</td><td class="n">{n:,}</td></tr>' for kind, n in counts.items())
    if unavailable:
        store = f'<p class="empty">The store does not answer: {escape(unavailable)}.</p>'
    elif any(counts.values()):
        store = f"<p>Data version {version:,}.</p><table>{rows}</table>"
    else:
        store = (f'<p class="empty">The store is empty (data version {version:,}): there is nothing to recommend '
                 f"yet. Fill it with {_code(FILLING_COMMANDS)}, e.g. <code>citypeers seed</code> with the "
                 f"<code>--store</code> this server was given.</p>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>citypeers</title>{ICON}"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head><body>"
            "<h1>citypeers</h1><p>A peer network and matching service for city leaders: cities, leaders, "
            "challenges, partner organisations and cohorts kept as a graph. It recommends peer cities, partners "
            "and people to meet by the issues they share, each with the reasons, and serves it all through "
            "GraphQL.</p>"
            f"<h2>Where to go</h2><dl>{links}</dl>"
            f"<h2>The store</h2><p>{escape(kind_of(url))}</p>{store}</body></html>")
