"""The demo: a small real corpus (two films, a series with two episodes), ingested and derived
with the real pipeline, so every proxy, frame, shot, loudness figure and embedding in it was
computed from real media and carries its lineage. Its compliance annotations come from a label
file written next to the film (``REVIEWS``: a fictional reviewer's smoking and gore labels of the
generated clip, which shows no such thing), imported by ingest as an ``annotations-import`` run.
Then the creative workflows (``graph_api.demo_workflows``): an approved proxy, notes with
drawings, a cut imported from OTIO, a playlist, and a re-delivery that makes the approval stale.

Media lives in a ``demo-media`` directory next to the lake (``corpus/`` as generated,
``derived/`` for the pipeline's outputs), or in the user's cache directory when that would be
inside a git work tree. Building is idempotent: a second run finds the corpus, ingests nothing
new, derives nothing fresh, and says it reused the lake. An interrupted build resumes.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from graph_api.lake import Lake
from graph_api.media.store import demo_media_dir
from graph_api.settings import Settings

KINDS = {"FILM": "MOVIE", "SERIES": "SERIES", "EPISODE": "EPISODE"}
MARKER = "demo:film-harbour-lights"
# a reviewer's compliance labels per corpus title, written as <key>.labels.json next to its clip;
# the times fall on the clip's shots (cuts at 1.5, 3.25 and 5.5 s)
REVIEWS: dict[str, dict[str, Any]] = {
    "film-harbour-lights": {
        "category": "compliance", "reviewer": "demo compliance review (fictional)",
        "labels": [{"label": "smoking", "start": 1.5, "end": 3.25, "confidence": 0.92},
                   {"label": "gore", "start": 5.5, "end": 6.75, "confidence": 0.61}],
    },
}


def build_demo(settings: Settings, lake: Lake | None = None, out: TextIO = sys.stderr) -> Lake:
    from graph_api import demo_workflows as wf
    from graph_api.media.corpus import generate_corpus
    from graph_api.pipeline.context import Context
    from graph_api.pipeline.derive import DeriveReport, derive
    from graph_api.pipeline.ingest import ingest
    from graph_api.pipeline.progress import Bars

    started = time.monotonic()
    lake = lake or Lake.from_settings(settings)
    reuse = bool(lake.titles.by_external_id([MARKER]))
    root = demo_media_dir(settings.lake)
    bars = Bars(out)
    say = bars.note
    if lake.created:
        say(f"created lake at {settings.lake}")
    say(f"{'checking' if reuse else 'building'} the demo lake at {settings.lake} (media in {root}) ...")
    corpus = generate_corpus(root / "corpus", progress=lambda f: bars("generating the corpus", f))
    ctx = Context.open(lake, settings, root / "derived", reporter=bars)
    titles = _titles(lake, corpus)
    added = 0
    for entry in corpus.titles:
        if entry.files:
            report = ingest(ctx, [*entry.files, *_label_files(entry)], titles[entry.key])
            added += len(report.added) + len(report.updated) + len(report.dialogue) + len(report.labels)
            if not report.ok:
                say(f"ingest of {entry.name}: {report.summary()}")
    redelivered = wf.redelivered_source(ctx, corpus)
    total = DeriveReport()
    for entry in corpus.titles:
        if entry.parent is None:  # a series derives its episodes too
            for target in wf.derive_targets(ctx, titles[entry.key], redelivered):
                derived = derive(ctx, target)
                total.done += derived.done
                total.fresh += derived.fresh
                total.failed += derived.failed
                total.skipped += derived.skipped
    # the creative workflows on what was derived, then the re-delivery that makes the approval stale
    made = wf.demo_workflows(ctx, titles, corpus)
    if redelivered is None:
        made += wf.redeliver(ctx, titles, corpus)
    made += wf.after_redelivery(ctx, corpus)
    bars.close()
    if reuse and not added and not made and not total.done and not total.failed:
        say(f"demo lake at {settings.lake} is already built: reusing it ({total.summary()})")
    else:
        say(f"derive: {total.summary()}")
        say(f"demo lake ready in {time.monotonic() - started:.0f} s: {len(corpus.titles)} titles, "
            f"{len(corpus.files)} files ingested from {corpus.root}, derived media in {ctx.media_dir}")
    return lake


def _label_files(entry: Any) -> list[Path]:
    """The title's review as a label file beside its clip, (re)written only when its content differs,
    so that an unchanged demo ingests nothing."""
    review = REVIEWS.get(entry.key)
    clip = next((f for f in entry.files if f.suffix == ".mp4"), None)
    if review is None or clip is None:
        return []
    path = clip.with_name(f"{entry.key}.labels.json")
    text = json.dumps({"media": clip.name, **review}, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return [path]


def _titles(lake: Lake, corpus: Any) -> dict[str, str]:
    """The corpus's titles, created once (their external ids are the corpus keys): key -> title id."""
    ids: dict[str, str] = {}
    for entry in corpus.titles:  # a series comes before its episodes
        row = {"name": entry.name, "kind": KINDS[entry.kind], "release_year": entry.year,
               "external_id": f"demo:{entry.key}"}
        if entry.parent:
            row["parent_id"] = ids[entry.parent]
        existing = lake.titles.by_external_id([row["external_id"]]).get(row["external_id"])
        ids[entry.key] = existing["id"] if existing else lake.titles.create([row])[0]["id"]
    return ids
