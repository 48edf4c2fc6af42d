"""The README's code blocks run as written, twice, against the demo lake built here.

- ``python`` blocks run in a fresh interpreter whose working directory holds the demo lake as
  ``./lake`` (the README's ``open_lake("./lake")``).
- ``graphql`` blocks are POSTed to a real uvicorn serving that lake, with the ``json`` block right
  under them as their variables. A variable ``"<ROLE of TITLE>"`` is the id of that title's
  (first) asset with that role and ``"<title TITLE>"`` the title's id, looked up as a reader would
  (ids differ from lake to lake; the README says so). Every top-level field must come back
  non-empty, except the ones a fresh demo legitimately has none of (``MAY_BE_EMPTY``).
- ``text`` and untagged blocks are usage synopses and diagrams, not commands; ``sh`` blocks are the setup commands listed in
  ``NOT_RUN``, with why. Any other block, or a new ``sh`` block, fails the test until it is run
  here or listed.

The whole README runs in order, then again: the second pass is the user who runs it twice.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph_api.media.embedders import text_embeddings_available
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# sh blocks not run, by their first line, and why
NOT_RUN = {
    "python3.11 -m venv .venv && .venv/bin/pip install -e '.[ml]' && bash .ci/setup-explore.sh "
    "&& .venv/bin/mediagraph demo":
        "installs the project and builds the explorer (the test environment already did) and then serves until "
        "stopped; "
        "the demo it builds is the fixture below",
    "bash .ci/setup && .venv/bin/python -m pytest -q":
        "installs the CI prerequisites (apt, npm) and runs the whole suite, this test included",
    "cd js && npm ci":
        "installs npm packages (.ci/setup does); tests/federation/ composes and queries the supergraph",
}
MAY_BE_EMPTY = {"staleAssets", "recomputePlan"}  # nothing is stale in a freshly derived demo
PLACEHOLDER = re.compile(r"^<(?:title (?P<title>.+)|(?P<role>[\w-]+) of (?P<of>.+))>$")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int
    variables: str | None = None  # the json block under a graphql block

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        block = Block(fence.group(1), "\n".join(lines[i + 1:end]) + "\n", i + 1)
        if block.lang == "json" and blocks and blocks[-1].lang == "graphql" and blocks[-1].variables is None \
                and _blank_between(lines, blocks[-1], i):
            blocks[-1] = Block("graphql", blocks[-1].text, blocks[-1].line, block.text)
        else:
            blocks.append(block)
        i = end + 1
    return blocks


def _blank_between(lines: list[str], block: Block, line: int) -> bool:
    closing = block.line + block.text.count("\n")  # index of the closing fence
    return all(not x.strip() for x in lines[closing + 1:line])


def test_every_block_is_run_or_listed() -> None:
    blocks = readme_blocks()
    unknown = [b.where for b in blocks if b.lang not in ("python", "graphql", "text", "", "sh")]
    assert not unknown, f"blocks of a language this test does not run: {unknown}"
    sh = {b.text.splitlines()[0].strip() for b in blocks if b.lang == "sh"}
    assert sh == set(NOT_RUN), f"sh blocks not run and not listed: {sh - set(NOT_RUN)}; stale: {set(NOT_RUN) - sh}"
    assert all(b.variables is not None for b in blocks if b.lang == "graphql" and "$" in b.text.split("{")[0]), \
        "a graphql block with variables needs its json block right under it"
    assert sum(b.lang == "python" for b in blocks) >= 1 and sum(b.lang == "graphql" for b in blocks) >= 10


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real demo (corpus generated, ingested, derived) in <dir>/lake, built once per session."""
    root = tmp_path_factory.mktemp("readme-demo")
    result = subprocess.run([sys.executable, "-m", "graph_api.cli", "demo", "--lake", str(root / "lake"),
                             "--no-serve"], capture_output=True, text=True, timeout=900, env=_env(), cwd=root)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="session")
def demo_server(demo_dir: Path) -> Iterator[LiveServer]:
    server = LiveServer(str(demo_dir / "lake"), env=_env())
    yield server
    server.stop()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "MEDIAGRAPH_LAKE": "./lake"}


@pytest.mark.skipif(not text_embeddings_available(), reason="the demo needs the ml extra")
def test_the_readme_runs_twice_against_the_demo(demo_dir: Path, demo_server: LiveServer) -> None:
    blocks = [b for b in readme_blocks() if b.lang in ("python", "graphql")]
    results: list[dict[str, Any]] = []
    for run in (1, 2):
        for block in blocks:
            if block.lang == "python":
                _run_python(block, demo_dir, run)
            else:
                results.append(_run_graphql(block, demo_server, run))

    first = results[0]["titles"]["edges"]
    # the first query shows the demo's compliance annotations (from the reviewer's label file)
    flags = sorted((a["node"]["label"], a["node"]["start"]) for t in first for asset in t["node"]["assets"]["edges"]
                   for a in asset["node"]["annotations"]["edges"])
    assert flags == [("gore", 5.5), ("smoking", 1.5)]
    # ... and say where they came from: an annotations-import run over the source and the label file
    runs = [a["node"]["producedBy"] for r in results[:4] for t in r.get("titles", {}).get("edges", [])
            for asset in t["node"]["assets"]["edges"] for a in asset["node"].get("annotations", {}).get("edges", [])
            if "producedBy" in a["node"]]
    assert runs and {r["job"]["name"] for r in runs} == {"annotations-import"}
    assert sorted(i["role"] for i in runs[0]["inputs"]) == ["labels", "source"]
    names = [t["node"].get("name") for r in results for t in r.get("titles", {}).get("edges", [])]
    assert "Harbour Lights" in names and "Northern Crossing" in names
    # run twice, the writes did not pile up: one Ocean Voyage, one source asset, one recorded proxy
    ocean = _graphql(demo_server, '{ titles(search: "Ocean Voyage") { edges { node { id '
                                  "assets(first: 50) { edges { node { role version } } } } } } }")
    [title] = ocean["titles"]["edges"]
    roles = sorted((a["node"]["role"], a["node"]["version"]) for a in title["node"]["assets"]["edges"])
    assert roles == [("proxy", 1), ("source", 1), ("trailer", 1)]


def _run_python(block: Block, demo_dir: Path, run: int) -> None:
    result = subprocess.run([sys.executable, "-c", block.text], capture_output=True, text=True, timeout=600,
                            cwd=demo_dir, env=_env())
    assert result.returncode == 0, f"{block.where} (run {run}) failed:\n{result.stderr}"
    assert "Loading weights" not in result.stderr, f"{block.where}: the model printed to stderr"


def _run_graphql(block: Block, server: LiveServer, run: int) -> dict[str, Any]:
    variables = json.loads(block.variables) if block.variables else {}
    resolved = {k: _resolve(server, v) for k, v in variables.items()}
    body = httpx.post(server.url + "/graphql", json={"query": block.text, "variables": resolved}, timeout=120).json()
    assert not body.get("errors"), f"{block.where} (run {run}): {body['errors']}"
    data: dict[str, Any] = body["data"]
    for field, value in data.items():
        if field not in MAY_BE_EMPTY:
            empty = value in (None, [], 0) or (isinstance(value, dict) and value.get("edges") == [])
            assert not empty, f"{block.where} (run {run}): {field} is empty on the demo lake: {value}"
    return data


def _resolve(server: LiveServer, value: Any) -> Any:
    """Placeholders replaced by ids, anywhere in a variable's value."""
    if isinstance(value, list):
        return [_resolve(server, v) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(server, v) for k, v in value.items()}
    match = PLACEHOLDER.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    name = match.group("title") or match.group("of")
    titles = _graphql(server, "query($n: String!, $r: String) { titles(search: $n) { edges { node { id name "
                              "assets(role: $r, first: 1) { edges { node { id } } } } } } }",
                      {"n": name, "r": match.group("role")})["titles"]["edges"]
    [title] = [t["node"] for t in titles if t["node"]["name"] == name]
    if match.group("title"):
        return title["id"]
    assets = title["assets"]["edges"]
    assert assets, f"{name} has no {match.group('role')} asset"
    return assets[0]["node"]["id"]


def _graphql(server: LiveServer, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60).json()
    assert not body.get("errors"), body["errors"]
    return body["data"]
