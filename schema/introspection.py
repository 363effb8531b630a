"""Introspection within a fixed budget: what GraphiQL (and any GraphQL client) asks to learn the schema.

The full introspection query is deep (a type reference nests `ofType` nine levels) and, weighed like data,
costs billions: the depth and cost limits of schema/cost.py would refuse it, and GraphiQL's Docs panel and
autocompletion with it. Its answer, though, is bounded by the schema, not by the data.

So a document whose every operation is a query that fits within the full introspection query, field by
field (`__schema` as the full query asks for it, `__type(name:)` as one of its types, `__typename`
anywhere), skips the depth and cost limits: whatever it selects, its answer is at most the full
introspection answer per root field, and it weighs that (`introspection_cost`: the whole schema twice at most
per request). Anything else, a data field next to
`__schema` or a field nested deeper than the full query goes (`fields { type { fields ... } } }`, whose
answer grows with every level), is weighed as usual.

The check is linear in the document: each fragment is checked once per place in the introspection tree it
is spread at (a few dozen places), never expanded again.

>>> from graphql import parse
>>> fits_introspection(parse('{ __type(name: "City") { fields { name type { name kind ofType { name } } } } }'))
True
>>> fits_introspection(parse('{ __schema { types { fields { type { fields { name } } } } } }'))
False
>>> fits_introspection(parse('{ __typename dataVersion }'))
False
"""

from __future__ import annotations

from functools import cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_introspection_query,
    parse,
)

Tree = dict[str, "Tree"]  # field name -> what may be selected under it


@cache
def allowed_tree() -> Tree:
    """The fields of the full introspection query (every option on), fragments expanded, as a tree; with
    `__type` beside `__schema`, allowing what the query asks of each type."""
    document = parse(get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                             schema_description=True, input_value_deprecation=True,
                                             experimental_directive_deprecation=True, one_of=True))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def expand(selection_set: SelectionSetNode | None, into: Tree) -> Tree:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                expand(node.selection_set, into.setdefault(node.name.value, {}))
            elif isinstance(node, InlineFragmentNode):
                expand(node.selection_set, into)
            elif isinstance(node, FragmentSpreadNode):
                expand(fragments[node.name.value].selection_set, into)
        return into

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = expand(operation.selection_set, {})
    root["__type"] = root["__schema"]["types"]
    return root


SCHEMA_COST, TYPE_COST = 400, 5  # what one `__schema` and one `__type(name:)` at the root weigh


def introspection_cost(document: DocumentNode) -> float:
    """What an introspection document weighs: SCHEMA_COST per `__schema` at the root of its operations
    (aliases and fragments counted), TYPE_COST per `__type`. Each answer is bounded by the schema, but 15
    aliased copies of the full query took 2.7 s of CPU; under the usual limit of 1,000, a request asks for the
    whole schema twice at most (GraphiQL asks once).

    >>> from graphql import parse
    >>> introspection_cost(parse('{ a: __schema { queryType { name } } b: __schema { queryType { name } } }'))
    800
    >>> introspection_cost(parse('query { ...F __type(name: "City") { name } } '
    ...                          'fragment F on Query { __schema { queryType { name } } }'))
    405
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def weigh(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += {"__schema": SCHEMA_COST, "__type": TYPE_COST}.get(node.name.value, 0)
            elif isinstance(node, InlineFragmentNode):
                total += weigh(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments and node.name.value not in seen:
                total += weigh(fragments[node.name.value].selection_set, seen | {node.name.value})
        return total

    return sum(weigh(d.selection_set, frozenset()) for d in document.definitions
               if isinstance(d, OperationDefinitionNode))


def fits_introspection(document: DocumentNode) -> bool:
    """Whether every operation of `document` is a query within the full introspection query (see above)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    checker = _Fit({d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)})
    return bool(operations) and all(d.operation is OperationType.QUERY and checker.fits(d.selection_set, allowed_tree())
                                    for d in operations)


class _Fit:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]):
        self.fragments = fragments
        self.known: dict[tuple[str, int], bool] = {}  # (fragment, id of the tree node) -> fits

    def fits(self, selection_set: SelectionSetNode | None, tree: Tree) -> bool:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                name = node.name.value
                if name == "__typename":
                    continue
                if name not in tree or not self.fits(node.selection_set, tree[name]):
                    return False
            elif isinstance(node, InlineFragmentNode):
                if not self.fits(node.selection_set, tree):
                    return False
            elif isinstance(node, FragmentSpreadNode) and not self.fragment(node.name.value, tree):
                return False
        return True

    def fragment(self, name: str, tree: Tree) -> bool:
        key = (name, id(tree))
        if key not in self.known:
            definition = self.fragments.get(name)
            self.known[key] = False  # while it is checked: a spread of itself does not fit (validation refuses it)
            self.known[key] = definition is not None and self.fits(definition.selection_set, tree)
        return self.known[key]
