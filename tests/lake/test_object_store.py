"""What is particular to a lake on object storage: there is no directory to look for, and the
object store checks who is asking."""
from __future__ import annotations

import pytest

from graph_api.errors import LakeNotFound, Unavailable
from graph_api.lake import Lake
from graph_api.settings import Settings
from tests.conftest import make_assets, make_title
from tests.s3 import SeaweedS3

pytestmark = pytest.mark.s3


def test_opening_a_missing_s3_lake_for_reading_raises_not_found_and_writes_nothing(
        s3_server: SeaweedS3, s3_lake_uri: str) -> None:
    with pytest.raises(LakeNotFound):
        Lake.from_settings(Settings.load(lake=s3_lake_uri), create=False)
    assert s3_server.keys(s3_lake_uri) == []


def test_an_s3_lake_opened_with_explicit_storage_options_reopens_read_only(
        s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = s3_server.new_uri()
    for name in s3_server.env:
        monkeypatch.delenv(name, raising=False)
    lake = Lake(uri, storage_options=s3_server.storage_options, background_compaction=False)
    assert lake.created
    title = make_title(lake)
    make_assets(lake, title["id"], 2)
    again = Lake(uri, storage_options=s3_server.storage_options, create=False)
    assert not again.created and again.assets.list(title_ids=[title["id"]]).num_rows == 2
    assert any(key.endswith(".lance") for key in s3_server.keys(uri))


def test_a_wrong_secret_is_refused_as_unavailable(s3_server: SeaweedS3) -> None:
    options = {**s3_server.storage_options, "aws_secret_access_key": "not-the-secret"}
    with pytest.raises(Unavailable):
        Lake(s3_server.new_uri(), storage_options=options, background_compaction=False)
