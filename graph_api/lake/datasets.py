"""Standalone Lance datasets outside the lake (an exported corpus): written whole, in one commit.

Here because only ``graph_api.lake`` imports Lance."""
from __future__ import annotations

import lance
import pyarrow as pa


def write_lance(uri: str, table: pa.Table, storage_options: dict[str, str] | None = None) -> int:
    """Create the dataset ``uri`` from ``table`` (refused when one is there); returns its version."""
    dataset = lance.write_dataset(table, uri, mode="create", storage_options=storage_options or None)
    return int(dataset.version)


def read_lance(uri: str, storage_options: dict[str, str] | None = None) -> pa.Table:
    return lance.dataset(uri, storage_options=storage_options or None).to_table()
