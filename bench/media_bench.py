"""Media pipeline benchmark: one generated 1080p clip through every media step.

    python bench/media_bench.py [--minutes 10] [--height 1080] [--lines 2000] [--keep DIR]
                                [--no-separate] [--no-embeddings] [--profile]

Generates a clip with PyAV (shots with hard cuts, a tone with silent and clipped
stretches), then times probe + checksum, and proxy, shot detection, frames (every 10 s
plus one per shot) and audio quality: once as one shared decode (``onepass``, what derive
runs) and, unless --no-separate, once each reading the file alone (as before the shared
decode). Every figure is printed beside its floor measured in the same run (a bare read
of the file for the checksum, a bare PyAV decode of the same streams for decode-based
steps) and the ratio. Prints wall and CPU seconds and the real-time factor (media seconds
per wall second), and the "unshared" bound: on a machine shared with other jobs the wall clock
measures the neighbours too. --profile adds the top lines of a cProfile of the shared pass (all
its Python threads: the decoding one, the proxy encoder's, the audio analysis').
--no-embeddings skips the dialogue embeddings row.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
from tqdm import tqdm  # noqa: E402

from graph_api.media.audio import AudioAnalyser, audio_quality  # noqa: E402
from graph_api.media.embedders import TextEmbedder, text_embeddings_available  # noqa: E402
from graph_api.media.frames import FrameGrabber, extract_frames  # noqa: E402
from graph_api.media.onepass import main_video, run_pass  # noqa: E402
from graph_api.media.probe import probe  # noqa: E402
from graph_api.media.shots import ShotDetector, detect_shots  # noqa: E402
from graph_api.media.synth import (  # noqa: E402
    PATTERNS,
    ClipSpec,
    Shot,
    Tone,
    clip_truth,
    palette,
    write_clip,
)
from graph_api.media.transcode import ProxyWriter, make_proxy  # noqa: E402


@contextmanager
def bar(label: str) -> Iterator[Callable[[float], None]]:
    with tqdm(total=1000, desc=f"{label:<14}", unit="‰", leave=False, file=sys.stderr, mininterval=0.5) as t:
        def update(fraction: float) -> None:
            t.update(round(fraction * 1000) - t.n)

        yield update


def clip_spec(minutes: float, height: int) -> ClipSpec:
    rng = random.Random(7)
    duration = minutes * 60
    cuts: list[float] = []
    t = 0.0
    while True:
        t += rng.uniform(2.0, 9.0)
        if t >= duration - 1:
            break
        cuts.append(round(t * 24) / 24)
    shots = [Shot(PATTERNS[i % 4], *palette(i), speed=1.0 + i % 5) for i in range(len(cuts) + 1)]
    silence = [(s, s + 1.0) for s in range(30, int(duration) - 2, 60)]
    clipped = [(s + 0.5, s + 1.0) for s in range(45, int(duration) - 2, 60)]
    width = round(height * 16 / 9 / 2) * 2
    return ClipSpec(
        width=width, height=height, fps=24, duration=duration, shots=shots, cuts=cuts,
        tone=Tone(silence=silence, clipped=clipped),
        video_options={"preset": "ultrafast", "crf": "23"},
    )


def dialogue(n: int) -> list[str]:
    rng = random.Random(3)
    subjects = ["The ship", "Our captain", "The coffee", "This storm", "The harbour", "My brother", "The ferry"]
    verbs = ["is late again", "will not wait", "smells of salt", "turns north tonight", "never sleeps", "sails at dawn"]
    tails = ["", " — I swear it.", ", you know that.", "? Are you sure?", " and nobody cares.", "!"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)}{rng.choice(tails)}" for _ in range(n)]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timer:
    """Wall and CPU seconds (all threads) of a block: on a shared machine the wall clock also
    measures the neighbours, the CPU figure does not. ``main`` is the CPU of the calling thread
    alone, the part no codec thread takes over: with the machine to itself a step cannot take
    less wall time than max(main, cpu / cores)."""

    def __enter__(self) -> Self:
        self.wall0, self.cpu0, self.main0 = time.perf_counter(), cpu_seconds(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, cpu_seconds() - self.cpu0
        self.main = time.thread_time() - self.main0

    def bound(self) -> float:
        """The least wall time this work could take on this machine unshared."""
        return max(self.main, self.cpu / (os.cpu_count() or 1))


def bare_read(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(1 << 20):
            pass


def bare_decode(path: Path, video: bool, audio: bool) -> None:
    """The floor of a decode-based step: demux and decode the same streams, threaded the same way, nothing else."""
    with av.open(str(path)) as container:
        streams: list[av.stream.Stream] = []
        v = main_video(container) if video else None
        if v is not None:
            v.thread_type = "AUTO"
            streams.append(v)
        if audio and container.streams.audio:
            streams.append(container.streams.audio[0])
        for packet in container.demux(streams):
            packet.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-separate", action="store_true", help="skip timing each step reading the file alone")
    parser.add_argument("--no-embeddings", action="store_true", help="skip the dialogue embeddings row")
    parser.add_argument("--profile", action="store_true", help="print the top lines of a cProfile of the shared pass")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="media-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"bench_{args.height}p_{args.minutes:g}min.mp4"
    spec = clip_spec(args.minutes, args.height)
    results: list[dict[str, Any]] = []

    def record(step: str, t: Timer, floor: Timer | None, note: str = "") -> None:
        row: dict[str, Any] = {"step": step, "seconds": round(t.wall, 2), "cpu_seconds": round(t.cpu, 2),
                               "main_thread_cpu_seconds": round(t.main, 2),
                               "realtime_factor": round(spec.duration / t.wall, 1),
                               "unshared_realtime_bound": round(spec.duration / max(t.bound(), 1e-9), 1), "note": note}
        ratio = ""
        if floor is not None:
            row.update(floor_seconds=round(floor.wall, 2), floor_cpu_seconds=round(floor.cpu, 2),
                       cpu_ratio=round(t.cpu / max(floor.cpu, 1e-9), 2))
            ratio = f"{floor.wall:6.1f} s {floor.cpu:6.1f} s  x{row['cpu_ratio']:5.1f}"
        results.append(row)
        print(f"  {step:<36} {t.wall:7.1f} s {t.cpu:7.1f} s {t.main:7.1f} s  x{spec.duration / t.wall:6.1f} "
              f"x{row['unshared_realtime_bound']:6.1f}   {ratio:<26} {note}", flush=True)

    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}; workdir {workdir}")
    started = time.perf_counter()
    if args.keep is not None and src.is_file():
        truth = clip_truth(spec)  # generated by an earlier run with the same arguments
    else:
        with bar("generate") as p:
            truth = write_clip(src, spec, p)
    generate_seconds = time.perf_counter() - started
    print(f"generated {spec.width}x{spec.height} {spec.duration:.0f} s clip, {src.stat().st_size / 1e6:.0f} MB, "
          f"{len(truth.cuts)} cuts, in {generate_seconds:.1f} s (not part of the figures)")

    def cuts_note(found_shots: list[Any]) -> str:
        found = [s.start for s in found_shots[1:]]
        hits = sum(any(abs(f - c) <= 1 / 24 + 1e-6 for f in found) for c in truth.cuts)
        return f"{len(found)} cuts found, {hits}/{len(truth.cuts)} true cuts within 1 frame"

    print(f"  {'step':<36} {'wall':>9} {'cpu':>9} {'main thr':>9}  {'real time':>7} {'unshared':>7}   "
          f"{'floor wall, cpu, cpu ratio':<26} note")
    print("  (unshared: media seconds per second of max(main-thread CPU, CPU / cores), the best this work could do "
          "with the machine to itself)")
    with Timer() as floor_read:
        bare_read(src)
    with Timer() as floor_video:
        bare_decode(src, video=True, audio=False)
    with Timer() as floor_audio:
        bare_decode(src, video=False, audio=True)
    with Timer() as floor_both:
        bare_decode(src, video=True, audio=True)
    record("floor: bare decode, video", floor_video, None)
    record("floor: bare decode, audio", floor_audio, None)
    record("floor: bare decode, both", floor_both, None)

    with bar("probe") as p, Timer() as t:
        pr = probe(src, p)
    probe_row = t
    record("probe + sha256", t, floor_read, f"{pr.size_bytes / 1e6:.0f} MB checksummed; floor: a bare read")

    # One decode for all four steps: what derive runs.
    frames_dir = workdir / "pass-frames"
    detector = ShotDetector()
    consumers: dict[str, Any] = {
        "proxy": ProxyWriter(workdir / "pass-proxy.mp4", height=360),
        "shots": detector,
        "frames": FrameGrabber(frames_dir, interval=10.0, at=[0.0], height=360, shots=detector),
        "audio": AudioAnalyser(),
    }
    profiler = cProfile.Profile() if args.profile else None
    thread_profilers: list[cProfile.Profile] = []

    def profile_thread(*_: object) -> None:
        # the pass's own threads (encoder, audio analysis) start their own profiler on their first call
        sys.setprofile(None)
        thread_profilers.append(thread_profiler := cProfile.Profile())
        thread_profiler.enable()

    with bar("one pass") as p, Timer() as t:
        if profiler is not None:
            threading.setprofile(profile_thread)
            profiler.enable()
        out = run_pass(src, consumers, p)
        if profiler is not None:
            profiler.disable()
            threading.setprofile(None)  # type: ignore[arg-type]
    failed = {k: v for k, v in out.items() if isinstance(v, BaseException)}
    if failed:
        raise SystemExit(f"the shared pass failed: {failed}")
    q = out["audio"]
    pass_row = t
    record("one pass: proxy+shots+frames+audio", t, floor_both,
           f"proxy {out['proxy'].stat().st_size / 1e6:.1f} MB; {cuts_note(out['shots'])}; {len(out['frames'])} JPEGs; "
           f"{q.integrated_lufs} LUFS")

    separate: list[Timer] = []
    if not args.no_separate:
        with bar("proxy 360p") as p, Timer() as t:
            proxy = make_proxy(src, workdir / "proxy.mp4", height=360, progress=p)
        separate.append(t)
        record("alone: proxy (H.264 360p+AAC)", t, floor_both, f"{proxy.stat().st_size / 1e6:.1f} MB")
        with bar("shots") as p, Timer() as t:
            shots = detect_shots(src, progress=p)
        separate.append(t)
        record("alone: shots", t, floor_video, cuts_note(shots))
        with bar("frames") as p, Timer() as t:
            frames = extract_frames(src, workdir / "frames", interval=10.0, at=[s.start for s in shots], progress=p,
                                    height=360)
        separate.append(t)
        record("alone: frames (10 s + per shot)", t, floor_video, f"{len(frames)} JPEGs at 360p")
        with bar("audio") as p, Timer() as t:
            q = audio_quality(src, progress=p)
        separate.append(t)
        record("alone: audio quality", t, floor_audio,
               f"{q.integrated_lufs} LUFS, {q.true_peak_dbtp} dBTP, {len(q.silence)} silences, {len(q.clipping)} clips")

    if args.no_embeddings:
        pass
    elif text_embeddings_available():
        embedder = TextEmbedder()
        t0 = time.perf_counter()
        embedder.embed(["warm up"])
        load = time.perf_counter() - t0
        lines = dialogue(args.lines)
        with Timer() as t:
            embedder.embed(lines)
        results.append({"step": "dialogue embeddings", "seconds": round(t.wall, 2), "cpu_seconds": round(t.cpu, 2),
                        "lines_per_second": round(len(lines) / t.wall), "model_load_seconds": round(load, 1)})
        print(f"  {'dialogue embeddings':<36} {t.wall:7.1f} s {t.cpu:7.1f} s  {len(lines) / t.wall:7.0f} lines/s"
              f"   ({len(lines)} lines, batch 64; model load {load:.1f} s)")
    else:
        print("  dialogue embeddings    skipped: pip install 'mediagraph[ml]'")

    def total(rows: list[Timer], label: str) -> None:
        wall, cpu, main = sum(r.wall for r in rows), sum(r.cpu for r in rows), sum(r.main for r in rows)
        bound = sum(r.bound() for r in rows)
        floor = floor_read.wall + floor_both.wall, floor_read.cpu + floor_both.cpu
        results.append({"step": label, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                        "main_thread_cpu_seconds": round(main, 2), "realtime_factor": round(spec.duration / wall, 1),
                        "unshared_realtime_bound": round(spec.duration / bound, 1), "floor_seconds": round(floor[0], 2),
                        "floor_cpu_seconds": round(floor[1], 2), "cpu_ratio": round(cpu / floor[1], 2)})
        print(f"  {label:<36} {wall:7.1f} s {cpu:7.1f} s {main:7.1f} s  x{spec.duration / wall:6.1f} "
              f"x{spec.duration / bound:6.1f}   {floor[0]:6.1f} s {floor[1]:6.1f} s  x{cpu / floor[1]:5.1f}   "
              "target: x5 real time (wall)")

    total([probe_row, pass_row], "all media steps, one pass")
    if separate:
        total([probe_row, *separate], "all media steps, each alone")
    load1, load5, _ = os.getloadavg()
    print(f"load average during the run: {load5:.1f} (5 min) on {os.cpu_count()} cores")
    if profiler is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        for thread_profiler in thread_profilers:
            stats.add(thread_profiler)
        stats.sort_stats("tottime").print_stats(14)
        print(f"profile of the shared pass, its {1 + len(thread_profilers)} Python threads together (cProfile, by "
              "own time: a C call's wall time in its thread, so threads that overlap add up to more than the pass):")
        print("\n".join(line for line in text.getvalue().splitlines()[4:] if line.strip()))
    if args.json:
        args.json.write_text(json.dumps({"clip": {"width": spec.width, "height": spec.height, "seconds": spec.duration,
                                                  "bytes": pr.size_bytes}, "steps": results}, indent=2))
    if args.keep is None:
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
