"""A writer that prints each batch it got back from the lake, until it is killed: the crash test
kills it with SIGKILL mid-write and checks the lake against what it printed."""
from __future__ import annotations

import sys

from graph_api.lake import Lake

BATCH = 2_000


def main(uri: str, title_id: str) -> None:
    lake = Lake(uri)
    n = 0
    while True:
        rows = [{"title_id": title_id, "external_id": f"crash-b{n}-{i}", "media_type": "VIDEO", "role": "source",
                 "uri": f"s3://studio/crash/{n}/{i}.mov", "checksum": f"sha256:{n:032x}{i:032x}"}
                for i in range(BATCH)]
        lake.assets.register(rows)
        print(f"acknowledged {n}", flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
