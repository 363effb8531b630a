"""`python -m schema` prints the schema in SDL: the contract kept in schema.graphql."""

from schema import build_schema

print(build_schema().as_str())
