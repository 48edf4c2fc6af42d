"""The ``--where`` filter of ``batch export``: a restricted grammar, never SQL text.

    filter    := condition (AND condition)*
    condition := column op literal | column IN '(' literal (',' literal)* ')'
    op        := = | != | < | <= | > | >=
    literal   := 'text' (a quote doubled inside) | number

Columns come from a fixed list and literals are parsed to Python values, so the filter can only
ever compare a known column with a value: what reaches LanceDB is rebuilt by ``graph_api.lake.sql``,
and the corpus is filtered again with Arrow compute on exactly these conditions.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from graph_api.errors import InvalidArgument
from graph_api.lake import sql

Literal = str | float
OPS = ("=", "!=", "<", "<=", ">", ">=", "IN")
_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
                    r"|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    values: tuple[Literal, ...]


def parse(text: str, columns: Mapping[str, str]) -> list[Condition]:
    """``columns`` maps each filterable column to its Arrow type kind (``string`` or ``number``)."""
    tokens = _tokens(text)
    conditions: list[Condition] = []
    position = 0

    def take(what: str) -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise _bad(text, f"it ends where {what} should be")
        token = tokens[position]
        position += 1
        return token

    while True:
        kind, value = take("a column")
        if kind != "word" or value.lower() not in columns:
            raise _bad(text, f"{value!r} is not a column; columns are {', '.join(columns)}")
        column = value.lower()
        kind, op = take("an operator")
        if kind == "word" and op.upper() == "IN":
            if take("(") != ("punct", "("):
                raise _bad(text, "IN takes a list in parentheses")
            values = [_literal(text, column, columns[column], take("a value"))]
            while (token := take("',' or ')'")) == ("punct", ","):
                values.append(_literal(text, column, columns[column], take("a value")))
            if token != ("punct", ")"):
                raise _bad(text, "IN takes a list in parentheses")
            conditions.append(Condition(column, "IN", tuple(values)))
        elif kind == "op":
            conditions.append(Condition(column, op, (_literal(text, column, columns[column], take("a value")),)))
        else:
            raise _bad(text, f"{op!r} is not an operator; operators are {' '.join(OPS)}")
        if position == len(tokens):
            return conditions
        kind, word = take("AND")
        if kind != "word" or word.upper() != "AND":
            raise _bad(text, f"expected AND, not {word!r} (conditions are joined by AND only)")


def to_sql(conditions: Sequence[Condition], names: Mapping[str, str]) -> str | None:
    """The LanceDB filter for the conditions on columns of the scanned table (``names``: corpus -> table)."""
    clauses: list[str | None] = []
    for c in conditions:
        if c.column not in names:
            continue
        name = names[c.column]
        if c.op == "IN":
            clauses.append(sql.is_in(name, c.values))
        else:
            clauses.append(f"{sql.column(name)} {'<>' if c.op == '!=' else c.op} {sql.literal(c.values[0])}")
    return sql.all_of(*clauses)


def mask(table: pa.Table, conditions: Sequence[Condition]) -> pa.ChunkedArray | None:
    """Which rows of ``table`` meet every condition (None: no condition); null never matches."""
    result = None
    functions = {"=": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
                 ">=": pc.greater_equal}
    for c in conditions:
        column = table.column(c.column)
        if c.op == "IN":
            keep = pc.is_in(column, value_set=pa.array(c.values, column.type))
        else:
            keep = functions[c.op](column, pa.scalar(c.values[0], column.type))
        keep = pc.fill_null(keep, False)
        result = keep if result is None else pc.and_(result, keep)
    return result


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad(text, f"unexpected {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise _bad(text, "it is empty")
    return tokens


def _literal(text: str, column: str, kind: str, token: tuple[str, str]) -> Literal:
    token_kind, value = token
    if token_kind == "string" and kind == "string":
        return value[1:-1].replace("''", "'")
    if token_kind == "number" and kind == "number":
        return float(value)
    if token_kind in ("string", "number"):
        raise _bad(text, f"{column} compares with a {kind}, not {value}")
    raise _bad(text, f"{value!r} is not a value (texts are quoted: 'like this')")


def _bad(text: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"bad --where filter {text!r}: {why}", where=text)
