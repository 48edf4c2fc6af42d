"""The demo corpus: two films and a two-episode series, generated with PyAV, with ground truth.

Every clip is small (320x180, 24 fps, 8 s) and made of coloured, moving-pattern shots
joined by hard cuts, over a stereo tone with one silent and one clipped stretch. Each
has an English subtitle file whose lines mention ships, storms and coffee, so a
dialogue search has something to find; films and the series also get a poster image.

Generation is deterministic and takes a few seconds. ``corpus.json`` is written last,
so a directory holding it is complete and is reused as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .images import write_image
from .synth import PATTERNS, ClipSpec, Shot, Tone, palette, write_clip

CORPUS_VERSION = 1
MANIFEST = "corpus.json"
TitleKind = Literal["FILM", "SERIES", "EPISODE"]
Progress = Callable[[float], None]


@dataclass(frozen=True)
class GroundTruth:
    duration: float
    width: int
    height: int
    fps: float
    cuts: list[float]
    silence: list[tuple[float, float]]
    clipping: list[tuple[float, float]]
    tone_hz: float
    tone_dbfs: float


@dataclass(frozen=True)
class CorpusTitle:
    key: str  # stable external id, e.g. "film-harbour-lights"
    name: str
    kind: TitleKind
    year: int
    parent: str | None = None  # key of the series, for episodes
    season: int | None = None
    episode: int | None = None
    synopsis: str = ""
    files: list[Path] = field(default_factory=list)
    truth: GroundTruth | None = None


@dataclass(frozen=True)
class Corpus:
    root: Path
    titles: list[CorpusTitle]

    def title(self, key: str) -> CorpusTitle:
        return next(t for t in self.titles if t.key == key)

    @property
    def files(self) -> list[Path]:
        return [f for t in self.titles for f in t.files]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CORPUS_VERSION,
            "titles": [
                {**asdict(t), "files": [str(f.relative_to(self.root)) for f in t.files]} for t in self.titles
            ],
        }

    @classmethod
    def from_json(cls, root: Path, data: dict[str, Any]) -> Corpus:
        titles = []
        for t in data["titles"]:
            truth = t.get("truth")
            if truth is not None:
                truth = GroundTruth(
                    **{**truth, "silence": [tuple(r) for r in truth["silence"]],
                       "clipping": [tuple(r) for r in truth["clipping"]]}
                )
            titles.append(CorpusTitle(**{**t, "files": [root / f for f in t["files"]], "truth": truth}))
        return cls(root, titles)


def generate_corpus(out_dir: str | Path, progress: Progress | None = None) -> Corpus:
    """Generate the corpus into ``out_dir``, or load it if a complete one is already there."""
    root = Path(out_dir).resolve()
    existing = load_corpus(root)
    if existing is not None:
        if progress is not None:
            progress(1.0)
        return existing
    root.mkdir(parents=True, exist_ok=True)
    titles: list[CorpusTitle] = []
    plans = _PLANS
    clips = [p for p in plans if p["kind"] != "SERIES"]
    done = 0
    for plan in plans:
        folder = root / plan["key"]
        folder.mkdir(exist_ok=True)
        files: list[Path] = []
        truth = None
        if plan["kind"] != "SERIES":
            seed = clips.index(plan)

            def step(fraction: float, seed: int = seed) -> None:
                if progress is not None:
                    progress((seed + fraction) / len(clips))

            spec = _clip_spec(seed)
            clip_truth = write_clip(folder / f"{plan['key']}.mp4", spec, step)
            truth = GroundTruth(
                duration=clip_truth.duration, width=spec.width, height=spec.height, fps=float(spec.fps),
                cuts=clip_truth.cuts, silence=clip_truth.silence, clipping=clip_truth.clipping,
                tone_hz=spec.tone.frequency if spec.tone else 0.0,
                tone_dbfs=spec.tone.level_dbfs if spec.tone else 0.0,
            )
            files.append(folder / f"{plan['key']}.mp4")
            files.append(_write_subtitles(folder, plan))
            done += 1
        if plan["kind"] != "EPISODE":
            files.append(write_image(folder / "poster.png", _poster(len(titles))))
        titles.append(
            CorpusTitle(
                key=plan["key"], name=plan["name"], kind=plan["kind"], year=plan["year"],
                parent=plan.get("parent"), season=plan.get("season"), episode=plan.get("episode"),
                synopsis=plan["synopsis"], files=files, truth=truth,
            )
        )
    corpus = Corpus(root, titles)
    tmp = root / f".{MANIFEST}.part"
    tmp.write_text(json.dumps(corpus.to_json(), indent=2))
    tmp.replace(root / MANIFEST)
    if progress is not None:
        progress(1.0)
    return corpus


def load_corpus(root: str | Path) -> Corpus | None:
    """The corpus in ``root`` if it is complete and of the current version, else None."""
    root = Path(root).resolve()
    try:
        data = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != CORPUS_VERSION:
        return None
    corpus = Corpus.from_json(root, data)
    return corpus if all(f.is_file() for f in corpus.files) else None


CLIP_SECONDS = 8.0


def _clip_spec(seed: int) -> ClipSpec:
    # Four shots of unequal length, so cut positions differ from clip to clip.
    cut_sets = [(1.5, 3.25, 5.5), (2.0, 4.0, 6.25), (1.25, 3.5, 5.75), (2.5, 4.5, 6.0)]
    cuts = cut_sets[seed % len(cut_sets)]
    shots = [
        Shot(PATTERNS[(seed + i) % len(PATTERNS)], *palette(seed * 4 + i), speed=1.5 + i)
        for i in range(len(cuts) + 1)
    ]
    silence_start = 2.5 + 0.25 * seed
    tone = Tone(
        frequency=(440.0, 523.25, 659.25, 997.0)[seed % 4],
        level_dbfs=-20.0,
        silence=[(silence_start, silence_start + 1.0)],
        clipped=[(6.5, 7.0)],
    )
    return ClipSpec(width=320, height=180, fps=24, duration=CLIP_SECONDS, shots=shots, cuts=cuts, tone=tone,
                    language="eng")


def _poster(seed: int) -> np.ndarray:
    h, w = 270, 180
    y, x = np.mgrid[0:h, 0:w]
    u, v = palette(seed * 7 + 3)
    base = np.array([u, 255 - v, v], dtype=np.float64)
    glow = np.exp(-(((x - w / 2) / 60) ** 2 + ((y - h / 3) / 50) ** 2))
    img = base[None, None, :] * (0.35 + 0.65 * glow[..., None])
    img[(y > 0.7 * h) & ((x // 12 + y // 12) % 2 == 0)] *= 0.6
    return np.clip(img, 0, 255).astype(np.uint8)


def _write_subtitles(folder: Path, plan: dict[str, Any]) -> Path:
    lines: list[str] = plan["dialogue"]
    # Evenly spread cues of about a second each; the timing is plausible, not lip-synced.
    slot = CLIP_SECONDS / len(lines)
    cues = [(i * slot + 0.1, i * slot + min(slot - 0.1, 1.2), text) for i, text in enumerate(lines)]
    if plan.get("subtitle_format") == "vtt":
        path = folder / f"{plan['key']}.en.vtt"
        body = "WEBVTT\n\n" + "\n".join(
            f"{i}\n{_ts(a, '.')} --> {_ts(b, '.')}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1)
        )
    else:
        path = folder / f"{plan['key']}.en.srt"
        body = "\n".join(f"{i}\n{_ts(a, ',')} --> {_ts(b, ',')}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1))
    path.write_text(body, encoding="utf-8")
    return path


def _ts(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


_PLANS: list[dict[str, Any]] = [
    {
        "key": "film-harbour-lights", "name": "Harbour Lights", "kind": "FILM", "year": 2019,
        "synopsis": "A lighthouse keeper waits for a ship that left before the storm.",
        "dialogue": [
            "The ship should have been back by now.",
            "Keep the lamp burning, whatever happens.",
            "I can see her sails past the breakwater!",
            "The harbour master says the storm is turning north.",
            "Pour me a coffee, it will be a long night.",
            "Ring the bell so the crew knows we are here.",
        ],
    },
    {
        "key": "film-last-espresso", "name": "The Last Espresso", "kind": "FILM", "year": 2023,
        "synopsis": "A barista has one night to save her café.",
        "dialogue": [
            "This coffee is far too hot to drink.",
            "We close at midnight, and the rent is due tomorrow.",
            "Grind the beans finer, the espresso runs too fast.",
            "Is that rain, or is a storm coming in?",
            "One more cup, then I'll tell you everything.",
            "The milk is burnt again. Start over.",
        ],
    },
    {
        "key": "series-northern-crossing", "name": "Northern Crossing", "kind": "SERIES", "year": 2022,
        "synopsis": "A ferry crew on the northern route, season one.",
    },
    {
        "key": "episode-northern-crossing-s01e01", "name": "Departure", "kind": "EPISODE", "year": 2022,
        "parent": "series-northern-crossing", "season": 1, "episode": 1,
        "synopsis": "The ferry leaves port with an unexpected passenger.",
        "dialogue": [
            "All passengers aboard, we sail in ten minutes.",
            "Who let a dog onto the ferry?",
            "The engine sounds rough this morning.",
            "Captain, the boat is riding low at the stern.",
            "Bring the captain a coffee, black, no sugar.",
            "Cast off the lines, we are leaving port.",
        ],
    },
    {
        "key": "episode-northern-crossing-s01e02", "name": "The Storm", "kind": "EPISODE", "year": 2022,
        "parent": "series-northern-crossing", "season": 1, "episode": 2,
        "synopsis": "Halfway across, the weather turns.", "subtitle_format": "vtt",
        "dialogue": [
            "The barometer is dropping fast.",
            "A storm like this could sink a bigger ship than ours.",
            "Get everyone below deck, now!",
            "The waves are breaking over the bow.",
            "Hold the wheel steady, we ride it out.",
            "By morning the sea was calm again.",
        ],
    },
]
