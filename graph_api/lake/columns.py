"""Checking and building a batch column by column: the fast path of a bulk write.

A batch of 10k rows checked value by value in Python costs more than LanceDB's write of it, so a
batch is first checked over whole columns with ``pyarrow.compute`` (types, required text, enum
values, ``STRING_RULES`` lengths and characters, checksums, number ranges, repeated external ids).
The columnar checks only say *whether* a batch is clean: when any check fails (or a value is of a
kind they do not model) they raise ``NotColumnar`` and the caller runs the row-by-row checks of
``graph_api.lake.validate``, which name each problem's row and field with the messages clients
rely on. So a clean batch pays for the columns and a bad one gets exactly the old errors; the
limits themselves live only in ``validate.py``.

A batch is built from dicts (``Batch(rows, ...)``) or from an Arrow table (``Batch.from_arrow``, the
bulk loaders' entry): then its columns are the table's, cast once to the types the checks read, and no
Python object per value is made unless a check needs one. ``column_problems`` names the columns of a
table whose Arrow type no value of the field can have.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph_api.lake.validate import (
    _TEXT_FORBIDDEN,
    _TOKEN_FORBIDDEN,
    CHECKSUM,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    STRING_RULES,
    Problems,
    json_depth,
    to_json_text,
)

_NONE = type(None)
_STR_TYPES: frozenset[type] = frozenset({str, _NONE})
_INT_TYPES: frozenset[type] = frozenset({int, _NONE})
_NUMBER_TYPES: frozenset[type] = frozenset({int, float, _NONE})
# RE2 (Arrow's regex engine) and Python read these character-class patterns the same way
_FORBIDDEN = {True: _TOKEN_FORBIDDEN.pattern, False: _TEXT_FORBIDDEN.pattern}
# CHECKSUM without Python's "$ also matches before a final newline" (a newline is refused anyway)
_CHECKSUM = CHECKSUM.pattern
# what validate's NUL pattern looks for, as plain text
_JSON_NUL_TEXT = "\\u0000"


# validate.to_json_text's json.dumps arguments, as one reusable encoder (json.dumps builds one per call)
_JSON = json.JSONEncoder(sort_keys=True, allow_nan=False)


def _json_objects_encoder() -> Callable[[Any], str]:
    """``_JSON.encode`` for dicts, without its per-call setup (``iterencode`` builds a C encoder for every
    value: about a third of encoding a small object). The C encoder's circular-reference marks are
    cleared as it returns, so one serves a whole batch; after an error the batch leaves this path."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return _JSON.encode
    encoder = make({}, _JSON.default, json.encoder.encode_basestring_ascii, None, _JSON.key_separator,
                   _JSON.item_separator, _JSON.sort_keys, _JSON.skipkeys, _JSON.allow_nan)
    return lambda value: "".join(encoder(value, 0))


def _json_object_decoder(field: str) -> Callable[[str], Any]:
    """``json.loads`` for texts that are one JSON object without surrounding space (a JSON column's texts):
    the C scanner alone, without ``loads``' per-call wrapping (~2 of its ~4 us). Any other text goes
    through ``json.loads``; what it refuses raises ``NotColumnar`` (the row checks name it)."""
    scan: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009 - untyped

    def loads(text: str) -> Any:
        if text[:1] == "{" and text[-1:] == "}":
            try:
                value, end = scan(text, 0)
            except (ValueError, StopIteration):
                value, end = None, -1
            if end == len(text):
                return value
        try:
            return json.loads(text)
        except ValueError as exc:
            raise NotColumnar(f"{field}: not JSON") from exc

    return loads


class NotColumnar(Exception):
    """The batch has a problem (or a value the columnar checks do not model): check it row by row."""


@lru_cache(maxsize=1)
def _blank_pattern() -> str:
    """A value ``str.strip()`` leaves empty: only characters Python calls whitespace (all below U+3001)."""
    spaces = "".join(f"\\x{{{c:04x}}}" for c in range(0x3001) if chr(c).isspace())
    return f"^[{spaces}]*$"


def _kind(arrow_type: pa.DataType) -> str | None:
    """What a column of this type can hold, as the checks see it: "text", "integer", "number", "null",
    "struct" (JSON objects) or None (nothing a field of the lake takes)."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return "text"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_struct(arrow_type):
        return "struct"
    return None


# the column kinds a field of each Arrow type takes (a JSON field: its text, or a struct of its object)
_TAKES: dict[str, frozenset[str]] = {
    "text": frozenset({"text", "null"}),
    "integer": frozenset({"integer", "number", "null"}),  # whole floats: pandas reads nullable ints so
    "number": frozenset({"integer", "number", "null"}),
    "json": frozenset({"text", "struct", "null"}),
}


def _field_kind(arrow_type: pa.DataType | None) -> str:
    if arrow_type is None:
        return "json"
    if pa.types.is_integer(arrow_type):
        return "integer"
    return "number" if pa.types.is_floating(arrow_type) else "text"


def column_problems(table: pa.Table, types: Mapping[str, pa.DataType | None], problems: Problems) -> None:
    """A problem (field named, no row) for each column of ``table`` that ``types`` knows whose Arrow type
    cannot hold the field's values (``None``: a JSON object field); the row checks cannot name it per row."""
    for name in table.column_names:
        if name not in types:
            continue
        wanted = _field_kind(types[name])
        got = table.schema.field(name).type
        if _kind(got) not in _TAKES[wanted]:
            expected = {"text": "a string", "integer": "an integer", "number": "a number",
                        "json": "a string (JSON text) or struct"}[wanted]
            problems.add(None, name, f"column {name!r} is of Arrow type {got}; it must be {expected} column")


class Batch:
    """A batch's columns as Python lists and Arrow arrays, converted once and checked in place."""

    def __init__(self, rows: Sequence[Any], max_batch: int | None) -> None:
        if not rows or (max_batch is not None and len(rows) > max_batch):
            raise NotColumnar("batch size")
        if not all(type(r) is dict for r in rows):
            raise NotColumnar("not dicts")
        # the input dicts; None for a batch built from Arrow columns
        self.rows: Sequence[dict[str, Any]] | None = rows
        self.size = len(rows)
        self.keys: set[str] = set().union(*rows)
        self.lists: dict[str, list[Any]] = {}
        self.arrays: dict[str, pa.Array] = {}
        self.columns: dict[str, pa.Array] = {}  # an Arrow batch's columns as given
        self.technical: list[str | None] = []
        self._printable: dict[str, bool] = {}

    @classmethod
    def from_arrow(cls, table: pa.Table, max_batch: int | None, types: Mapping[str, pa.DataType | None]) -> Batch:
        """A batch of ``table``'s columns; those ``types`` knows are cast to the type its checks read (text
        to string, integers to int64, numbers to float64). Any column ``column_problems`` refuses, or
        a value a cast cannot keep (a float with a fraction in an integer field), raises ``NotColumnar``."""
        if not table.num_rows or (max_batch is not None and table.num_rows > max_batch):
            raise NotColumnar("batch size")
        batch = cls.__new__(cls)
        batch.rows = None
        batch.size = table.num_rows
        batch.keys = set(table.column_names)
        batch.lists, batch.arrays, batch.columns, batch._printable = {}, {}, {}, {}
        batch.technical = []
        for name in table.column_names:
            chunked = table.column(name)
            column = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            batch.columns[name] = column
            if name not in types:
                continue
            kind, wanted = _kind(column.type), _field_kind(types[name])
            if kind not in _TAKES[wanted]:
                raise NotColumnar(f"{name}: a column of type {column.type}")
            if wanted == "json":
                continue
            target = {"text": pa.string(), "integer": pa.int64(), "number": pa.float64()}[wanted]
            try:
                batch.arrays[name] = column.cast(target)  # safe: a fraction or an overflow raises
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise NotColumnar(f"{name}: {exc}") from exc
        return batch

    def values(self, field: str) -> list[Any]:
        found = self.lists.get(field)
        if found is None:
            if self.rows is not None:
                found = list(map(dict.get, self.rows, repeat(field)))
            elif field in self.columns:
                found = self.columns[field].to_pylist()
            else:
                found = [None] * self.size
            self.lists[field] = found
        return found

    def _typed(self, field: str, allowed: frozenset[type], arrow_type: pa.DataType) -> pa.Array:
        found = self.arrays.get(field)
        if found is not None:
            return found
        column = self.columns.get(field)
        if column is not None:  # an Arrow column no type was given for (a field STRING_RULES knows, say)
            kinds = {"text": _TAKES["text"], "integer": frozenset({"integer", "null"})}.get(
                _field_kind(arrow_type), _TAKES["number"])
            if _kind(column.type) not in kinds:
                raise NotColumnar(f"{field}: a column of type {column.type}")
            array = self.arrays[field] = column.cast(arrow_type)
            return array
        values = self.values(field)
        if not set(map(type, values)) <= allowed:
            raise NotColumnar(f"{field}: a value of another type")
        try:
            array = pa.array(values, type=arrow_type)
        except (pa.ArrowException, OverflowError, UnicodeError, ValueError, TypeError) as exc:
            raise NotColumnar(f"{field}: {exc}") from exc
        self.arrays[field] = array
        return array

    def dicts(self) -> list[dict[str, Any]]:
        """The batch as dicts, for the row checks and the row build (an Arrow batch's values as cast)."""
        if self.rows is not None:
            return list(self.rows)
        names = list(self.columns)
        return pa.table([self.arrays.get(n, self.columns[n]) for n in names], names=names).to_pylist()

    def text(self, field: str) -> pa.Array:
        return self._typed(field, _STR_TYPES, pa.string())

    # --- the checks of ``validate.Problems``, over whole columns ----------------------------
    def strings(self) -> None:
        """``Problems.check_batch``: every field ``STRING_RULES`` knows, held to its rule."""
        for field in self.keys & STRING_RULES.keys():
            max_length, identifier = STRING_RULES[field]
            array = self.text(field)
            if array.null_count == len(array):
                continue
            if pc.max(pc.utf8_length(array)).as_py() > max_length:
                raise NotColumnar(f"{field}: too long")
            if not self.printable(field) and pc.any(pc.match_substring_regex(array, _FORBIDDEN[identifier])).as_py():
                raise NotColumnar(f"{field}: a forbidden character")

    def printable(self, field: str) -> bool:
        """Whether every value is printable ASCII (most are): no control character, no blank but spaces."""
        found = self._printable.get(field)
        if found is None:
            array = self.text(field)
            # ascii_is_printable is false for ""; an empty value is a problem only where text is required
            found = self._printable[field] = bool(pc.all(pc.or_(pc.ascii_is_printable(array),
                                                                pc.equal(array, ""))).as_py())
        return found

    def required_text(self, field: str) -> pa.Array:
        array = self.text(field)
        if array.null_count:
            raise NotColumnar(f"{field}: required")
        if self.printable(field):
            blank = pc.equal(pc.ascii_trim(array, " "), "")  # printable ASCII: only spaces are white
        else:
            blank = pc.match_substring_regex(array, _blank_pattern())
        if pc.any(blank).as_py():
            raise NotColumnar(f"{field}: required")
        return array

    def one_of(self, field: str, allowed: Sequence[str]) -> pa.Array:
        array = self.text(field)
        if array.null_count or not pc.all(pc.is_in(array, value_set=pa.array(list(allowed)))).as_py():
            raise NotColumnar(f"{field}: not allowed")
        return array

    def checksum(self, field: str = "checksum") -> pa.Array:
        array = self.text(field)
        if array.null_count < len(array) and not pc.all(pc.match_substring_regex(array, _CHECKSUM)).as_py():
            raise NotColumnar(f"{field}: not a checksum")
        return array

    def number(self, field: str, arrow_type: pa.DataType, *, minimum: float | None = None,
               positive: bool = False, maximum: float | None = None) -> pa.Array:
        """``Problems.number``; an integer field takes Python ints only (the row checks decide the rest)."""
        integer = pa.types.is_integer(arrow_type)
        array = self._typed(field, _INT_TYPES if integer else _NUMBER_TYPES,
                            pa.int64() if integer else pa.float64())
        if array.null_count == len(array):
            return array.cast(arrow_type)
        if not integer and not pc.all(pc.is_finite(array)).as_py():
            raise NotColumnar(f"{field}: not finite")
        low, high = pc.min_max(array).values()
        low, high = low.as_py(), high.as_py()
        if (positive and low <= 0) or (minimum is not None and low < minimum) or (
                maximum is not None and high > maximum):
            raise NotColumnar(f"{field}: out of range")
        try:
            return array.cast(arrow_type)
        except pa.ArrowInvalid as exc:
            raise NotColumnar(f"{field}: {exc}") from exc

    def unique(self, field: str) -> None:
        array = self.text(field)
        present = len(array) - array.null_count
        if present and pc.count_distinct(array).as_py() != present:
            raise NotColumnar(f"{field}: repeats")

    def json_objects(self, field: str) -> list[str | None]:
        """``validate.to_json_text(..., object_only=True)`` of every value: JSON text or None."""
        texts: list[str | None] = []
        append = texts.append
        dumps = _json_objects_encoder()
        loads = _json_object_decoder(field)
        for value in self.values(field):
            if type(value) is str:  # JSON text (an Arrow column of it): its object, encoded as a dict is
                value = loads(value)
                if type(value) is not dict:
                    raise NotColumnar(f"{field}: not a JSON object")
            if value is None:
                append(None)
            elif type(value) is dict:
                try:
                    append(dumps(value))
                except Exception as exc:  # noqa: BLE001 - too deep, not serialisable...: the row checks say which
                    raise NotColumnar(f"{field}: {exc}") from exc
            else:
                scratch = Problems("columns")
                append(to_json_text(scratch, 0, field, value, object_only=True))
                if scratch.items:
                    raise NotColumnar(f"{field}: {scratch.items[0]['message']}")
        array = pa.array(texts, type=pa.string())
        if array.null_count < len(array):
            if pc.max(pc.utf8_length(array)).as_py() > MAX_JSON_BYTES:
                raise NotColumnar(f"{field}: too large")
            # a text with no more brackets than the limit cannot nest deeper than it: only the others are walked
            brackets = pc.add(pc.count_substring(array, "{"), pc.count_substring(array, "["))
            for i in pc.indices_nonzero(pc.fill_null(pc.greater(brackets, MAX_JSON_DEPTH), False)).to_pylist():
                if json_depth(json.loads(array[i].as_py()), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
                    raise NotColumnar(f"{field}: too deep")
            # any escaped NUL (RE2 has no look-behind for validate's exact pattern: the row checks decide)
            if pc.any(pc.match_substring(array, _JSON_NUL_TEXT)).as_py():
                raise NotColumnar(f"{field}: a NUL")
        self.arrays[field] = array
        return texts
