"""Permission classes: checks live on fields, not scattered in resolvers. Each needs a role at least as high
as its own (graph.tokens.ROLES), and says what to send when the request's token does not have it: a request
without a token is UNAUTHENTICATED there (who is asking is not known), one whose valid token has too low a
role is FORBIDDEN, naming that role. (A token that is not valid never gets this far: the server answers 401 first.)"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.exceptions import StrawberryGraphQLError
from strawberry.permission import BasePermission

from graph.tokens import allows


def needs(role: str, message: str, name: str) -> type[BasePermission]:
    """A permission class for fields that need `role` (or higher), refused with `message`: UNAUTHENTICATED
    when no token was sent, FORBIDDEN when the token's role is too low."""

    class Needs(BasePermission):
        error_extensions: ClassVar[dict[str, str]] = {"code": "FORBIDDEN"}

        def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
            # raised here, not from on_unauthorized: that hook is not told the request, and one instance of the
            # class serves every request at once, so it cannot be told through the instance either
            if info.context.role is None:
                raise StrawberryGraphQLError(f"no token was sent; {message}", extensions={"code": "UNAUTHENTICATED"})
            if not allows(info.context.role, role):  # said, or a viewer sending its token reads "send a token"
                article = "an" if info.context.role[:1] in "aeiou" else "a"
                raise StrawberryGraphQLError(f"the token sent is {article} {info.context.role} token; {message}",
                                             extensions={"code": "FORBIDDEN"})
            return True

    Needs.message = message
    Needs.__name__ = Needs.__qualname__ = name
    return Needs


IsAdmin = needs("admin", "contact details are for admin tokens only", "IsAdmin")
IsEditor = needs("editor", "this needs an editor or admin token: send 'Authorization: Bearer <token>' "
                           "(create one with: citypeers token create --role editor --name NAME)", "IsEditor")
IsAdminToTune = needs("admin", "re-learning the matching weights needs an admin token: send 'Authorization: Bearer "
                               "<token>' (create one with: citypeers token create --role admin --name NAME)",
                      "IsAdminToTune")
