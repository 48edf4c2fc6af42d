"""The user story of issue 10 item 1: a subtitle line is corrected after everything was derived.

Staleness is one truth: ``Asset.stale``, ``staleAssets`` and ``recomputePlan`` agree before the
re-derive, and after it every one of them is empty, also in a freshly opened lake and over GraphQL.
Re-derived segments and embeddings (outputs that are not assets) replace the old runs' outputs,
so the old runs are not stale forever.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from graph_api.pipeline.context import Context
from graph_api.pipeline.derive import derive
from graph_api.pipeline.ingest import ingest
from graph_api.pipeline.steps import DIALOGUE_JOB

from ..conftest import GraphQLClient
from .conftest import make_context

STATE = """query($title: ID!, $root: ID!) {
  title(id: $title) { assets(first: 100) { edges { node { id stale } } } }
  all: staleAssets { asset { id } }
  under: staleAssets(root: $root) { asset { id } reasons }
  recomputePlan { id job { name } }
}"""


def subtitle_of(ctx: Context, title: str) -> dict[str, Any]:
    return next(a for a in ctx.lake.assets.by_title([title])[title] if a["role"] == "subtitle")


def state(gql: GraphQLClient, title: str, root: str) -> dict[str, Any]:
    data = gql.data(STATE, {"title": title, "root": root})
    return {
        "stale": sorted(e["node"]["id"] for e in data["title"]["assets"]["edges"] if e["node"]["stale"]),
        "all": sorted(s["asset"]["id"] for s in data["all"]),
        "under": sorted(s["asset"]["id"] for s in data["under"]),
        "plan": [(r["id"], r["job"]["name"]) for r in data["recomputePlan"]],
    }


def in_process(ctx: Context, root: str) -> dict[str, Any]:
    lineage = ctx.lineage
    return {"all": [a for a, _ in lineage.stale_assets()], "under": [a for a, _ in lineage.stale_assets(root)],
            "plan": lineage.recompute_plan()}


def test_a_corrected_subtitle_line_is_stale_once_and_fresh_after_derive(
        ctx: Context, title: str, delivery: Path, tmp_path: Path, gql: GraphQLClient) -> None:
    [(_, old_dialogue, _)] = ingest(ctx, [delivery], title).dialogue
    assert derive(ctx, title).ok
    subtitle = subtitle_of(ctx, title)
    assert in_process(ctx, subtitle["id"]) == {"all": [], "under": [], "plan": []}

    srt = delivery / "clip.en.srt"
    srt.write_text(srt.read_text().replace("Pour me another coffee.", "Pour me another tea."))
    report = ingest(ctx, [delivery], title)
    assert [v for _, _, v in report.updated] == [2]
    assert subtitle_of(ctx, title)["version"] == 2

    # Ingest already redid the dialogue of version 2; what is left is the dialogue's embeddings.
    before = state(gql, title, subtitle["id"])
    assert [job for _, job in before["plan"]] == ["dialogue-embeddings"]
    assert before["stale"] == before["all"] == before["under"] == []  # the stale outputs are vectors, not assets
    assert in_process(ctx, subtitle["id"]) == {"all": [], "under": [], "plan": [r for r, _ in before["plan"]]}
    [old_embeddings] = [r for r, _ in before["plan"]]
    [(_, new_dialogue, _)] = report.dialogue
    assert ctx.lineage.get_run(old_dialogue).job_name == DIALOGUE_JOB and new_dialogue != old_dialogue
    assert not ctx.lineage.is_stale(old_dialogue)  # replaced by the dialogue of version 2

    report = derive(ctx, title)
    assert report.ok, report.summary()
    assert [d.step for d in report.done] == ["dialogue-embeddings"]
    assert not ctx.lineage.is_stale(old_embeddings)
    assert in_process(ctx, subtitle["id"]) == {"all": [], "under": [], "plan": []}
    after = state(gql, title, subtitle["id"])
    assert after == {"stale": [], "all": [], "under": [], "plan": []}
    assert not derive(ctx, title).done

    # A restart rebuilds the graph from the store: the old runs stay replaced.
    reopened = make_context(tmp_path / "lake", tmp_path / "lake-media")
    assert in_process(reopened, subtitle["id"]) == {"all": [], "under": [], "plan": []}
    assert not reopened.lineage.is_stale(old_embeddings) and not reopened.lineage.is_stale(old_dialogue)
    assert not derive(reopened, title).done
