"""Errors with codes: every CitypeersError raised in a resolver reaches the client as a GraphQL error whose
`extensions.code` says what kind of failure it was (NOT_FOUND, BAD_USER_INPUT, VALIDATION_ERROR, ...)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from graph.errors import CitypeersError, NotFoundError


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:  # wraps parsing and validation as well as execution
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            original = error.original_error
            if (error.extensions or {}).get("code"):
                continue  # set where the error was raised (permission classes: FORBIDDEN)
            code = original.code if isinstance(original, CitypeersError) else "INTERNAL_SERVER_ERROR"
            if error.original_error is None:
                code = "GRAPHQL_VALIDATION_FAILED"
            error.extensions = {**(error.extensions or {}), "code": code}
            if isinstance(original, NotFoundError) and original.suggestions:  # "did you mean ...?"
                error.extensions["suggestions"] = original.suggestions
