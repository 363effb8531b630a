"""A query cost limit, checked on the parsed document before execution.

Cost: 1 per field; recommendation fields (recommend*, citiesForChallenge, cohortGroups, scoreGrouping,
cohortReport) 25 each; the explorer's networkView 100, whatever it selects (its size is bounded by the server). A
field with a selection multiplies the cost of what it selects by first / 10 when it has a `first` argument, else
by a fan-out of 5 (a city's challenges, a challenge's cities: lists whose length the client does not
bound). Fragments are counted where they are spread, each weighed once (linear in the document). Over
`max_cost`: refused with QUERY_TOO_COSTLY.

>>> from graphql import parse
>>> query_cost(parse('{ recommendPeers(cityId: "x", first: 10) { city { id } } }'))
27.0

"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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

from schema.introspection import fits_introspection

EXPENSIVE = ("recommendPeers", "recommendPartners", "recommendPeople", "citiesForChallenge", "cohortGroups",
             "scoreGrouping", "cohortReport")
VIEWS = ("networkView",)  # one bounded payload (graph.views.MAX_NODES): a flat cost, not first x selection
VIEW_COST = 100
EXPENSIVE_COST = 25
FAN_OUT = 5
SINGLE = {"city", "challenge", "cohort", "node", "parent", "partner", "leader", "pageInfo", "cohortReport"}


@dataclass(frozen=True)
class Shape:
    """What a selection set weighs: cost, deepest field level below it, and aliases, fragments included."""

    cost: float = 0.0
    depth: int = 0
    aliases: int = 0


def query_shape(document, variables: dict | None = None) -> tuple[float, int, int]:
    """(cost, depth, aliases) of the operations in a parsed document.

    Linear in the document: each fragment is weighed once and its shape reused wherever it is spread, so a
    chain of fragments each spreading the next twice costs one visit per fragment, not 2**n. (The expanded
    figures still double, and are refused by the limits.) A fragment that spreads itself, directly or not,
    weighs nothing here; validation refuses such a document anyway.

    >>> from graphql import parse
    >>> chain = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    >>> cost, depth, aliases = query_shape(parse(chain + " fragment F40 on Query { dataVersion }"))
    >>> cost == 2.0 ** 40, depth
    (True, 1)
    """
    weigher = _Weigher(_fragments(document), variables or {})
    shapes = [weigher.weigh(d.selection_set) for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return (sum(s.cost for s in shapes), max((s.depth for s in shapes), default=0),
            sum(s.aliases for s in shapes))


def query_cost(document, variables: dict | None = None) -> float:
    return query_shape(document, variables)[0]


def _fragments(document) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _first_of(field: FieldNode, variables: dict) -> float:
    for arg in field.arguments or ():
        if arg.name.value == "first":
            if isinstance(arg.value, IntValueNode):
                return max(1.0, int(arg.value.value) / 10)
            if isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value)
                # a value that is not a number is refused by variable coercion later; count the default here
                return max(1.0, float(value) / 10) if isinstance(value, int | float) and value == value else 1.0
    # single objects (city, challenge, parent, ...) cost like lists here: simple, and errs on the safe side
    return FAN_OUT if field.name.value not in SINGLE else 1.0


class _Weigher:
    """Weighs selection sets, remembering each fragment's shape (depth counted from the spread's level)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], variables: dict):
        self.fragments, self.variables = fragments, variables
        self.known: dict[str, Shape] = {}
        self.open: set[str] = set()  # fragments being weighed: a spread of one of these is a cycle

    def weigh(self, selection_set: SelectionSetNode | None) -> Shape:
        cost, depth, aliases = 0.0, 0, 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                below = self.weigh(node.selection_set)
                if node.name.value in VIEWS:  # a flat cost, whatever it selects; depth and aliases still count
                    cost += VIEW_COST
                else:
                    own = EXPENSIVE_COST if node.name.value in EXPENSIVE else 1
                    cost += own + _first_of(node, self.variables) * below.cost
                depth = max(depth, 1 + below.depth)
                aliases += (node.alias is not None) + below.aliases
                continue
            inner = (self.weigh(node.selection_set) if isinstance(node, InlineFragmentNode)
                     else self.fragment(node.name.value) if isinstance(node, FragmentSpreadNode) else Shape())
            cost, depth, aliases = cost + inner.cost, max(depth, inner.depth), aliases + inner.aliases
        return Shape(cost, depth, aliases)

    def fragment(self, name: str) -> Shape:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return Shape()  # unknown or cyclic: validation names it
        self.open.add(name)
        try:
            shape = self.known[name] = self.weigh(definition.selection_set)
        finally:
            self.open.discard(name)
        return shape


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
            if fits_introspection(context.graphql_document):  # bounded by the schema (schema/introspection.py)
                cost, depth = 0.0, 0
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
