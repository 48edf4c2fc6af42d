"""The schema package keeps its shape: no import circles among its modules, every import at
module level, and every resolver's ``info`` typed ``Info[Context, None]``."""
from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import graph_api.schema

PACKAGE = "graph_api.schema"
ROOT = Path(graph_api.schema.__file__).parent
MODULES = {f"{PACKAGE}.{p.stem}": ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.glob("*.py"))
           if p.stem != "__init__"}


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    return [base] + [f"{base}.{a.name}" for a in node.names]


def test_schema_modules_import_each_other_without_circles() -> None:
    graph = {name: {m for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for m in _imported(node) if m in MODULES and m != name}
             for name, tree in MODULES.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")
    assert order.index(f"{PACKAGE}.nodes") < order.index(f"{PACKAGE}.lineage_query")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_import_is_at_module_level(name: str) -> None:
    tree = MODULES[name]
    top = {id(n) for n in tree.body}
    late = [n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in top]
    assert not late, f"{name} imports inside a function or a block at lines {late}"
    assert "TYPE_CHECKING" not in ast.unparse(tree), f"{name} hides imports behind TYPE_CHECKING"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_info_is_typed_with_the_context(name: str) -> None:
    untyped = [f"{f.name}:{f.lineno}" for f in ast.walk(MODULES[name])
               if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
               for a in f.args.args if a.arg == "info"
               and (a.annotation is None or ast.unparse(a.annotation) != "Info[Context, None]")]
    assert not untyped, f"info not typed Info[Context, None] in {name}: {untyped}"
