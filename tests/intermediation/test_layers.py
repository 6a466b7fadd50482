"""The package's dependencies point one way: ``cli → io, viz → intermediation → solvers``.

Checked on the source (every import, lazy ones inside functions included), so that a cycle or an
upward import fails here before it fails at import time.
"""

import ast
from pathlib import Path

import treemarket

SRC = Path(treemarket.__file__).parent
PACKAGE = SRC / "intermediation"
#: What the model may not import: the layers above it.
ABOVE = ("treemarket.io", "treemarket.viz", "treemarket.cli", "treemarket.study")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module(path: Path) -> str:
    return "treemarket." + ".".join(path.relative_to(SRC).with_suffix("").parts)


def test_the_model_imports_nothing_above_it():
    for path in sorted(PACKAGE.glob("*.py")):
        upward = sorted(m for m in _imports(path) if m.startswith(ABOVE))
        assert not upward, f"{path.name} imports {upward}"


def test_the_modules_of_the_model_form_no_cycle():
    modules = {_module(p): p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    graph = {m: {d for d in _imports(p) if d in modules and d != m} for m, p in modules.items()}
    done: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " -> ".join((*path, m))
        if m in done:
            return
        for d in graph[m]:
            visit(d, (*path, m))
        done.add(m)

    for m in sorted(graph):
        visit(m, ())
    # the layering the docs describe
    assert "treemarket.intermediation.general" in graph["treemarket.intermediation.pricing"]
    assert "treemarket.intermediation.certificate" in graph["treemarket.intermediation.general"]


def test_conic_solvers_are_reached_through_solvers_only():
    for path in sorted(SRC.rglob("*.py")):
        if path.parent.name == "solvers":
            continue
        direct = sorted(m for m in _imports(path) if m.split(".")[0] in ("cvxpy", "clarabel"))
        assert not direct, f"{_module(path)} imports {direct}"
