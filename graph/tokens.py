"""API tokens: created once, shown once, stored as SHA-256 hashes; roles viewer < editor < admin."""

from __future__ import annotations

import hashlib
import secrets

from graph.errors import UsageError
from graph.store import GraphStore

ROLES = ("viewer", "editor", "admin")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: GraphStore, *, name: str, role: str) -> str:
    """A new random token for `role`; only its hash is stored. Returns the token (show it once)."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; valid roles: {', '.join(ROLES)}")
    if not name.strip():
        raise UsageError("a token needs a --name saying who or what it is for")
    token = "cp_" + secrets.token_urlsafe(32)
    store.put_token(token_hash(token), name.strip(), role)
    return token


def role_of(store: GraphStore, authorization: str | None) -> str | None:
    """The role for an `Authorization: Bearer ...` header value, or None (no or unknown token)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    found = store.token(token_hash(authorization[7:].strip()))
    return found[1] if found else None


def allows(role: str | None, needed: str) -> bool:
    """>>> allows("admin", "editor"), allows("viewer", "editor"), allows(None, "viewer")
    (True, False, False)
    """
    return role is not None and ROLES.index(role) >= ROLES.index(needed)
