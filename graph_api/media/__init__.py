"""Real media work with PyAV; knows nothing of the lake, lineage or GraphQL.

One concept per module (import them directly; this package imports nothing eagerly):

    errors      MediaError and its codes
    probe       probe(path) -> Probe            technical metadata, checksum, decode check
    subtitles   read_subtitles(path) -> [Cue]   SRT and WebVTT
    transcode   make_proxy(src, dst) -> Path    H.264/AAC browse proxy
    frames      extract_frames(...) -> [Frame]  thumbnails at an interval and at given times
    shots       detect_shots(src) -> [Shot]     hard cuts from colour-histogram change
    audio       audio_quality(src) -> AudioQuality   BS.1770 loudness, true peak, clipping, silence
    embedders   TextEmbedder (MiniLM, extra "ml"), ImageDescriptor (classical histograms)
    images      PNG/JPEG in and out through FFmpeg
    synth       clips with known content (cuts, silence, clipping) for tests, demo and bench
    corpus      generate_corpus(dir) -> Corpus  the demo's films, series and episodes

Long-running functions take ``progress: Callable[[float], None]`` (fraction done), let
KeyboardInterrupt through, and leave no partial output behind.
"""
