"""Permission classes: checks live on fields, not scattered in resolvers."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from graph.tokens import allows


class IsAdmin(BasePermission):
    message = "contact details are for admin tokens only"
    error_extensions: ClassVar[dict[str, str]] = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return allows(info.context.role, "admin")


class IsEditor(BasePermission):
    message = ("this needs an editor or admin token: send 'Authorization: Bearer <token>' "
               "(create one with: citypeers token create --role editor --name NAME)")
    error_extensions: ClassVar[dict[str, str]] = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return allows(info.context.role, "editor")
