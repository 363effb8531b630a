"""A query cost limit, checked on the parsed document before execution.

Cost: 1 per field; recommendation fields (recommend*, citiesForChallenge, cohortGroups, scoreGrouping,
cohortReport) 25 each; the explorer's networkView 100 plus 1 per 100 nodes its `first` lets it send, whatever it
selects (150 at its default first of 5,000, so six of those a request; 600 at 50,000, the most, one a request). A
field with a selection multiplies the cost of what it selects by first / 10 when it has a `first` argument
(as written, else the variable's value as sent, else the variable's default, else the argument's default in
the schema: 20 for a listing, 10 for recommendations), else by a fan-out of 5 (a city's challenges, a
challenge's cities: lists whose length the client does not bound). Fragments are counted where they are
spread, each weighed once (linear in each operation). Over `max_cost`: refused with QUERY_TOO_COSTLY.

>>> from graphql import parse
>>> query_cost(parse('{ recommendPeers(cityId: "x", first: 10) { city { id } } }'))
27.0
>>> query_cost(parse('query($n: Int = 100) { recommendPeers(cityId: "x", first: $n) { city { id } } }'))
45.0

"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from schema.introspection import SCHEMA_COST, fits_introspection, introspection_cost

EXPENSIVE = ("recommendPeers", "recommendPartners", "recommendPeople", "citiesForChallenge", "cohortGroups",
             "scoreGrouping", "cohortReport")
VIEWS = ("networkView",)  # one bounded payload (graph.views.MAX_NODES): not first x selection, but
VIEW_COST = 100  # 100, and 1 more for every VIEW_NODES nodes it may send (its `first`): 150 by default, 600 at
VIEW_NODES = 100  # most. A flat 100 until 2026-12-07 let one 1.3 KB request ask for ten views of 50,000 nodes
                  # (39.5 MB, and 1.1 GB of server memory with eight such requests at once)
EXPENSIVE_COST = 25
FAN_OUT = 5
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # GraphQL's Int
SINGLE = {"city", "challenge", "cohort", "node", "parent", "partner", "leader", "pageInfo", "cohortReport"}


@dataclass(frozen=True)
class Shape:
    """What a selection set weighs: cost, deepest field level below it, and aliases, fragments included."""

    cost: float = 0.0
    depth: int = 0
    aliases: int = 0


def query_shape(document, variables: dict | None = None, schema: GraphQLSchema | None = None
                ) -> tuple[float, int, int]:
    """(cost, depth, aliases) of the operations in a parsed document; with the `schema`, a `first` the query
    leaves out counts as the argument's default (without it, as the fan-out).

    Linear in each operation: each fragment is weighed once and its shape reused wherever it is spread, so a
    chain of fragments each spreading the next twice costs one visit per fragment, not 2**n. (The expanded
    figures still double, and are refused by the limits.) A fragment that spreads itself, directly or not,
    weighs nothing here; validation refuses such a document anyway.

    >>> from graphql import parse
    >>> chain = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    >>> cost, depth, aliases = query_shape(parse(chain + " fragment F40 on Query { dataVersion }"))
    >>> cost == 2.0 ** 40, depth
    (True, 1)
    """
    fragments = _fragments(document)
    shapes = [_Weigher(fragments, {**_defaults(d), **(variables or {})}, schema).weigh(
                  d.selection_set, schema.get_root_type(d.operation) if schema else None)
              for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return (sum(s.cost for s in shapes), max((s.depth for s in shapes), default=0),
            sum(s.aliases for s in shapes))


def query_cost(document, variables: dict | None = None, schema: GraphQLSchema | None = None) -> float:
    return query_shape(document, variables, schema)[0]


def _fragments(document) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _defaults(operation: OperationDefinitionNode) -> dict[str, int]:
    """The operation's Int variable defaults (`query($f: Int = 1000)`): what a variable not sent stands for."""
    return {d.variable.name.value: value for d in operation.variable_definitions or ()
            if (value := _int_of(d.default_value, {})) is not None}


def _int_of(node: ValueNode | None, values: dict) -> int | None:
    """The Int a value node stands for: a literal, or a variable's value; None for anything an Int argument
    refuses (text, a fraction, beyond 32 bits, a literal too long to read), which validation or variable
    coercion then reports (so this counts the field's default meanwhile, not a second error)."""
    if isinstance(node, VariableNode):
        value = values.get(node.name.value)
    elif isinstance(node, IntValueNode) and len(node.value) <= len(str(INT_MIN)):
        value = int(node.value)
    else:
        return None
    if isinstance(value, float) and value.is_integer():  # 20.0 is an Int to variable coercion
        value = int(value)
    return value if type(value) is int and INT_MIN <= value <= INT_MAX else None


def _first_of(field: FieldNode, values: dict, definition: GraphQLField | None) -> float:
    """How many times a field's selection counts: its `first` / 10 (at least 1), else the fan-out."""
    default = definition.args["first"].default_value if definition and "first" in definition.args else None
    given = next((_int_of(arg.value, values) for arg in field.arguments or () if arg.name.value == "first"), None)
    first = given if given is not None else default if type(default) is int else None
    if first is not None:
        return max(1.0, first / 10)
    if any(arg.name.value == "first" for arg in field.arguments or ()):
        return 1.0  # not a number, and no default known: refused later anyway
    # single objects (city, challenge, parent, ...) cost like lists here: simple, and errs on the safe side
    return FAN_OUT if field.name.value not in SINGLE else 1.0


class _Weigher:
    """Weighs selection sets, remembering each fragment's shape (depth counted from the spread's level). With a
    schema it follows the types, so that a field's argument defaults are known."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], values: dict, schema: GraphQLSchema | None):
        self.fragments, self.values, self.schema = fragments, values, schema
        self.known: dict[str, Shape] = {}
        self.open: set[str] = set()  # fragments being weighed: a spread of one of these is a cycle

    def weigh(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None = None) -> Shape:
        cost, depth, aliases = 0.0, 0, 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                definition = getattr(parent, "fields", {}).get(node.name.value)  # None: unknown (validation says)
                below = self.weigh(node.selection_set, get_named_type(definition.type) if definition else None)
                if node.name.value in VIEWS:  # by the nodes it may send, whatever it selects; depth and aliases
                    cost += VIEW_COST + 10 * _first_of(node, self.values, definition) / VIEW_NODES  # still count
                else:
                    own = EXPENSIVE_COST if node.name.value in EXPENSIVE else 1
                    cost += own + _first_of(node, self.values, definition) * below.cost
                depth = max(depth, 1 + below.depth)
                aliases += (node.alias is not None) + below.aliases
                continue
            inner = (self.weigh(node.selection_set, self.type_of(node.type_condition) or parent)
                     if isinstance(node, InlineFragmentNode)
                     else self.fragment(node.name.value) if isinstance(node, FragmentSpreadNode) else Shape())
            cost, depth, aliases = cost + inner.cost, max(depth, inner.depth), aliases + inner.aliases
        return Shape(cost, depth, aliases)

    def type_of(self, condition: NamedTypeNode | None) -> GraphQLNamedType | None:
        return self.schema.get_type(condition.name.value) if self.schema and condition else None

    def fragment(self, name: str) -> Shape:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return Shape()  # unknown or cyclic: validation names it
        self.open.add(name)
        try:
            shape = self.known[name] = self.weigh(definition.selection_set, self.type_of(definition.type_condition))
        finally:
            self.open.discard(name)
        return shape


def widest_selection(document) -> int:
    """The most selections (fields and fragment spreads) any one selection set of `document` holds.

    >>> from graphql import parse
    >>> widest_selection(parse("{ a b { c d e } ...F } fragment F on Query { x }"))
    3
    """
    widest, stack = 0, [d.selection_set for d in document.definitions if getattr(d, "selection_set", None)]
    while stack:
        selection_set = stack.pop()
        widest = max(widest, len(selection_set.selections))
        stack += [n.selection_set for n in selection_set.selections if getattr(n, "selection_set", None)]
    return widest


class QueryLimits(SchemaExtension):
    """Depth, alias and cost limits in one cheap walk of the parsed document, before execution.

    (Strawberry's QueryDepthLimiter and MaxAliasesLimiter are validation rules that defeat the validation
    cache: measured 4.1 ms against 2.8 ms per recommendPeers request without them.)
    """

    def __init__(self, *, max_depth: int = 10, max_aliases: int = 15, max_cost: float = 1_000,
                 max_selections: int = 200):
        self.max_depth, self.max_aliases, self.max_cost = max_depth, max_aliases, max_cost
        self.max_selections = max_selections

    def on_validate(self) -> Iterator[None]:
        # Strawberry checks pre_execution_errors before any extension resumes after `yield`, so the checks
        # run first; this extension must come after ValidationCache, which sets that list itself.
        context = self.execution_context
        if context.graphql_document is not None:
            cost, depth, aliases = query_shape(context.graphql_document, context.variables, context.schema._schema)
            introspection = fits_introspection(context.graphql_document)
            if introspection:  # bounded by the schema (schema/introspection.py): weighed per root field
                cost, depth = introspection_cost(context.graphql_document), 0
            problems = []
            widest = widest_selection(context.graphql_document)
            if widest > self.max_selections:  # graphql-core's field-overlap rule gives up on these: "Validation
                # aborted.", which says nothing; say what is wrong instead of it
                problems.append((f"{widest:,} fields in one selection is over the limit of {self.max_selections}",
                                 "QUERY_TOO_LARGE"))
                context.pre_execution_errors = [e for e in context.pre_execution_errors or []
                                                if e.message != "Validation aborted."]
            if depth > self.max_depth:
                problems.append((f"query depth {depth} is over the limit of {self.max_depth}", "QUERY_TOO_DEEP"))
            if aliases > self.max_aliases:
                problems.append((f"{aliases} aliases is over the limit of {self.max_aliases}", "TOO_MANY_ALIASES"))
            if cost > self.max_cost and introspection:
                problems.append((f"introspection cost {cost:,.0f} is over the limit of {self.max_cost:,.0f}: each "
                                 f"__schema weighs {SCHEMA_COST}; ask for the schema once", "QUERY_TOO_COSTLY"))
            elif cost > self.max_cost:
                problems.append((f"query cost {cost:,.0f} is over the limit of {self.max_cost:,.0f}: ask for fewer "
                                 "recommendations, smaller pages (first) or fewer nested fields", "QUERY_TOO_COSTLY"))
            operations = [d.name.value if d.name else "(unnamed)" for d in context.graphql_document.definitions
                          if isinstance(d, OperationDefinitionNode)]
            # the spec's error; the first operation ran until 2026-12-07 (strawberry's operation_name is the
            # first one's name when the request names none)
            if len(operations) > 1 and not context._provided_operation_name:
                problems.append((f"the document holds {len(operations)} operations ({', '.join(operations)}) and "
                                 "the request names none: send operationName, the name of the one to run",
                                 "BAD_USER_INPUT"))
            if problems:
                context.pre_execution_errors = [*(context.pre_execution_errors or []),
                                                *(GraphQLError(m, extensions={"code": c}) for m, c in problems)]
        yield
