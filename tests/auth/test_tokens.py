"""Tokens in a real lake: only a salted hash is stored, revocation bites within the refresh interval."""
from __future__ import annotations

from datetime import timedelta

import lancedb
import pytest

from graph_api.errors import InvalidArgument, NotFound
from graph_api.lake.tokens import TOKENS, LanceTokenTable, Tokens


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(tmp_path):
    # as the lake opens it: every read sees the newest commit, also another process's
    db = lancedb.connect(str(tmp_path / "lake"), read_consistency_interval=timedelta(0))
    return db.create_table("tokens", schema=TOKENS)


def test_a_created_token_authenticates_and_its_secret_is_not_stored(table) -> None:
    tokens = Tokens(LanceTokenTable(table))
    record, secret = tokens.create("editor", ["read", "write"], title_ids=["title_a"])
    principal = tokens.authenticate(secret)
    assert principal is not None
    assert principal.name == "editor" and principal.scopes == {"read", "write"}
    assert principal.title_ids == {"title_a"} and not principal.all_titles
    stored = table.to_arrow().to_pylist()
    assert len(stored) == 1
    assert secret.split("_", 2)[2] not in repr(stored)
    assert record.id in secret


def test_wrong_malformed_and_unknown_tokens_do_not_authenticate(table) -> None:
    tokens = Tokens(LanceTokenTable(table))
    _, secret = tokens.create("ci", ["read"])
    assert tokens.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert tokens.authenticate("Bearer " + secret) is None
    assert tokens.authenticate("mgt_0000000000000000_nothing") is None
    assert tokens.authenticate("") is None


def test_revocation_takes_effect_within_the_refresh_interval_in_another_store(table) -> None:
    clock = Clock()
    # the writer is `mediagraph token revoke`, with a connection of its own
    other = lancedb.connect(table._conn.uri, read_consistency_interval=timedelta(0)).open_table("tokens")
    writer = Tokens(LanceTokenTable(other))
    server = Tokens(LanceTokenTable(table), refresh_seconds=1.0, clock=clock)
    record, secret = writer.create("temp", ["read"])
    assert server.authenticate(secret) is not None
    writer.revoke(record.id)
    clock.now += 1.0
    assert server.authenticate(secret) is None
    assert [r.revoked_at is not None for r in writer.list()] == [True]


def test_bad_scopes_names_and_ids_are_refused_and_nothing_is_written(table) -> None:
    tokens = Tokens(LanceTokenTable(table))
    with pytest.raises(InvalidArgument, match="scopes"):
        tokens.create("x", ["read", "root"])
    with pytest.raises(InvalidArgument):
        tokens.create("x", [])
    with pytest.raises(InvalidArgument):
        tokens.create("bad\x00name", ["read"])
    with pytest.raises(InvalidArgument):
        tokens.create("x", ["read"], title_ids=["t"], all_titles=True)
    with pytest.raises(NotFound):
        tokens.revoke("nope")
    assert table.count_rows() == 0
