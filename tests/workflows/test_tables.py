"""The workflow tables' Arrow schemas, the cut rows they hold, and the package's purity."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import opentimelineio as otio
import pyarrow as pa
import pytest

from graph_api.workflows import tables
from graph_api.workflows.cuts import Cut, ResolvedAsset, by_reference, cut_to_otio, import_cut
from graph_api.workflows.reviews import DECISIONS
from graph_api.workflows.tables import CUTS, SCHEMAS, cut_from_row, cut_rows, cuts_from_rows
from lineage.model import ID_PREFIXES, id_kind

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def a_cut() -> Cut:
    tl = otio.schema.Timeline(name="ep1")
    track = otio.schema.Track(name="V1")
    tl.tracks.append(track)
    for i, name in enumerate(["a", "b", "a"]):
        track.append(otio.schema.Clip(name=f"{name}{i}", media_reference=otio.schema.ExternalReference(
            target_url=f"file:///{name}.mov"), source_range=TR(RT(i * 10, 24), RT(24, 24))))
    resolve = by_reference(lambda ref: ResolvedAsset(f"asset_{ref.uri[8]}", 2, 60.0, ref.uri))
    return replace(import_cut(tl.to_json_string(), resolve), id="cut_1", title_id="title_1")


def test_every_table_has_an_id_and_the_id_prefixes_are_distinct() -> None:
    assert set(SCHEMAS) == {"reviews", "notes", "cuts", "playlists"}
    for schema in SCHEMAS.values():
        assert schema.field("id").type == pa.string() and not schema.field("id").nullable
    # the workflow id kinds live with every other one, distinct from them
    workflow = {"review": "rev_", "note": "note_", "cut": "cut_", "playlist": "pl_"}
    assert {k: ID_PREFIXES[k] for k in workflow} == workflow
    assert len(set(ID_PREFIXES.values())) == len(ID_PREFIXES)
    assert [id_kind(p + "01") for p in workflow.values()] == list(workflow)


def test_reviews_and_notes_point_at_one_asset_version() -> None:
    for schema in (tables.REVIEWS, tables.NOTES):
        assert schema.field("asset_id").type == pa.string() and schema.field("version").type == pa.int32()
    # a decision fits the column as text; the values come from one place
    assert pa.array(list(DECISIONS), pa.string()).type == tables.REVIEWS.field("decision").type


def test_cut_rows_round_trip_to_cut_records() -> None:
    cut = a_cut()
    table = cut_rows([cut], created_by="local", created_at=NOW, run_ids=["run_1"])
    assert table.schema == CUTS
    row = table.to_pylist()[0]
    assert row["asset_ids"] == ["asset_a", "asset_b"] and row["run_id"] == "run_1"
    assert len(row["clips"]) == 3 and row["clips"][1]["version"] == 2
    assert cuts_from_rows(table) == [cut]
    # the stored cut exports exactly as the imported one did
    assert cut_to_otio(cut_from_row(row)) == cut_to_otio(cut)


def test_a_cut_row_needs_its_id_and_title() -> None:
    with pytest.raises(ValueError, match="no id or title_id"):
        cut_rows([replace(a_cut(), id=None)], created_by="local", created_at=NOW)


def test_playlist_items_fit_the_playlists_table() -> None:
    items, asset_ids = tables.playlist_items([("asset_b", 1), ("asset_a", 2), ("asset_b", 1)])
    table = pa.Table.from_pylist([{"id": "pl_1", "name": "dailies", "title_id": None, "items": items,
                                   "asset_ids": asset_ids, "created_by": "local", "created_at": NOW}],
                                 schema=tables.PLAYLISTS)
    assert table.column("asset_ids").to_pylist() == [["asset_b", "asset_a"]]


def test_the_package_imports_neither_lancedb_nor_strawberry() -> None:
    script = ("import sys\n"
              "import graph_api.workflows.cuts, graph_api.workflows.notes, graph_api.workflows.reviews\n"
              "import graph_api.workflows.playlists, graph_api.workflows.tables\n"
              "bad = sorted(m for m in ('lancedb', 'lance', 'strawberry', 'starlette', 'graph_api.lake') "
              "if m in sys.modules)\n"
              "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == ""
