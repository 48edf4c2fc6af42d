"""One decode of a subject shared by the decode-based steps (proxy, shots, frames, audio).

``derive`` first decides which of those steps a subject needs, then gives their runs one
``SharedPass``. Each step is still its own lineage run with its own parameters: the first
of them to run decodes the source once for all of them (so its run carries the decode
time), and each takes its own result or its own error from the pass. Files the pass makes
wait in a scratch directory until their step's run moves them into its run directory;
``close`` removes whatever no run took.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graph_api.media.audio import AudioAnalyser
from graph_api.media.frames import FrameGrabber
from graph_api.media.onepass import Consumer, run_pass
from graph_api.media.shots import ShotDetector
from graph_api.media.transcode import PRESET, ProxyWriter
from graph_api.pipeline.context import Context, local_path

# the steps a pass can serve, in the order their consumers see each frame
PASS_STEPS = ("proxy", "shots", "frames", "audio")


class SharedPass:
    def __init__(self, ctx: Context, subject: dict[str, Any], keys: Sequence[str],
                 shot_starts: Callable[[], list[float]]) -> None:
        self.ctx, self.subject = ctx, subject
        self.keys = [k for k in PASS_STEPS if k in keys]
        self.shot_starts = shot_starts  # the latest shots run's starts, when shots is not in the pass
        self.scratch = ctx.media_dir / subject["id"] / f".pass-{uuid.uuid4().hex[:12]}"
        self.results: dict[str, Any] = {}

    def result(self, key: str, progress: Callable[[float], None]) -> Any:
        """The result of ``key``'s part of the pass (decoding now if it has not run), or its error raised."""
        if key not in self.results:
            todo = [k for k in PASS_STEPS if (k in self.keys or k == key) and k not in self.results]
            self.results.update(self._run(todo, progress))
        result = self.results[key]
        if isinstance(result, BaseException):
            raise result
        return result

    def take(self, path: Path, run_dir: Path) -> Path:
        """Move a file the pass made into a run's directory (same filesystem: a rename)."""
        run_dir.mkdir(parents=True, exist_ok=True)
        target = run_dir / path.name
        os.replace(path, target)
        return target

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _run(self, keys: list[str], progress: Callable[[float], None]) -> dict[str, Any]:
        o = self.ctx.options
        self.scratch.mkdir(parents=True, exist_ok=True)
        consumers: dict[str, Consumer] = {}
        detector = ShotDetector(o.min_shot_seconds)
        if "proxy" in keys:
            consumers["proxy"] = ProxyWriter(self.scratch / "proxy.mp4", o.proxy_height, o.proxy_crf, PRESET)
        if "shots" in keys:
            consumers["shots"] = detector
        if "frames" in keys:
            with_shots = "shots" in keys
            consumers["frames"] = FrameGrabber(self.scratch / "frames", o.frame_interval,
                                               at=[0.0] if with_shots else self.shot_starts(),
                                               height=o.frame_height, shots=detector if with_shots else None)
        if "audio" in keys:
            consumers["audio"] = AudioAnalyser(o.silence_dbfs, o.min_silence_seconds)
        return run_pass(local_path(self.subject), consumers, progress)
