"""Plain-data completion: a graphql-core executor that completes plain objects in one pass.

graphql-core resolves every field the same general way: a resolve-info object, the resolver call, awaitable
checks, then value completion by type, about 5 µs a field in CPython. A recommendation payload is ~200
fields of plain data (scores, names, ids), so that general path was most of a request's time.

For an object whose selected fields are all Strawberry *basic* fields (no resolver, no arguments, no
permission classes or other field extensions: `StrawberryField.is_basic_field`), this executor compiles the
selection once per request into a plan: attribute reads, exact type checks for the built-in scalars, and
nested plans for plain objects and lists of them. Running a plan gives the same dict graphql-core would.
A resolver that returns a list of such objects has the whole list completed by one plan.

Anything a plan is not sure of falls back to graphql-core for the whole object (or list), which then does
all of its usual work, errors and null propagation included:
- a null in a non-null position; a scalar value its type's own coercion refuses (values of the exact
  built-in type pass as they are, others are coerced as graphql-core coerces them);
- an object of another class than the field's type, an awaitable, an iterator instead of a list;
- any exception while reading attributes.
Reading plain attributes has no side effects, so doing the object again from the start is safe. Selections
that a plan cannot express (a field with a resolver or arguments, interfaces or unions in the selection,
@defer, directives on the list's field, middleware) are never planned and go the general way from the start.

Use: `strawberry.Schema(..., execution_context_class=PlainDataExecutionContext)`. tests/test_executor.py
compares it with Strawberry's own executor, case by case and on the whole citypeers schema.
"""

from __future__ import annotations

import builtins
import math
import weakref
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Complete = Callable[[Any], Any]
Plan = Callable[[Any], dict[str, Any]]
BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class _Fallback(Exception):
    """The plan met something it does not handle: complete this object the general way."""


class PlainDataExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain objects completed by compiled plans."""

    plans_run = 0  # completions done by a plan (an object, or a resolver's whole list), process-wide (for tests)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers helpers made of this object's bound methods, which makes every execution
        # context a reference cycle: the context and all a request built (plans, collected fields, loaders,
        # results) would wait for the cyclic garbage collector, whose full collections at 10k cities paused
        # the server for 15-70 ms each, ~2 a second under load. Through a weak reference they are freed when
        # the request ends. The helpers are only called while the operation runs, when the context is alive.
        self.async_helpers = GraphQLResolveInfoHelpers(gather=_gather, track=_tracker(weakref.ref(self)))
        self._plans: dict[int, tuple[Any, Plan | None]] = {}  # id(grouped field set) -> (the set, its plan)
        # (id(field details), id(type)) -> (the details, plan): a NonNull list not planned is asked again as List
        self._list_plans: dict[tuple[int, int], tuple[Any, Complete | None]] = {}
        manager = self.middleware_manager  # Strawberry always passes one; it may hold no middleware
        self._wrapped = manager is not None and getattr(manager, "_middleware_resolvers", True) is not None

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):  # type: ignore[override]
        plan = self._plan_for(parent_type, grouped_field_set)
        if plan is not None:
            try:
                completed = plan(source_value)
            except Exception:  # any surprise: the general path below does the object again and reports it
                pass
            else:
                PlainDataExecutionContext.plans_run += 1
                return completed
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def complete_value(self, return_type, field_details_list, info, path, result, position_context):  # type: ignore[override]
        # A resolver's list (ten recommendations, say) in one plan, not item by item through graphql-core:
        # each item would otherwise cost ~10 calls before its own plan ran.
        if type(result) is list:
            complete = self._list_plan_for(return_type, field_details_list)
            if complete is not None:
                try:
                    completed = complete(result)
                except Exception:  # as in execute_fields: the general path does the list again and reports it
                    pass
                else:
                    PlainDataExecutionContext.plans_run += 1
                    return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _list_plan_for(self, return_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        key = (id(field_details_list), id(return_type))  # the details are kept beside the plan, so ids stay theirs
        cached = self._list_plans.get(key)
        if cached is None:
            complete = None
            inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
            if isinstance(inner, GraphQLList) and not self._wrapped and not any(
                    details.node.directives or details.defer_usage is not None for details in field_details_list):
                complete = self._completer(return_type, field_details_list)
            cached = self._list_plans[key] = (field_details_list, complete)
        return cached[1]

    def _plan_for(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan | None:
        # graphql-core memoizes collected sub-fields per request, so list items share one grouped field set;
        # keeping the set beside its plan stops its id from being reused while the plan is cached.
        cached = self._plans.get(id(grouped_field_set))
        if cached is None:
            plan = None if self._wrapped else self._compile(parent_type, grouped_field_set)
            cached = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return cached[1]

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan | None:
        steps: list[tuple[str, str | None, Any]] = []  # (response key, attribute or None for __typename, completer)
        for key, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if any(details.defer_usage is not None for details in field_details_list):
                return None
            if name == "__typename":
                steps.append((key, None, parent_type.name))
                continue
            field_def = self.schema.get_field(parent_type, name)
            if field_def is None:  # graphql-core leaves unknown fields out (validation refuses them first)
                continue
            strawberry_field = field_def.extensions.get(BACKREF) if field_def.extensions else None
            if not _reads_attribute(field_def, strawberry_field) or node.arguments:
                return None
            complete = self._completer(field_def.type, field_details_list)
            if complete is None:
                return None
            steps.append((key, strawberry_field.python_name, complete))
        return _plan(steps)

    def _completer(self, type_: GraphQLOutputType, field_details_list: Any, nullable: bool = True) -> Complete | None:
        """A function completing a value of `type_` as graphql-core would, raising _Fallback when unsure."""
        if isinstance(type_, GraphQLNonNull):
            return self._completer(type_.of_type, field_details_list, nullable=False)
        if isinstance(type_, GraphQLList):
            inner = self._completer(type_.of_type, field_details_list)
            return None if inner is None else _list(inner, nullable)
        if is_leaf_type(type_):
            return _leaf(type_, nullable)
        if not isinstance(type_, GraphQLObjectType):  # interfaces and unions: the general way
            return None
        grouped, new_defer_usages, *_ = self.collect_subfields(type_, field_details_list)
        if new_defer_usages:
            return None
        plan = self._plan_for(type_, grouped)
        if plan is None:
            return None
        definition = type_.extensions.get(BACKREF) if type_.extensions else None
        return _object(plan, getattr(definition, "origin", None), type_.is_type_of, nullable)


def _gather(values: Any) -> Any:
    return gather_with_cancel(*values)  # what graphql-core's gather_async_work does, without its `self`


def _tracker(context: weakref.ref[PlainDataExecutionContext]) -> Callable[[Any], None]:
    def track(values: Any) -> None:
        alive = context()
        if alive is None:
            raise RuntimeError("async work tracked after its GraphQL operation finished")
        alive.track_async_work(values)

    return track


def _reads_attribute(field_def: Any, strawberry_field: Any) -> bool:
    """True when graphql-core would resolve the field by Strawberry's bare attribute read: a basic field (no
    resolver, no permission classes or other extensions) that Strawberry gave its `_get_basic_result`
    resolver (not the wrapper that runs extensions and exception handlers), reading with getattr."""
    return (strawberry_field is not None and strawberry_field.is_basic_field and not field_def.args
            and getattr(field_def.resolve, "__name__", "") == "_get_basic_result"
            and strawberry_field.default_resolver is builtins.getattr)


def _plan(steps: list[tuple[str, str | None, Any]]) -> Plan:
    def plan(source: Any) -> dict[str, Any]:
        out = {}
        for key, attribute, complete in steps:
            out[key] = complete if attribute is None else complete(getattr(source, attribute))
        return out

    return plan


# Each completer handles null itself (one call per value, not one per wrapper): null stays null where the
# type allows it; in a non-null position it falls back, and graphql-core raises the error and nulls the parent.

def _null(nullable: bool) -> None:
    if nullable:
        return None
    raise _Fallback


def _list(inner: Complete, nullable: bool) -> Complete:
    def complete(value: Any) -> Any:
        if type(value) is list or type(value) is tuple:
            return [inner(item) for item in value]
        if value is None or value is Undefined:
            return _null(nullable)
        raise _Fallback  # iterators, async iterables, strings: graphql-core knows what to do with them

    return complete


def _object(plan: Plan, origin: type | None, is_type_of: Callable | None, nullable: bool) -> Complete:
    def complete(value: Any) -> Any:
        if type(value) is origin or (is_type_of is not None and value is not None and is_type_of(value, None)):
            return plan(value)
        if value is None or value is Undefined:
            return _null(nullable)
        raise _Fallback  # another class (or an awaitable): let graphql-core check and complete it

    return complete


# Built-in scalars by exact type: graphql-core's coercion returns these values unchanged.
_AS_IS: dict[Any, Callable[[Any], bool]] = {
    GraphQLString: lambda value: type(value) is str,
    GraphQLID: lambda value: type(value) is str,
    GraphQLFloat: lambda value: type(value) is float and math.isfinite(value),
    GraphQLInt: lambda value: type(value) is int and INT_MIN <= value <= INT_MAX,
    GraphQLBoolean: lambda value: type(value) is bool,
}


def _leaf(type_: Any, nullable: bool) -> Complete:
    """Built-in scalars as they are when of the exact type; other values and types through the type's own
    coercion, as graphql-core's complete_leaf_value does."""
    as_is = _AS_IS.get(type_, lambda value: False)

    def complete(value: Any) -> Any:
        if as_is(value):
            return value
        if value is None or value is Undefined:
            return _null(nullable)
        return _coerced(type_, value)

    return complete


def _coerced(type_: Any, value: Any) -> Any:
    coerced = type_.coerce_output_value(value)  # raises for values it cannot represent: the general path reports
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced
