"""The package's shape: every module imports, and no two modules import each other.

Every ``import`` counts, including those inside functions: a cycle hidden in a function
still ties two modules together, and moves with them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import helpers


def all_modules() -> list[str]:
    """Every module and package of ``helpers``."""
    found = ["helpers"]
    for info in pkgutil.walk_packages(helpers.__path__, prefix="helpers."):
        found.append(info.name)
    return sorted(found)


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def imports_of(module: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` names in an import statement."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    package = module if Path(spec.origin).name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from .y import z
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = {f"{target}.{a.name}" for a in node.names}
            submodules = {n for n in names if n in known}
            found.update(submodules)
            if names - submodules:  # a name defined in the module itself
                found.add(target)
    return {m for m in found if m in known and m != module}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


MODULES = all_modules()


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports(module):
    if module.endswith(".__main__"):  # importing it runs the command
        assert _exists(module)
        return
    importlib.import_module(module)


def test_no_module_imports_itself_through_others():
    known = set(MODULES)
    graph = {m: imports_of(m, known) for m in MODULES}
    assert sum(len(v) for v in graph.values()) > len(MODULES)  # the graph was read
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_are_resolved_to_modules_and_packages():
    known = set(MODULES)
    run = imports_of("helpers.pipeline.run", known)
    # "from helpers.pipeline import RunError, cache": the package (RunError) and a module
    assert {"helpers.pipeline", "helpers.pipeline.cache", "helpers.pipeline.publish"} <= run
    assert "helpers.pipeline.run" not in run
