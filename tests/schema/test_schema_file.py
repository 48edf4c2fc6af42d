"""schema.graphql is generated from code and honours the public contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graph_api.schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_fresh() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `mediagraph export-schema -o schema.graphql`"


def test_export_schema_command_prints_the_same_sdl(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    subprocess.run([sys.executable, "-m", "graph_api.cli", "export-schema", "-o", str(out)], check=True)
    assert out.read_text() == sdl()


def test_schema_declares_federation_2_keys() -> None:
    text = sdl()
    assert 'federation/v2.7' in text
    for entity in ("Title", "Asset", "Segment", "Run"):
        assert f'type {entity} implements Node @key(fields: "id")' in text, entity
