"""The local engine: the plan's batches embedded one after another in this process."""
from __future__ import annotations

from graph_api.batch.commit import Committer, Vector
from graph_api.batch.plan import EmbedPlan


def run(plan: EmbedPlan, committer: Committer, batch_size: int) -> None:
    embedder = plan.space.load()
    for ids in plan.batches(batch_size):
        vectors = embedder.embed([plan.todo[i][1] for i in ids])
        committer.commit([Vector(i, plan.todo[i][0], v) for i, v in zip(ids, vectors.tolist())])
