"""The full-text query language of search, parsed into LanceDB full-text queries.

    ship storm          either word (ranked by BM25)
    +ship storm         must contain ship
    ship -storm         must not contain storm
    "ship leaves"       the phrase, words adjacent and in order

Stemming and case folding come from the FTS index (``lancedb.index.FTS``). Anything else
that looks like syntax (an unclosed quote, a query of exclusions only) is refused with
INVALID_ARGUMENT rather than guessed at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lancedb.query import BooleanQuery, FullTextQuery, MatchQuery, Occur, PhraseQuery

from graph_api.errors import InvalidArgument

MAX_QUERY_CHARS = 1_000
_TOKEN = re.compile(r'([+-]?)(?:"([^"]*)"|([^\s"]+))')
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Clause:
    occur: Occur
    text: str
    phrase: bool


def parse(text: str) -> list[Clause]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument("the text query is empty", field="text")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidArgument(f"the text query is longer than {MAX_QUERY_CHARS} characters", field="text")
    if text.count('"') % 2:
        raise InvalidArgument(f"cannot parse the text query {text!r}: a quote is not closed", field="text")
    clauses: list[Clause] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if text[position:match.start()].strip():
            raise InvalidArgument(f"cannot parse the text query {text!r} near {text[position:match.start()]!r}",
                                  field="text")
        position = match.end()
        sign, phrase, word = match.groups()
        body = (phrase if phrase is not None else word).strip()
        if not _WORD.search(body):
            raise InvalidArgument(f"cannot parse the text query {text!r}: {match.group(0)!r} holds no word",
                                  field="text")
        occur = Occur.MUST if sign == "+" else Occur.MUST_NOT if sign == "-" else Occur.SHOULD
        clauses.append(Clause(occur, body, phrase is not None and " " in body))
    if all(c.occur == Occur.MUST_NOT for c in clauses):
        raise InvalidArgument(f"the text query {text!r} only excludes words: say what to find", field="text")
    return clauses


def to_query(clauses: list[Clause], column: str, *, phrases: bool = True) -> FullTextQuery:
    """The LanceDB query for ``column``; where the index keeps no positions a phrase matches all its words.

    The optional words go into one ``MatchQuery`` (OR of its terms): LanceDB prunes that one by
    its terms' score bounds, while a ``BooleanQuery`` of one ``MatchQuery`` per word scores every
    row that holds any word (at 1M dialogue lines, two words: ~8 ms against ~150 ms; the same
    BM25 scores). Required and excluded words stay one clause each: ``+the`` (a stop word) must
    still match nothing, which an AND of the words would not keep."""
    optional = [c.text for c in clauses if c.occur == Occur.SHOULD and not c.phrase]
    parts: list[tuple[Occur, FullTextQuery]] = []
    if optional:
        parts.append((Occur.SHOULD, MatchQuery(" ".join(optional), column)))  # type: ignore[call-arg]  # lancedb's hints mark its defaulted fields required
    for clause in clauses:
        if clause.occur == Occur.SHOULD and not clause.phrase:
            continue
        if clause.phrase and phrases:
            query: FullTextQuery = PhraseQuery(clause.text, column)  # type: ignore[call-arg]  # as above
        elif clause.phrase:
            query = BooleanQuery([(Occur.MUST, MatchQuery(w, column)) for w in clause.text.split()])  # type: ignore[call-arg]  # as above
        else:
            query = MatchQuery(clause.text, column)  # type: ignore[call-arg]  # as above
        parts.append((clause.occur, query))
    if len(parts) == 1 and parts[0][0] == Occur.SHOULD:
        return parts[0][1]
    return BooleanQuery(parts)
