"""API tokens: created once, shown once, stored as SHA-256 hashes; roles viewer < editor < admin.

A token may expire (`--expires 30d` or a date) and can be revoked; every lookup asks the store, so a
revoked or expired token stops working at once in every process that serves it. A token is named in
listings by its id: the first characters of its hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time

from graph.errors import UsageError, one_line, shown
from graph.store import GraphStore, StoredToken

ROLES = ("viewer", "editor", "admin")
ID_LENGTH = 12  # characters of the hash shown as a token's id
MIN_ID = 6  # the shortest id prefix `revoke` takes
_DURATION = re.compile(r"^([0-9]{1,6})([mhd])\Z")  # not \d: it takes other scripts' digits too
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


NAME_MAX = 200  # characters: who or what a token is for ("ci", "Jane's GraphiQL", a service's name)


def token_id(token_hash: str) -> str:
    return token_hash[:ID_LENGTH]


def create_token(store: GraphStore, *, name: str, role: str, expires: int | None = None) -> str:
    """A new random token for `role`, valid until `expires` (Unix seconds; None: until revoked); only its hash
    is stored. Returns the token (show it once)."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; valid roles: {', '.join(ROLES)}")
    if not name.strip():
        raise UsageError("a token needs a --name saying who or what it is for")
    if len(name) > NAME_MAX:  # `token list` prints it on every line of the token
        raise UsageError(f"--name {shown(name)}: is {len(name):,} characters long; --name takes at most {NAME_MAX}")
    if one_line(name) != name:  # an ESC, a line break or a right-to-left override went to `token list` as it is
        raise UsageError(f"--name {shown(name)}: give one line of text, without tabs, control characters or "
                         "invisible formatting characters")
    now = int(time.time())
    if expires is not None and expires <= now:
        raise UsageError(f"expiry {_when(expires)} is not in the future")
    token = "cp_" + secrets.token_urlsafe(32)
    store.put_token(token_hash(token), name.strip(), role, created=now, expires=expires)
    return token


def parse_expiry(text: str, *, now: float | None = None) -> int:
    """Unix seconds from `--expires`: a duration from now (90m, 12h, 30d) or an ISO date or time (UTC unless it
    says otherwise); a date means its end.

    >>> parse_expiry("30d", now=0), parse_expiry("2030-01-01", now=0), parse_expiry("2030-01-01T12:00Z", now=0)
    (2592000, 1893542399, 1893499200)
    """
    now = time.time() if now is None else now
    if match := _DURATION.match(text.strip()):
        return int(now) + int(match[1]) * _UNIT_SECONDS[match[2]]
    try:
        if "T" not in text and " " not in text.strip():
            day = dt.date.fromisoformat(text.strip())
            moment = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise UsageError(f"--expires {text!r}: give a duration such as 90m, 12h or 30d, or a date or time such as "
                         "2027-06-30 or 2027-06-30T12:00Z") from None
    return int(moment.timestamp())


def find_token(store: GraphStore, token_id_prefix: str) -> StoredToken:
    """The one stored token whose id starts with `token_id_prefix` (as `citypeers token list` shows it)."""
    prefix = token_id_prefix.strip().lower()
    if len(prefix) < MIN_ID or not re.fullmatch(r"[0-9a-f]+", prefix):
        raise UsageError(f"token id {token_id_prefix!r}: give at least {MIN_ID} hex characters of an id that "
                         "`citypeers token list` shows")
    found = [t for t in store.tokens() if t.hash.startswith(prefix)]
    if not found:
        raise UsageError(f"no token with id {token_id_prefix!r} (a revoked token is deleted, so its id is gone "
                         "too); `citypeers token list` shows the ids")
    if len(found) > 1:
        raise UsageError(f"token id {token_id_prefix!r} matches {len(found)} tokens "
                         f"({', '.join(token_id(t.hash) for t in found)}); give more of it")
    return found[0]


def describe(token: StoredToken, *, now: float | None = None) -> str:
    """One line of `citypeers token list`: id, role, name, created, expiry (and whether it has passed)."""
    now = time.time() if now is None else now
    if token.expires is None:
        expiry = "never expires"
    else:
        expiry = f"{'expired' if token.expires <= now else 'expires'} {_when(token.expires)}"
    created = f"created {_when(token.created)}" if token.created is not None else "created (unknown)"
    return f"{token_id(token.hash)}  {token.role:<6}  {token.name}  ({created}, {expiry})"


def _when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def role_of(store: GraphStore, authorization: str | None) -> str | None:
    """The role for an `Authorization: Bearer ...` header value, or None (no, unknown, expired or revoked
    token)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    found = store.token(token_hash(authorization[7:].strip()))
    return found[1] if found else None


def allows(role: str | None, needed: str) -> bool:
    """>>> allows("admin", "editor"), allows("viewer", "editor"), allows(None, "viewer")
    (True, False, False)
    """
    return role is not None and ROLES.index(role) >= ROLES.index(needed)
