"""The cost, depth and alias estimate of an operation, from the document and the schema alone."""
from __future__ import annotations

from graphql import parse

from graph_api.schema import schema
from graph_api.schema.limits import Limits, estimate

LIMITS = Limits(max_depth=15, max_aliases=50, max_cost=50_000, default_page=50, list_size=20)


def _estimate(query: str, **variables: object):
    return estimate(schema._schema, parse(query), variables=variables, limits=LIMITS)


def test_a_page_of_pages_costs_their_product_and_is_refused() -> None:
    nested = _estimate("{ titles(first: 500) { edges { node { assets(first: 500) { edges { node { id } } } } } } }")
    assert nested.cost > 250_000
    assert nested.violation(LIMITS)[0] == "QUERY_TOO_COSTLY"


def test_counts_are_paid_once_per_connection_not_per_item() -> None:
    counted = _estimate("{ titles(first: 500) { totalCount edges { node { assets(first: 500) { totalCount } } } } }")
    assert 1_000 < counted.cost < 5_000
    assert counted.violation(LIMITS) is None


def test_variables_size_the_page() -> None:
    query = "query($n: Int) { search(text: \"ship\", first: $n) { score } }"
    assert _estimate(query, n=10).cost < _estimate(query, n=400).cost
    # without a value the default page size is assumed
    assert _estimate(query).cost == _estimate(query, n=LIMITS.list_size).cost


def test_a_title_detail_query_fits() -> None:
    detail = _estimate("""{ title(id: "t") { name assets(first: 50) { edges { node { id role mediaType uri
        annotations(first: 20) { edges { node { id label category } } }
        segments(first: 20) { edges { node { id start end } } } } } } } }""")
    assert detail.violation(LIMITS) is None
    assert 1_000 < detail.cost < LIMITS.max_cost


def test_deep_nesting_is_too_deep_and_its_cost_explodes() -> None:
    levels = 25
    query = "{ title(id: \"t\") { " + "parent { children { edges { node { " * levels + "id" + " } } } }" * levels + " } }"
    deep = _estimate(query)
    assert deep.depth > 100
    assert deep.violation(LIMITS)[0] == "QUERY_TOO_DEEP"
    assert deep.cost > LIMITS.max_cost


def test_aliases_are_counted() -> None:
    query = "{ " + " ".join(f"a{i}: titles(first: 1) {{ totalCount }}" for i in range(51)) + " }"
    many = _estimate(query)
    assert many.aliases == 51
    assert many.violation(LIMITS)[0] == "TOO_MANY_ALIASES"


def test_fragments_are_expanded_and_doubling_fragments_stay_cheap_to_walk() -> None:
    spread = _estimate("""{ titles(first: 100) { edges { node { ...T } } } }
        fragment T on Title { assets(first: 100) { edges { node { id } } } }""")
    inline = _estimate("{ titles(first: 100) { edges { node { assets(first: 100) { edges { node { id } } } } } } }")
    assert spread.cost == inline.cost
    # 40 fragments each spreading the next twice: 2^40 expansions if walked naively
    fragments = [f"fragment F{i} on Title {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(40)]
    fragments.append("fragment F40 on Title { id }")
    doubled = _estimate("{ title(id: \"t\") { ...F0 } } " + " ".join(fragments))
    assert doubled.cost > 0


def test_introspection_is_not_limited() -> None:
    introspection = _estimate("{ __schema { types { name fields { name type { name ofType { name ofType { name "
                              "ofType { name ofType { name ofType { name } } } } } } } } } }")
    assert introspection.violation(LIMITS) is None
