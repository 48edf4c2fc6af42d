"""The Media Table: every title's assets, one row per (id, version).

Registering an asset whose ``external_id`` is known updates it; if its checksum changed (or a
new run derived it again) it becomes version N+1 and the old row stays readable with
``is_current`` false. Both rows are
written by one ``merge_insert`` keyed on (id, version), so a re-delivery is one atomic commit.

Bulk loaders and ML pipelines register Arrow tables (``register_table``): the same checks, errors,
atomicity and write path as ``register``, over whole columns, with Arrow rows back.
"""
from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from graph_api.lake import sql
from graph_api.lake.base import IN_CHUNK, Repo, now
from graph_api.lake.columns import Batch, NotColumnar, column_problems
from graph_api.lake.ids import new_id, new_id_array
from graph_api.lake.schemas import ASSETS
from graph_api.lake.validate import Problems, to_json_text
from graph_api.media.kinds import MEDIA_TYPES

B = TypeVar("B")
CURRENT = "is_current = TRUE"
FIELDS = ("external_id", "title_id", "media_type", "role", "uri", "checksum", "size_bytes",
          "duration_seconds", "width", "height", "frame_rate")
# a built row's keys, in the order the row-by-row build sets them
RESULT_KEYS = (*FIELDS, "technical", "updated_at", "is_current", "produced_by", "id", "version", "created_at")
# the keys an input row may have that a built row takes (``technical`` is replaced by its JSON text)
_INPUT_KEYS = frozenset((*FIELDS, "technical"))
# a lookup of more external ids than this reads their span of the index first
RANGE_FIRST_ABOVE = 64
# the number fields and their limits (``Problems.number``'s), for the columnar checks
NUMBERS: tuple[tuple[str, pa.DataType, dict[str, Any]], ...] = (
    ("size_bytes", pa.int64(), {"minimum": 0}),
    ("duration_seconds", pa.float64(), {"minimum": 0}),
    ("width", pa.int32(), {"positive": True, "maximum": 2**31 - 1}),
    ("height", pa.int32(), {"positive": True, "maximum": 2**31 - 1}),
    ("frame_rate", pa.float64(), {"positive": True}),
)
# the Arrow type of each input column (``None``: a JSON object, as text or a struct), for an Arrow batch
INPUT_TYPES: dict[str, pa.DataType | None] = {
    **{f: ASSETS.field(f).type for f in FIELDS}, "technical": None,
}
# the GraphQL names (AssetInput's) of the input columns: a file written for registerAssets registers as it is
GRAPHQL_NAMES = {"".join(w.capitalize() if i else w for i, w in enumerate(f.split("_"))): f
                 for f in INPUT_TYPES if "_" in f}


@dataclass
class PreparedAssets:
    """Validated rows, ready to write; ``results`` are the current rows, in input order."""

    rows: list[dict[str, Any]]
    results: list[dict[str, Any]]
    new_versions: list[dict[str, Any]]
    # the rows to write, already as Arrow (a batch of new assets built column by column)
    table: pa.Table | None = None
    # ``results`` as Arrow (``prepare_table``'s), in the assets table's schema
    current: pa.Table | None = None


class Assets(Repo):
    table_name = "assets"
    schema = ASSETS

    # --- reads ----------------------------------------------------------------------
    def get_many(self, ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        return super().get_many(ids, sql.all_of(CURRENT, extra))

    def by_external_id(self, external_ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        """Current rows by external id."""
        return super().by_external_id(external_ids, sql.all_of(CURRENT, extra))

    def get_version(self, id_: str, version: int) -> dict[str, Any] | None:
        rows = self.rows(sql.all_of(sql.eq("id", id_), sql.eq("version", version)))
        return rows[0] if rows else None

    def versions(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every version of each asset, oldest first."""
        grouped = self.group_by("id", ids)
        for rows in grouped.values():
            rows.sort(key=lambda r: r["version"])
        return grouped

    def by_title(self, title_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("title_id", title_ids, CURRENT)

    def by_producer(self, run_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("produced_by", run_ids, CURRENT)

    def list(self, *, title_ids: Sequence[str] | None = None, media_type: str | None = None,
             role: str | None = None, all_versions: bool = False) -> pa.Table:
        """Assets as Arrow, for ML users: filter by titles, media type and role."""
        where = sql.all_of(
            None if all_versions else CURRENT,
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.eq("media_type", media_type) if media_type else None,
            sql.eq("role", role) if role else None,
        )
        return self.scan(where).sort_by([("id", "ascending"), ("version", "ascending")])

    # --- writes -------------------------------------------------------------------------
    def register(self, inputs: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Register a batch of delivered assets atomically; returns the current rows in input order.

        Batches registered meanwhile by callers with the same access are checked and written together,
        in one commit (``Connection.group``, under the write lock)."""
        rows: builtins.list[dict[str, Any]] = self.connection.group(
            "register", inputs, self._register_group, key=(self.view.access, self.view.runs),
            rows=len(inputs), lock=self.connection.write_lock)
        return rows

    def _register_group(self, batches: builtins.list[Sequence[dict[str, Any]]]
                        ) -> builtins.list[builtins.list[dict[str, Any]] | BaseException]:
        """Each batch's current rows (or its error), the batches written in as few commits as their external
        ids allow: a batch naming an external id an earlier one names waits for that one's commit."""
        outcomes: builtins.list[builtins.list[dict[str, Any]] | BaseException] = []
        rounds: builtins.list[builtins.list[Sequence[dict[str, Any]]]] = _rounds(batches, _external_ids)
        for members in rounds:
            try:
                outcomes += self._register_together(members)
            except Exception as exc:  # noqa: BLE001 - this round's commit failed; the rounds before it are written
                outcomes += [exc] * len(members)
        return outcomes

    def _register_together(self, batches: builtins.list[Sequence[dict[str, Any]]]
                           ) -> builtins.list[builtins.list[dict[str, Any]] | BaseException]:
        if len(batches) > 1:
            try:
                prepared = self.prepare([row for batch in batches for row in batch])
            except Exception:  # noqa: BLE001 - one batch's problem: each alone, so errors name its own rows
                return [outcome for batch in batches for outcome in self._register_together([batch])]
            self.write(prepared)  # a failed commit wrote none of them: each caller gets its error
            results = iter(prepared.results)
            outcomes: builtins.list[builtins.list[dict[str, Any]] | BaseException] = []
            for batch in batches:
                outcomes.append([next(results) for _ in batch])
            return outcomes
        try:
            prepared = self.prepare(batches[0])
        except Exception as exc:  # noqa: BLE001 - this batch's own refusal
            return [exc]
        self.write(prepared)
        return [prepared.results]

    def register_table(self, table: pa.Table) -> pa.Table:
        """Register an Arrow table of delivered assets as ``register`` registers dicts: the same checks and
        errors (every problem named by row index and field; a column of a type no value of its field can
        have is named by field alone), one atomic write, group commits with concurrent callers of equal
        access. Returns the current rows, in input order, in the assets table's schema (``id``, ``version``,
        ``row_key``, ``external_id``, ...).

        Columns: ``AssetInput``'s, snake_case (``title_id``, ``media_type``, ``role``, ``uri``, ``external_id``,
        ``checksum``, ...) or as GraphQL names them (``titleId``, ...); ``technical`` as JSON text, or as a
        struct (whose null fields are stored as nulls: Arrow cannot tell them from missing keys); a missing
        column is null in every row. Build the table from columns: ``pa.Table.from_pylist`` takes only the
        first row's keys.

        Lineage learns of the rows as it learns of ``register``'s: a ``LakeLineage`` notes another writer's
        rows on its next ``refresh``, or a caller notes them at once (``note_assets(result.to_pylist())``)."""
        table = _snake_case(table)  # before grouping: the rounds read its external ids
        current: pa.Table = self.connection.group(
            "register_table", table, self._register_tables, key=(self.view.access, self.view.runs),
            rows=table.num_rows, lock=self.connection.write_lock)
        return current

    def _register_tables(self, tables: builtins.list[pa.Table]) -> builtins.list[pa.Table | BaseException]:
        """``_register_group`` for Arrow tables: each table is checked alone (its errors name its own rows);
        the tables of a round (no external id in common) are written together, new assets in one append."""
        outcomes: builtins.list[pa.Table | BaseException] = []
        for members in _rounds(tables, _table_external_ids):
            prepared: builtins.list[PreparedAssets | BaseException] = []
            for table in members:
                try:
                    prepared.append(self.prepare_table(table))
                except Exception as exc:  # noqa: BLE001 - this table's own refusal
                    prepared.append(exc)
            ready = [p for p in prepared if isinstance(p, PreparedAssets)]
            try:
                appends = [p.table for p in ready if p.table is not None]
                if appends:
                    self.connection.add("assets", appends[0] if len(appends) == 1 else pa.concat_tables(appends))
                for p in ready:
                    if p.table is None:
                        self.write(p)
            except Exception as exc:  # noqa: BLE001 - this round's commit failed; the rounds before it are written
                outcomes += [exc if isinstance(p, PreparedAssets) else p for p in prepared]
                continue
            outcomes += [p if isinstance(p, BaseException) else _current(p) for p in prepared]
        return outcomes

    def prepare(self, inputs: Sequence[dict[str, Any]], *, produced_by: str | None = None,
                what: str = "registerAssets", problems: Problems | None = None) -> PreparedAssets:
        problems = problems or Problems(what, self.connection.max_batch)
        try:
            batch: Batch | None = self._check_columns(inputs, problems.max_batch)
        except NotColumnar:
            batch = None  # the row checks below name every problem, as clients know them
        return self._prepare(inputs, batch, produced_by, problems)

    def prepare_table(self, table: pa.Table, *, produced_by: str | None = None, what: str = "registerAssets",
                      problems: Problems | None = None) -> PreparedAssets:
        """``prepare`` of an Arrow table; ``current`` holds the current rows as Arrow. A clean batch of new
        assets is checked and built column by column; a doubtful one, or one re-delivering known external
        ids, goes through the rows (as dicts), so its errors and new versions are ``prepare``'s."""
        problems = problems or Problems(what, self.connection.max_batch)
        table = _snake_case(table)
        column_problems(table, INPUT_TYPES, problems)
        problems.raise_if_any()  # a column of the wrong type: its rows need not be read to refuse it
        try:
            batch: Batch | None = self._check_batch(Batch.from_arrow(table, problems.max_batch, INPUT_TYPES))
        except NotColumnar:
            batch = None
        prepared = self._prepare(table.to_pylist() if batch is None else None, batch, produced_by, problems)
        if prepared.current is None:
            prepared.current = self.to_table({**r, "row_key": f"{r['id']}:{r['version']}"} for r in prepared.results)
        return prepared

    def _prepare(self, inputs: Sequence[dict[str, Any]] | None, batch: Batch | None, produced_by: str | None,
                 problems: Problems) -> PreparedAssets:
        """The checks against the lake (titles, known external ids) and the build; ``inputs`` may be None
        for an Arrow batch that passed the columnar checks (its rows are made only if the row build needs them)."""
        if batch is not None:
            technical = batch.technical
            titles_array = batch.arrays["title_id"]
            known = pc.is_in(titles_array, value_set=self._known_titles(pc.unique(titles_array).to_pylist()))
            for i in pc.indices_nonzero(pc.invert(known)).to_pylist():
                problems.add(i, "title_id", f"unknown title {titles_array[i].as_py()!r}", "NOT_FOUND")
            ext = batch.arrays["external_id"]
            external: pa.Array | builtins.list[str] = pc.filter(ext, pc.fill_null(pc.not_equal(ext, ""), False))
        else:
            assert inputs is not None
            technical = self._check_rows(inputs, problems)
            external = [r["external_id"] for r in inputs if r.get("external_id")]
        existing = self._current_by_external_id(external)
        if existing:
            if inputs is None:
                assert batch is not None
                inputs = batch.dicts()  # re-deliveries: the checks below and the row build read rows
            for i, row in enumerate(inputs):
                old = existing.get(row.get("external_id") or "")
                if old and old["title_id"] != row.get("title_id"):
                    problems.add(i, "external_id", f"{row['external_id']!r} belongs to asset {old['id']} of title "
                                 f"{old['title_id']}, not {row.get('title_id')}", "CONFLICT")
                if old and produced_by is None and old["produced_by"] is not None:
                    problems.add(i, "external_id", f"asset {old['id']} is derived (by run {old['produced_by']}): "
                                 "a delivery cannot replace it; record a run instead", "CONFLICT")
        problems.raise_if_any()
        if batch is not None and not existing:
            if batch.rows is None:  # from Arrow: no dicts back
                table = self._new_table(batch, produced_by, new_id_array("asset", batch.size), now())
                return PreparedAssets([], [], [], table, table)
            return self._new_assets(batch, technical, produced_by)
        assert inputs is not None
        return self._build_rows(inputs, technical, existing, produced_by)

    def _known_titles(self, title_ids: builtins.list[str]) -> pa.Array:
        """Which of these titles exist and this view may see: ids only (``titles.get_many`` reads whole rows)."""
        found = [self.view.scan("titles", sql.is_in("id", title_ids[start : start + IN_CHUNK]), columns=["id"],
                                title_column="id")["id"] for start in range(0, len(title_ids), IN_CHUNK)]
        return pa.chunked_array(found, pa.string()).combine_chunks()

    def _current_by_external_id(self, external: pa.Array | builtins.list[str]) -> dict[str, dict[str, Any]]:
        """The current rows of these external ids, ignoring access (ids a write must not duplicate).

        An IN list of 10k ids costs a B-tree probe per id; a bulk delivery's ids usually sort
        together, so one indexed range read of the span between the smallest and the largest
        answers first: only the ids found there are read as rows. A span that holds many other
        assets (ids scattered over the table) stops at a limit and falls back to the IN list."""
        if not len(external):
            return {}
        if isinstance(external, builtins.list) and len(external) > RANGE_FIRST_ABOVE and all(
                type(e) is str for e in external):
            external = pa.array(external, type=pa.string())
        if isinstance(external, pa.Array) and len(external) > RANGE_FIRST_ABOVE:
            limit = 2 * len(external) + 16
            low, high = pc.min_max(external).values()
            span = sql.all_of(CURRENT, f"{sql.column('external_id')} >= {sql.literal(low.as_py())}",
                              f"{sql.column('external_id')} <= {sql.literal(high.as_py())}")
            near = self.view.scan("assets", span, columns=["external_id", "produced_by"], limit=limit,
                                  title_column=None)["external_id"]
            if len(near) < limit:
                external = pc.filter(near, pc.is_in(near, value_set=external))
                if not len(external):
                    return {}
        if isinstance(external, (pa.Array, pa.ChunkedArray)):
            external = external.to_pylist()
        rows = self.view.scan("assets", sql.all_of(CURRENT, sql.is_in("external_id", external)), title_column=None,
                              keyed=True)
        return {r["external_id"]: r for r in rows.to_pylist()}

    @staticmethod
    def _check_columns(inputs: Sequence[dict[str, Any]], max_batch: int | None) -> Batch:
        """The row checks below, over whole columns; raises ``NotColumnar`` at the first doubt."""
        return Assets._check_batch(Batch(inputs, max_batch))

    @staticmethod
    def _check_batch(batch: Batch) -> Batch:
        batch.strings()
        batch.unique("external_id")
        batch.required_text("title_id")
        batch.one_of("media_type", MEDIA_TYPES)
        batch.required_text("role")
        batch.required_text("uri")
        batch.checksum()
        for field, arrow_type, limits in NUMBERS:
            batch.arrays[field] = batch.number(field, arrow_type, **limits)
        batch.technical = batch.json_objects("technical")
        return batch

    def _check_rows(self, inputs: Sequence[dict[str, Any]], problems: Problems) -> builtins.list[str | None]:
        """Every row's problems, named by row and field; returns the rows' ``technical`` JSON texts."""
        problems.check_batch(inputs)
        problems.unique(inputs, "external_id")
        technical: builtins.list[str | None] = []
        for i, row in enumerate(inputs):
            problems.required_text(i, row, "title_id")
            problems.one_of(i, row, "media_type", MEDIA_TYPES)
            problems.required_text(i, row, "role")
            problems.required_text(i, row, "uri")
            problems.checksum(i, row)
            for field, arrow_type, limits in NUMBERS:
                problems.number(i, row, field, integer=pa.types.is_integer(arrow_type), **limits)
            technical.append(to_json_text(problems, i, "technical", row.get("technical"), object_only=True))
        titles = self.view.titles.get_many([r["title_id"] for r in inputs if isinstance(r.get("title_id"), str)])
        for i, row in enumerate(inputs):
            if isinstance(row.get("title_id"), str) and row["title_id"] not in titles:
                problems.add(i, "title_id", f"unknown title {row['title_id']!r}", "NOT_FOUND")
        return technical

    @staticmethod
    def _new_table(batch: Batch, produced_by: str | None, id_array: pa.Array, stamp: Any) -> pa.Table:
        """A checked batch of brand-new assets as the rows to write, built as Arrow columns (version 1 each)."""
        n = batch.size
        produced_by = produced_by or None  # as the row build sets it
        columns: dict[str, pa.Array] = {
            "id": id_array,
            "version": pa.repeat(pa.scalar(1, pa.int32()), n),
            "row_key": pc.binary_join_element_wise(id_array, ":1", ""),
            "is_current": pa.repeat(pa.scalar(True), n),
            "technical": batch.arrays["technical"],
            "produced_by": pa.repeat(pa.scalar(produced_by, pa.string()), n),
            "created_at": pa.repeat(pa.scalar(stamp, ASSETS.field("created_at").type), n),
        }
        columns["updated_at"] = columns["created_at"]
        for field in FIELDS:
            columns[field] = batch.arrays[field] if field in batch.arrays else batch.text(field)
        return pa.Table.from_arrays([columns[f.name] for f in ASSETS], schema=ASSETS)

    @staticmethod
    def _new_assets(batch: Batch, technical: builtins.list[str | None], produced_by: str | None) -> PreparedAssets:
        """``_new_table``, and the rows callers get back as dicts."""
        assert batch.rows is not None
        stamp = now()
        produced_by = produced_by or None  # as the row build sets it
        id_array = new_id_array("asset", batch.size)
        ids = id_array.to_pylist()
        table = Assets._new_table(batch, produced_by, id_array, stamp)
        # the rows callers get back hold the values they gave, as the row-by-row build returns them
        if batch.keys <= _INPUT_KEYS:
            # a copy of one shared row updated with each input (C-speed dict work, no per-key Python loop);
            # every key is already in the shared row, so the keys keep RESULT_KEYS' order
            shared = dict.fromkeys(RESULT_KEYS)
            shared.update(updated_at=stamp, is_current=True, produced_by=produced_by, version=1, created_at=stamp)
            results: builtins.list[dict[str, Any]] = []
            append = results.append
            for row, tech, id_ in zip(batch.rows, technical, ids, strict=True):
                result = shared.copy()
                result.update(row)
                result["technical"] = tech
                result["id"] = id_
                append(result)
        else:  # keys the build ignores: only the fields' values
            rows = zip(*(batch.values(f) for f in FIELDS), technical, repeat(stamp), repeat(True),
                       repeat(produced_by), ids, repeat(1), repeat(stamp))
            results = [dict(zip(RESULT_KEYS, values)) for values in rows]  # noqa: B905 - a value per key
        return PreparedAssets(results, results, results, table)

    @staticmethod
    def _build_rows(inputs: Sequence[dict[str, Any]], technical: builtins.list[str | None],
                    existing: dict[str, dict[str, Any]], produced_by: str | None) -> PreparedAssets:
        """Checked rows, built one by one: new assets, new versions and refreshed metadata."""
        stamp = now()
        rows: builtins.list[dict[str, Any]] = []
        results: builtins.list[dict[str, Any]] = []
        new_versions: builtins.list[dict[str, Any]] = []
        for row, tech in zip(inputs, technical, strict=True):
            old = existing.get(row.get("external_id") or "")
            record = {f: row.get(f) for f in FIELDS}
            record.update(technical=tech, updated_at=stamp, is_current=True,
                          produced_by=produced_by or (old["produced_by"] if old else None))
            if old is None:
                record.update(id=new_id("asset"), version=1, created_at=stamp)
                new_versions.append(record)
            elif (old["checksum"] != row.get("checksum") and row.get("checksum") is not None) or (
                    produced_by is not None and old["produced_by"] != produced_by):
                # new content, or the same asset derived again by another run: each version has one producer
                record.update(id=old["id"], version=old["version"] + 1, created_at=stamp)
                rows.append({**old, "is_current": False, "updated_at": stamp})
                new_versions.append(record)
            else:
                # the same content delivered again: refresh its metadata, keep its version
                record.update(id=old["id"], version=old["version"], created_at=old["created_at"])
            rows.append(record)
            results.append(record)
        return PreparedAssets(rows, results, new_versions)

    def write(self, prepared: PreparedAssets) -> None:
        if prepared.table is not None:
            self.connection.add("assets", prepared.table)
            return
        rows = [{**r, "row_key": f"{r['id']}:{r['version']}"} for r in prepared.rows]
        if len(rows) == len(prepared.new_versions) and all(r["version"] == 1 for r in rows):
            # only brand-new assets: an append, no join against the table
            self.connection.add("assets", self.to_table(rows))
        else:
            self.connection.merge("assets", self.to_table(rows), on="row_key")


def _external_ids(batch: Sequence[dict[str, Any]]) -> set[Any]:
    return {r["external_id"] for r in batch if isinstance(r, dict) and isinstance(r.get("external_id"), str)}


def _snake_case(table: pa.Table) -> pa.Table:
    """``table`` with AssetInput's GraphQL column names (``titleId``, ...) renamed to the lake's."""
    names = table.column_names
    if not any(n in GRAPHQL_NAMES and GRAPHQL_NAMES[n] not in names for n in names):
        return table
    return table.rename_columns([GRAPHQL_NAMES[n] if n in GRAPHQL_NAMES and GRAPHQL_NAMES[n] not in names else n
                                 for n in names])


def _table_external_ids(table: pa.Table) -> set[Any]:
    if "external_id" not in table.column_names:
        return set()
    try:  # large or dictionary-encoded strings too: two tables naming one external id must not share a round
        column = table.column("external_id").cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return set()  # a column no cast reads is refused before anything is written
    return set(pc.unique(column).drop_null().to_pylist())


def _rounds(batches: builtins.list[B], keys_of: Callable[[B], set[Any]]) -> builtins.list[builtins.list[B]]:
    """The batches in write rounds, in order: a batch naming an external id the round before it names
    starts a new round (it must see that round's commit). A lone batch is one round, its keys unread."""
    if len(batches) == 1:
        return [batches]
    rounds: builtins.list[builtins.list[B]] = []
    claimed: builtins.list[set[Any]] = []
    for batch in batches:
        keys = keys_of(batch)
        if not rounds or not keys.isdisjoint(claimed[-1]):
            rounds.append([])
            claimed.append(set())
        rounds[-1].append(batch)
        claimed[-1] |= keys
    return rounds


def _current(prepared: PreparedAssets) -> pa.Table:
    assert prepared.current is not None  # prepare_table always sets it
    return prepared.current
