"""The house has no import circles.

Two checks: every first-party module imports on its own, first, in a fresh interpreter (a
circle shows up there as a partially initialised module); and the graph of first-party imports
(module level, TYPE_CHECKING blocks and imports inside functions included: a circle hidden in a
function is still a circle) has no cycle.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph_api", "lineage")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            # the deepest known module the name points at (``from pkg import mod`` names a module)
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                out.add(name)
    return out


def test_first_party_imports_form_no_cycle() -> None:
    modules = _modules()
    graph = nx.DiGraph()
    for module, path in modules.items():
        graph.add_node(module)
        for target in _imports(module, path, set(modules)):
            # a package's __init__ importing its own submodules is how packages re-export: not a circle
            if not target.startswith(module + "."):
                graph.add_edge(module, target)
    cycles = sorted((c for c in nx.simple_cycles(graph) if len(c) > 1), key=sorted)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles[:20])


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    modules = sorted(_modules())
    script = (
        "import importlib, sys\n"
        f"modules = {modules!r}\n"
        "failed = []\n"
        "for name in modules:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in ('graph_api', 'lineage')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
