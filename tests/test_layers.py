"""The package's shape, checked from its source: no import cycle between modules, imports that
point down the layers only (docs/architecture.md), and no route module importing another.
Every import counts, also those inside functions and under `TYPE_CHECKING`: a cycle hidden
there is still a cycle of concepts."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import emmaus

ROOT = Path(emmaus.__file__).parent

# Higher layers may import lower or equal ones (equal: peers such as engine and grounding).
LAYERS = {
    "cli": 6,
    "api": 5,
    "system": 4,
    "services": 3,
    "migration": 3,
    "engine": 2,
    "conversations": 2,
    "grounding": 2,
    "auth": 2,
    "usage": 2,
    "store": 1,
    "observability": 1,
    "catalog": 1,
    "config": 1,
    "errors": 1,
    "__init__": 1,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py") if "testing" not in p.parts}


def imports_of(path: Path) -> set[str]:
    """The emmaus modules `path` imports (a `from package import name` counts as the submodule
    when `name` is one)."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("emmaus"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emmaus"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {name for name in found if name in known}


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return LAYERS[top]


def test_every_top_level_module_has_a_layer() -> None:
    tops = {m.split(".")[1] for m in modules() if "." in m}
    assert tops <= set(LAYERS), f"add {tops - set(LAYERS)} to LAYERS"


def test_imports_point_down_only() -> None:
    upward = [
        f"{module} -> {target}"
        for module, path in modules().items()
        for target in imports_of(path)
        if layer(target) > layer(module)
    ]
    assert upward == []


def test_no_route_module_imports_another() -> None:
    routes = {m for m in modules() if m.startswith("emmaus.api.") and m.endswith(".routes")}
    crossing = [
        f"{module} -> {target}"
        for module in routes
        for target in imports_of(modules()[module])
        if target in routes and target != module
    ]
    assert crossing == []


def test_no_import_cycle() -> None:
    graph = {module: imports_of(path) - {module} for module, path in modules().items()}
    # A package's __init__ re-exporting its own modules is not a cycle of concepts.
    for module, targets in graph.items():
        if modules()[module].name == "__init__.py":
            graph[module] = {t for t in targets if not t.startswith(module + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
