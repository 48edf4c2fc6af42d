"""The commands end to end on the demo corpus: ingest an episode, derive it with the real text
model, derive again (nothing to do), then explore it over GraphQL: the proxy's provenance, the
episode's shots, and a dialogue search by meaning.

The commands run in-process (``cli.main``), so torch loads once; tests/pipeline/test_bad_input.py
and tests/test_cli.py run the real executable."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from graph_api.media.corpus import Corpus, generate_corpus
from graph_api.media.embedders import text_embeddings_available


@pytest.fixture
def mediagraph(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    from graph_api.cli import main

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return generate_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.skipif(not text_embeddings_available(), reason="needs the ml extra")
def test_ingest_derive_and_explore_an_episode(corpus: Corpus, tmp_path: Path, mediagraph) -> None:  # type: ignore[no-untyped-def]
    episode = corpus.title("episode-northern-crossing-s01e02")
    lake, media = str(tmp_path / "lake"), tmp_path / "derived"
    ingested = mediagraph("ingest", str(episode.files[0].parent), "--new-title", episode.name, "--kind", "EPISODE",
                          "--lake", lake)
    assert ingested.returncode == 0, ingested.stderr
    title = ingested.stdout.strip()
    assert "2 added" in ingested.stderr and "6 dialogue line(s)" in ingested.stderr

    first = mediagraph("derive", title, "--lake", lake, "--media-dir", str(media), "--proxy-height", "90")
    assert first.returncode == 0, first.stderr
    assert "6 step(s) run" in first.stderr and "Traceback" not in first.stderr
    again = mediagraph("derive", title, "--lake", lake, "--media-dir", str(media), "--proxy-height", "90")
    assert again.returncode == 0 and "nothing to do: all 6 step(s) are up to date" in again.stderr
    assert mediagraph("derive", "title_nope", "--lake", lake).returncode == 1

    from starlette.testclient import TestClient

    from graph_api.http.app import create_app
    from graph_api.settings import Settings
    from tests.conftest import GraphQLClient

    with TestClient(create_app(Settings.load(env={}, lake=lake, auth="off"))) as http:
        gql = GraphQLClient(http)
        data = gql.data("""query($id: ID!) { title(id: $id) {
            proxies: assets(role: "proxy") { edges { node { id height } } }
            sources: assets(role: "source") { edges { node { segments(kind: SHOT) { edges { node { start } } } } } }
        } }""", {"id": title})["title"]
        proxy = data["proxies"]["edges"][0]["node"]
        assert proxy["height"] == 90
        shots = [e["node"]["start"] for e in data["sources"]["edges"][0]["node"]["segments"]["edges"]]
        assert shots == pytest.approx([0.0, *episode.truth.cuts], abs=0.05)
        provenance = gql.data("query($id: ID!) { provenance(id: $id) { sources { uri } steps { job { name } } } }",
                              {"id": proxy["id"]})["provenance"]
        assert provenance["sources"] == [{"uri": str(episode.files[0])}]
        assert [s["job"]["name"] for s in provenance["steps"]] == ["proxy"]
        hits = gql.data('{ search(text: "waves crashing on the boat", space: "dialogue-minilm", first: 2) '
                        "{ segment { text } } }")["search"]
        assert "The waves are breaking over the bow." in [h["segment"]["text"] for h in hits]


def test_ingest_into_a_new_title_where_every_file_fails_writes_nothing(tmp_path: Path, mediagraph) -> None:  # type: ignore[no-untyped-def]
    from graph_api.lake import Lake

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.mp4").write_text("These are my notes about the edit.\n" * 20)
    lake = str(tmp_path / "lake")

    result = mediagraph("ingest", str(bad), "--new-title", "Nothing Here", "--lake", lake)

    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert "NOT_MEDIA" in result.stderr and "not created" in result.stderr
    reread = Lake(lake, background_compaction=False)
    assert reread.titles.list().num_rows == 0 and reread.assets.list().num_rows == 0
