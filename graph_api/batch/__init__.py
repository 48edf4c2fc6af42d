"""Batch jobs over the whole lake: embedding backfills and ML corpus exports.

The plan (what to do) and the commit (how a batch of results enters the lake and lineage) do
not depend on the engine that does the work in between: ``local_engine`` runs it in this
process, ``ray_engine`` on a Ray cluster (the ``ray`` extra; imported only by that module,
only when a command asks for it).
"""
