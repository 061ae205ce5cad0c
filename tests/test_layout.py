"""The package's imports run one way: each subpackage imports only from the ones below it.

The order is the architecture (see "How the code is laid out" in the README); imports inside
functions count too, since they are how a cycle hides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import afsearch

#: Bottom to top. A module may import from its own subpackage and from those listed before it.
LAYERS = (
    "exceptions",
    "_lazy",
    "testing",
    "expr",
    "domains",
    "compiler",
    "activations",
    "tasks",
    "store",
    "trial",
    "space",
    "search",
    "confirm",
    "orchestrator",
    "results",
    "distill",
    "cli",
)

ROOT = Path(afsearch.__file__).parent


def _subpackage(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _imported_subpackages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "afsearch" or len(parts) < 2:
                continue
            if (ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").exists():
                found.add(parts[1])
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts or (path.parent == ROOT and path.name == "__init__.py"):
            continue
        here = _subpackage(path)
        graph.setdefault(here, set()).update(_imported_subpackages(path) - {here})
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_subpackages() -> None:
    cycle = _cycle(import_graph())
    assert cycle is None, "subpackages import each other: " + " -> ".join(cycle or [])


def test_every_subpackage_has_a_layer() -> None:
    assert set(import_graph()) <= set(LAYERS), set(import_graph()) - set(LAYERS)


def test_imports_run_downwards() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = sorted(
        f"{a} imports {b}"
        for a, targets in import_graph().items()
        for b in targets
        if rank[b] >= rank[a]
    )
    assert not upward, upward


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
