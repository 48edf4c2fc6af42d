"""The pure core of creative workflows: reviews, time-coded notes with drawings, editorial cuts
from OpenTimelineIO, playlists.

Rules and records only: no lancedb, no strawberry. The lake stores the rows (schemas in
``tables``), the schema layer calls the checks, lineage answers staleness.

    cuts      OTIO JSON -> Cut (clips with asset versions and ranges) and back
    regions   a note's drawing: shapes in normalized frame coordinates
    notes     the rules of a batch of notes
    reviews   decisions, review and cut staleness, the rules of one review
    playlists the rules of a playlist: each asset frozen at its current version
    tables    the Arrow schemas of reviews, notes, cuts, playlists
    timelines OTIO timelines built by hand, and editorial files (EDL, ...) read as OTIO
    problems  every problem of an input, raised as one error
"""
