"""The package's shape, read from its source: the core never imports a lesson, no import cycle, one home
for each name, modules a reader can hold in mind, and every layer method documented."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import course_utils.layers as layers

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str) -> set[str]:
    """The course_utils modules that ``name`` imports, at the top or inside a function."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            # ``from course_utils.lessons import emoji`` imports the module course_utils.lessons.emoji
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def is_lesson(name: str) -> bool:
    """Lesson code, and the exercises' checkers (which may use a lesson's code); the rest is the core."""
    return name.startswith(("course_utils.lessons", "course_utils.exercises"))


def test_the_graph_was_read():
    # A parser that found nothing would pass every test below.
    assert "course_utils.lessons.emoji.api" in MODULES and "course_utils.metrics" in MODULES
    assert "course_utils.lessons.emoji.classifier" in GRAPH["course_utils.lessons.emoji.api"]
    assert "course_utils.layers.base" in GRAPH["course_utils.layers.dense"]          # a relative import


def test_the_core_never_imports_a_lesson():
    upward = {name: sorted(filter(is_lesson, deps)) for name, deps in GRAPH.items() if not is_lesson(name)}
    assert {name: deps for name, deps in upward.items() if deps} == {}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    assert find_cycle(GRAPH) is None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_short(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines; split it by concept (at most {MAX_LINES})"


def top_level_names(path: Path) -> set[str]:
    """Public functions and classes defined (not imported) at the top of a module."""
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}


def test_one_name_one_home():
    homes: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for defined in top_level_names(path) - {"main"}:   # each command line has its own main()
            homes.setdefault(defined, []).append(name)
    assert {n: where for n, where in homes.items() if len(where) > 1} == {}


LAYERS = [getattr(layers, name) for name in layers.__all__ if inspect.isclass(getattr(layers, name))]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda c: c.__name__)
def test_every_layer_method_has_a_docstring_with_shapes(layer):
    assert layer.__module__.startswith("course_utils.layers")
    for method in ("forward", "backward"):
        doc = inspect.getdoc(getattr(layer, method)) or ""
        assert doc, f"{layer.__name__}.{method} has no docstring"
        if layer.__name__ not in ("Layer", "Sequential"):       # the base and the container pass shapes on
            # element-wise layers
            shape = re.search(r"\((N|N, \w+|N, T, \w+)[,)]", doc) or "same shape" in doc
            assert shape, f"{layer.__name__}.{method}: give the shapes, e.g. (N, D)"
