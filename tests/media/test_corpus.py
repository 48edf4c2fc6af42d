import json
import time

from graph_api.media.corpus import MANIFEST, Corpus, generate_corpus, load_corpus
from graph_api.media.probe import MediaType, probe
from graph_api.media.subtitles import read_subtitles


def test_corpus_has_films_a_series_with_episodes_and_files(corpus: Corpus) -> None:
    kinds = [t.kind for t in corpus.titles]
    assert kinds.count("FILM") == 2 and kinds.count("SERIES") == 1 and kinds.count("EPISODE") == 2
    series = next(t for t in corpus.titles if t.kind == "SERIES")
    assert all(t.parent == series.key for t in corpus.titles if t.kind == "EPISODE")
    media = {MediaType(probe(f).media_type) for f in corpus.files}
    assert media == {MediaType.VIDEO, MediaType.TEXT, MediaType.IMAGE}
    assert {f.suffix for f in corpus.files} >= {".mp4", ".srt", ".vtt", ".png"}


def test_clips_match_their_ground_truth(corpus: Corpus) -> None:
    for title in corpus.titles:
        if title.truth is None:
            continue
        p = probe(title.files[0])
        assert (p.width, p.height, p.frame_rate) == (title.truth.width, title.truth.height, title.truth.fps)
        assert abs(p.duration_seconds - title.truth.duration) < 0.05
        assert len(title.truth.cuts) == 3 and title.truth.silence and title.truth.clipping


def test_dialogue_mentions_what_the_demo_searches_for(corpus: Corpus) -> None:
    text = " ".join(c.text.lower() for f in corpus.files if f.suffix in (".srt", ".vtt") for c in read_subtitles(f))
    for word in ("ship", "storm", "coffee", "boat"):
        assert word in text


def test_existing_corpus_is_reused_and_survives_a_round_trip(corpus: Corpus) -> None:
    started = time.perf_counter()
    again = generate_corpus(corpus.root)
    assert time.perf_counter() - started < 1.0
    assert again == corpus == load_corpus(corpus.root)
    json.dumps(corpus.to_json())


def test_incomplete_directory_is_not_a_corpus(tmp_path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"version": 1, "titles": [{"key": "x", "name": "X", "kind": "FILM",
                                                                          "year": 2000, "files": ["x/x.mp4"]}]}))
    assert load_corpus(tmp_path) is None
