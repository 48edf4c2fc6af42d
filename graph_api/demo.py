"""The demo lake: movies, a series with episodes, their media, segments, annotations and embeddings.

Built once and reused: a lake that already holds the demo titles is served as it is.
"""
from __future__ import annotations

import hashlib
import math
import re
import sys
from typing import Any

from graph_api.lake import Lake
from graph_api.settings import Settings

MARKER = "demo:the-long-tide"
TITLES = [
    ("The Long Tide", "MOVIE", 2023, None),
    ("Ember Street", "MOVIE", 2021, None),
    ("Harbor Lights", "SERIES", 2024, None),
    ("Harbor Lights: Pilot", "EPISODE", 2024, "Harbor Lights"),
    ("Harbor Lights: The Storm", "EPISODE", 2024, "Harbor Lights"),
]
LINES = [
    "The ship leaves at dawn, with or without you.",
    "Did you see the storm coming over the harbor?",
    "I need another coffee before the night shift.",
    "Keep the lantern lit until the boat is in.",
    "Nobody smokes on deck, captain's orders.",
    "The tide is turning; we sail now.",
]


def text_vector(text: str, dimension: int = 64) -> list[float]:
    """A hashed bag of words: an honest classical text embedding for the demo's dialogue."""
    vector = [0.0] * dimension
    for word in re.findall(r"[a-z']+", text.lower()):
        digest = hashlib.sha1(word.encode()).digest()
        vector[digest[0] % dimension] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _checksum(*parts: Any) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def build_demo(settings: Settings, lake: Lake | None = None, out: Any = sys.stderr) -> Lake:
    lake = lake or Lake(settings.lake, storage_options=dict(settings.storage_options))
    existing = lake.scan("titles", f"external_id = '{MARKER}'", title_column=None)
    if existing.num_rows:
        print(f"demo lake at {settings.lake} is already built: reusing it", file=out)
        return lake
    print(f"building the demo lake at {settings.lake} ...", file=out, flush=True)
    ids: dict[str, str] = {}
    for name, kind, year, parent in TITLES:
        row = lake.titles.create([{"name": name, "kind": kind, "release_year": year,
                                   "parent_id": ids.get(parent) if parent else None,
                                   "external_id": "demo:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")}])[0]
        ids[name] = row["id"]
    for n, (name, kind, _year, _parent) in enumerate(TITLES):
        if kind == "SERIES":
            continue
        _title_media(lake, ids[name], name, seconds=60.0 + 30 * n)
        print(f"  {name}: media, shots, dialogue, annotations, embeddings", file=out, flush=True)
    print("demo lake ready", file=out, flush=True)
    return lake


def _title_media(lake: Lake, title_id: str, name: str, seconds: float) -> None:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    base = f"file:///demo/{slug}"
    video = {"codec": "prores", "profile": "HQ", "pix_fmt": "yuv422p10le", "hdr": "none"}
    assets = lake.assets.register([
        {"title_id": title_id, "media_type": "VIDEO", "role": "source", "uri": f"{base}/source.mov",
         "checksum": _checksum(slug, "source"), "size_bytes": int(seconds * 18_000_000), "duration_seconds": seconds,
         "width": 1920, "height": 1080, "frame_rate": 24.0, "external_id": f"demo:{slug}:source",
         "technical": {"container": "mov", "streams": [{"type": "video", **video, "width": 1920, "height": 1080},
                                                      {"type": "audio", "codec": "pcm_s24le", "channels": 2,
                                                       "sample_rate": 48000}]}},
        {"title_id": title_id, "media_type": "VIDEO", "role": "proxy", "uri": f"{base}/proxy.mp4",
         "checksum": _checksum(slug, "proxy"), "size_bytes": int(seconds * 150_000), "duration_seconds": seconds,
         "width": 640, "height": 360, "frame_rate": 24.0, "external_id": f"demo:{slug}:proxy",
         "technical": {"container": "mp4", "streams": [{"type": "video", "codec": "h264", "width": 640,
                                                       "height": 360}, {"type": "audio", "codec": "aac"}]}},
        {"title_id": title_id, "media_type": "AUDIO", "role": "audio-stem", "uri": f"{base}/dialogue.wav",
         "checksum": _checksum(slug, "stem"), "size_bytes": int(seconds * 288_000), "duration_seconds": seconds,
         "external_id": f"demo:{slug}:dialogue-stem",
         "technical": {"container": "wav", "streams": [{"type": "audio", "codec": "pcm_s24le", "channels": 2,
                                                       "sample_rate": 48000}]}},
        {"title_id": title_id, "media_type": "TEXT", "role": "subtitle", "uri": f"{base}/en.srt",
         "checksum": _checksum(slug, "srt"), "size_bytes": 2048, "external_id": f"demo:{slug}:subtitle-en",
         "technical": {"format": "srt", "language": "en"}},
    ] + [
        {"title_id": title_id, "media_type": "IMAGE", "role": "frame", "uri": f"{base}/frames/{i:04d}.jpg",
         "checksum": _checksum(slug, "frame", i), "size_bytes": 24_000, "width": 640, "height": 360,
         "external_id": f"demo:{slug}:frame-{i}"}
        for i in range(4)
    ])
    source, proxy, stem = assets[0], assets[1], assets[2]
    shot_len = seconds / 6
    segments = lake.segments.add(
        [{"asset_id": source["id"], "kind": "SHOT", "start": i * shot_len, "end": (i + 1) * shot_len}
         for i in range(6)]
        + [{"asset_id": source["id"], "kind": "DIALOGUE", "start": 2.0 + i * 8, "end": 5.5 + i * 8, "text": line}
           for i, line in enumerate(LINES)]
        + [{"asset_id": proxy["id"], "kind": "FRAME", "start": i * shot_len, "end": i * shot_len}
           for i in range(4)]
    )
    shots = [s for s in segments if s["kind"] == "SHOT"]
    dialogue = [s for s in segments if s["kind"] == "DIALOGUE"]
    lake.annotations.add([
        {"asset_id": source["id"], "segment_id": shots[1]["id"], "label": "smoking", "category": "compliance",
         "confidence": 0.87, "value": {"flag": True}},
        {"asset_id": source["id"], "segment_id": shots[4]["id"], "label": "gore", "category": "compliance",
         "confidence": 0.64, "value": {"flag": True, "severity": "mild"}},
        {"asset_id": stem["id"], "label": "loudness-lufs", "category": "audio-quality", "value": -23.4},
        {"asset_id": stem["id"], "label": "true-peak-dbtp", "category": "audio-quality", "value": -1.2},
    ])
    lake.embeddings.upsert("dialogue-hash-64", "classical/hashed-bag-of-words-64",
                           [{"subject_id": s["id"], "vector": text_vector(s["text"])} for s in dialogue])
