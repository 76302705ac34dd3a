"""The package's shape: small modules, short functions, subpackages that depend one way."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sasrec_utils"
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, ast.Module]:
    """Every module of the package by its path relative to it (``training/loop.py``)."""
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def line_count(name: str) -> int:
    return len((PACKAGE / name).read_text().splitlines())


def test_no_module_is_over_the_line_limit():
    over = {name: line_count(name) for name in modules() if line_count(name) > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_no_function_is_over_the_line_limit():
    over = [
        f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines (def to end): {over}"


def part_of(module: str) -> str:
    """The part of the package a dotted module belongs to: its subpackage (``training``)
    or, for a top-level module, the module itself (``config``)."""
    return module.split(".")[1] if "." in module else module


def imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The ``sasrec_utils`` modules that the module at path ``name`` imports (dotted, e.g.
    ``sasrec_utils.data.splits``), ``TYPE_CHECKING`` imports included."""
    here = ["sasrec_utils", *Path(name).with_suffix("").parts]  # level 1: here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: -node.level] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # ``from . import x``
    return {module for module in found if module.startswith("sasrec_utils.")}


def dependencies() -> dict[str, set[str]]:
    """Which parts import which other parts (``{"training": {"data", "model", ...}}``)."""
    graph: dict[str, set[str]] = {}
    for name, tree in modules().items():
        source = part_of("sasrec_utils." + name.removesuffix(".py").replace("/", "."))
        targets = {part_of(module) for module in imported_modules(name, tree)}
        graph.setdefault(source, set()).update(targets - {source})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return None


def test_subpackages_import_each_other_without_a_cycle():
    graph = dependencies()
    assert {"data", "model", "training", "evaluation", "serving", "report"} <= set(graph)
    assert "data" in graph["training"] and "model" in graph["training"]  # imports are seen
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between parts of sasrec_utils: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle_and_names_it():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_relative_imports_resolve_to_the_package_modules():
    tree = ast.parse("from ..data.splits import Split\nfrom . import distributed\n")
    assert imported_modules("training/loop.py", tree) == {
        "sasrec_utils.data.splits",
        "sasrec_utils.data.splits.Split",
        "sasrec_utils.training",
        "sasrec_utils.training.distributed",
    }
    init = ast.parse("from .loop import fit\n")
    assert "sasrec_utils.training.loop" in imported_modules("training/__init__.py", init)
