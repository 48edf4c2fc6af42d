"""The Ray engine: Ray Data reads the segments table straight from Lance, actors embed in
parallel, and the driver commits what comes back in batches of ``batch_size``.

Ray is the ``ray`` extra and is imported here only, when a command runs this engine: the
server and the rest of the command line never load it. ``session()`` joins the cluster
``RAY_ADDRESS`` names, else starts a local one for the command's lifetime; either way the
code is the same. Each worker must be able to import ``graph_api`` (install the project on
every node) and read the lake's URI (an object store, for a multi-node cluster).
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from graph_api.batch.commit import Committer, Vector
from graph_api.batch.plan import EmbedPlan
from graph_api.batch.spaces import space_named
from graph_api.errors import InvalidArgument

# rows handed to one actor call: small enough to keep every actor busy, big enough for the model's batching
ACTOR_BATCH = 256


class EmbedActor:
    """One Ray actor: loads the space's embedder once, then embeds the pending segments of each batch."""

    def __init__(self, space: str, todo: dict[str, tuple[str, str]]) -> None:
        # the todo list travels once per actor (through the object store when large), not with every batch
        self.todo = todo
        self.space = space_named(space)
        self.embedder = self.space.load()

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids = [i for i in batch.column("id").to_pylist() if i in self.todo]
        vectors = (self.embedder.embed([self.todo[i][1] for i in ids]) if ids
                   else np.zeros((0, self.space.dimension), dtype=np.float32))
        return pa.table({
            "subject_id": pa.array(ids, pa.string()),
            "asset_id": pa.array([self.todo[i][0] for i in ids], pa.string()),
            "vector": pa.array(np.asarray(vectors, dtype=np.float32).tolist(), pa.list_(pa.float32())),
        })


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Ray for the command: the cluster ``$RAY_ADDRESS`` names, else a local one that lives as long as the
    command. Entered before the lake is opened, so that Ray's processes are not started from a process
    holding the lake open; an already initialised Ray (a test's, a notebook's) is used and left running."""
    try:
        import ray
    except ImportError as exc:
        raise InvalidArgument("--engine ray needs Ray: pip install 'mediagraph[ray]'", engine="ray") from exc
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def run(plan: EmbedPlan, committer: Committer, batch_size: int, actors: int | None = None) -> None:
    """Embed the plan on the Ray cluster of the current ``session()``."""
    import ray

    if not plan.todo:
        return
    cpus = int(ray.cluster_resources().get("CPU", 1))
    # leave a CPU to the Lance read tasks: actors holding every CPU would starve the read
    count = actors or max(1, cpus - 1)
    with warnings.catch_warnings():
        # Ray 2.60 deprecates filter= for Dataset.filter(expr=), which is not pushed down into the Lance scan
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = ray.data.read_lance(plan.segments_uri, version=plan.segments_version, columns=["id"],
                                      filter=plan.read_filter, storage_options=plan.storage_options or None)
    embedded = dataset.map_batches(EmbedActor, fn_constructor_args=(plan.space.name, plan.todo),
                                   batch_format="pyarrow", batch_size=ACTOR_BATCH, num_cpus=1,
                                   compute=ray.data.ActorPoolStrategy(size=count))
    for batch in embedded.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
        assert isinstance(batch, pa.Table)
        committer.commit([Vector(s, a, v) for s, a, v in zip(batch.column("subject_id").to_pylist(),
                                                             batch.column("asset_id").to_pylist(),
                                                             batch.column("vector").to_pylist())])
