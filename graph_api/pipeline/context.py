"""What pipeline work needs at hand: the lake, its lineage, where derived media goes, step
options, the embedders (loaded once, on first use) and the progress reporter."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_api.lake import Lake
from graph_api.lake.lineage import LakeLineage, open_lineage
from graph_api.media.store import is_remote, open_media
from graph_api.pipeline.progress import Reporter, Silent

# OpenLineage job namespace of every run the pipeline records
NAMESPACE = "mediagraph"


@dataclass(frozen=True)
class Options:
    """Step parameters; each run records the ones it used, so changing one makes the step redo."""

    proxy_height: int = 360
    proxy_crf: int = 23
    frame_interval: float = 2.0  # seconds between thumbnails, plus one at the start of every shot
    frame_height: int = 180
    min_shot_seconds: float = 0.5
    silence_dbfs: float = -60.0
    min_silence_seconds: float = 0.5


@dataclass
class Context:
    lake: Lake
    lineage: LakeLineage
    media_dir: Path
    options: Options = field(default_factory=Options)
    reporter: Reporter = field(default_factory=Silent)
    _text_embedder: Any = None
    _image_descriptor: Any = None
    # an object-store media dir (s3://...): steps work in the local ``media_dir`` (a scratch dir) and a
    # run's files are uploaded here, with the lake's storage options, before its assets are registered
    media_uri: str = ""
    storage_options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, lake: Lake, settings: Any, media_dir: str | Path, **kw: Any) -> Context:
        lineage = open_lineage(lake, settings)
        if is_remote(media_dir):
            scratch = Path(tempfile.mkdtemp(prefix="mediagraph-media-"))
            return cls(lineage.lake, lineage, scratch, media_uri=str(media_dir).rstrip("/"),
                       storage_options=dict(lake.connection.storage_options), **kw)
        return cls(lineage.lake, lineage, Path(media_dir).expanduser().resolve(), **kw)

    def readable(self, asset: dict[str, Any], scratch: Path) -> Path:
        """A local file with ``asset``'s bytes: its own path, or a copy (in ``scratch``) of a file that a
        run put in the object-store media dir; media libraries read local files."""
        if not is_remote(asset["uri"]):
            return local_path(asset)
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / asset["uri"].rsplit("/", 1)[-1]
        with open_media(asset["uri"], self.storage_options) as source, target.open("wb") as copy:
            copy.write(source.read())
        return target

    @property
    def text_embedder(self) -> Any:
        if self._text_embedder is None:
            from graph_api.media.embedders import TextEmbedder

            self._text_embedder = TextEmbedder()
        return self._text_embedder

    @property
    def image_descriptor(self) -> Any:
        if self._image_descriptor is None:
            from graph_api.media.embedders import ImageDescriptor

            self._image_descriptor = ImageDescriptor()
        return self._image_descriptor


def default_media_dir(lake_uri: str) -> Path:
    """``<lake>-media`` next to a local lake: ./lake -> ./lake-media. Object-store lakes need --media-dir."""
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        from graph_api.errors import InvalidArgument

        raise InvalidArgument(f"lake {lake_uri} is not a local directory: pass --media-dir (or set "
                              "MEDIAGRAPH_MEDIA_DIR) for derived media files")
    path = Path(lake_uri.removeprefix("file://")).expanduser().resolve()
    return path.with_name(path.name + "-media")


def local_path(asset: dict[str, Any]) -> Path:
    """Where an asset's file is on this machine (the pipeline works on local files)."""
    return Path(asset["uri"].removeprefix("file://"))
