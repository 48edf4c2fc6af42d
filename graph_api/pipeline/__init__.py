"""Real media in, real derivatives out, with lineage recorded as a side effect.

    ingest      ingest(ctx, paths, title_id) -> IngestReport   probe and register files; subtitles -> dialogue
    derive      derive(ctx, target, steps) -> DeriveReport     run what is stale or missing
    steps       the standard steps: job names, versions, parameters and what each computes
    runs        one step on one subject as a lineage Run: RUNNING, then COMPLETED, FAILED or ABORTED
    context     Context: the lake, its lineage, the derived-media directory, step options, progress
    progress    a tqdm bar on stderr, or any ``(label, fraction)`` callback

Every write goes through the lake's batch API; every derived output names the run that made it.
"""
