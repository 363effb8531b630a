"""A query cost limit, checked on the parsed document before execution.

Cost: 1 per field; recommendation fields (recommend*, citiesForChallenge, cohortGroups, cohortReport) 25
each. A field with a selection multiplies the cost of what it selects by first / 10 when it has a `first` argument, else
by a fan-out of 5 (a city's challenges, a challenge's cities: lists whose length the client does not
bound). Fragments are counted where they are spread. Over `max_cost`: refused with QUERY_TOO_COSTLY.

>>> from graphql import parse
>>> query_cost(parse('{ recommendPeers(cityId: "x", first: 10) { city { id } } }'))
27.0

"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

EXPENSIVE = ("recommendPeers", "recommendPartners", "recommendPeople", "citiesForChallenge", "cohortGroups",
             "cohortReport")
EXPENSIVE_COST = 25
FAN_OUT = 5
SINGLE = {"city", "challenge", "cohort", "node", "parent", "partner", "leader", "pageInfo", "cohortReport"}


def query_shape(document, variables: dict | None = None) -> tuple[float, int, int]:
    """(cost, depth, aliases) of the operations in a parsed document."""
    fragments = _fragments(document)
    shape = [0, 0]  # deepest, aliases
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            _walk(definition.selection_set, 1, frozenset(), fragments, shape)
    return query_cost(document, variables), shape[0], shape[1]


def query_cost(document, variables: dict | None = None) -> float:
    fragments = _fragments(document)
    return sum(_cost(d.selection_set, frozenset(), fragments, variables or {}) for d in document.definitions
               if isinstance(d, OperationDefinitionNode))


# The walks are module functions with explicit arguments, not closures: a recursive closure is a reference
# cycle (function -> cell -> function), and one per request kept the garbage collector busy.

def _fragments(document) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _walk(selection_set: SelectionSetNode | None, depth: int, seen: frozenset[str],
          fragments: dict[str, FragmentDefinitionNode], shape: list[int]) -> None:
    """Deepest field level into shape[0], aliases into shape[1]."""
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            shape[1] += node.alias is not None
            shape[0] = max(shape[0], depth)
            _walk(node.selection_set, depth + 1, seen, fragments, shape)
        elif isinstance(node, InlineFragmentNode):
            _walk(node.selection_set, depth, seen, fragments, shape)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                _walk(fragment.selection_set, depth, seen | {node.name.value}, fragments, shape)


def _first_of(field: FieldNode, variables: dict) -> float:
    for arg in field.arguments or ():
        if arg.name.value == "first":
            if isinstance(arg.value, IntValueNode):
                return max(1.0, int(arg.value.value) / 10)
            if isinstance(arg.value, VariableNode):
                return max(1.0, float(variables.get(arg.value.name.value) or 10) / 10)
    # single objects (city, challenge, parent, ...) cost like lists here: simple, and errs on the safe side
    return FAN_OUT if field.name.value not in SINGLE else 1.0


def _cost(selection_set: SelectionSetNode | None, seen: frozenset[str], fragments: dict[str, FragmentDefinitionNode],
          variables: dict) -> float:
    total = 0.0
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            own = EXPENSIVE_COST if node.name.value in EXPENSIVE else 1
            total += own + _first_of(node, variables) * _cost(node.selection_set, seen, fragments, variables)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, seen, fragments, variables)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                total += _cost(fragment.selection_set, seen | {node.name.value}, fragments, variables)
    return total


class QueryLimits(SchemaExtension):
    """Depth, alias and cost limits in one cheap walk of the parsed document, before execution.

    (Strawberry's QueryDepthLimiter and MaxAliasesLimiter are validation rules that defeat the validation
    cache: measured 4.1 ms against 2.8 ms per recommendPeers request without them.)
    """

    def __init__(self, *, max_depth: int = 10, max_aliases: int = 15, max_cost: float = 1_000):
        self.max_depth, self.max_aliases, self.max_cost = max_depth, max_aliases, max_cost

    def on_validate(self) -> Iterator[None]:
        # Strawberry checks pre_execution_errors before any extension resumes after `yield`, so the checks
        # run first; this extension must come after ValidationCache, which sets that list itself.
        context = self.execution_context
        if context.graphql_document is not None:
            cost, depth, aliases = query_shape(context.graphql_document, context.variables)
            problems = []
            if depth > self.max_depth:
                problems.append((f"query depth {depth} is over the limit of {self.max_depth}", "QUERY_TOO_DEEP"))
            if aliases > self.max_aliases:
                problems.append((f"{aliases} aliases is over the limit of {self.max_aliases}", "TOO_MANY_ALIASES"))
            if cost > self.max_cost:
                problems.append((f"query cost {cost:,.0f} is over the limit of {self.max_cost:,.0f}: ask for fewer "
                                 "recommendations, smaller pages (first) or fewer nested fields", "QUERY_TOO_COSTLY"))
            if problems:
                context.pre_execution_errors = [*(context.pre_execution_errors or []),
                                                *(GraphQLError(m, extensions={"code": c}) for m, c in problems)]
        yield
