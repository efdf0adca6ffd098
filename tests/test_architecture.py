"""The package's layers: imports point down the list of folders only, and never in a cycle.

Every import counts, function-level and ``TYPE_CHECKING`` ones included: a cycle hidden behind
a late import is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import omplan

PACKAGE = Path(omplan.__file__).parent
#: Lowest first: a module may import from its own folder or any folder before it.
LAYERS = ("core", "input", "report", "render", "files", "apps")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    """The omplan modules ``path`` imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "omplan")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "omplan":
                continue
            found.add(target)
            for alias in node.names:  # ``from omplan.report import styles``
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
    return {m for m in found if m in MODULES and m != name}


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)  # omplan/__init__.py, omplan/excel.py, __main__: the public face


def test_every_module_is_in_a_layer():
    loose = sorted(m for m in MODULES if _layer(m) == len(LAYERS))
    assert loose == ["omplan", "omplan.__main__", "omplan.excel"]


def test_imports_point_down_only():
    upward = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if _layer(b) > _layer(a))
    assert upward == []


def test_no_import_cycle():
    # Packages' __init__ modules only hold docstrings; the public face imports lazily.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_core_knows_no_files():
    spreadsheet = {"openpyxl", "xlwings", "xlsxwriter", "python_calamine", "zipfile"}
    for name, path in MODULES.items():
        if _layer(name) != 0:
            continue
        tree = ast.parse(path.read_text())
        used = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
        used |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}
        assert not used & spreadsheet, (name, used & spreadsheet)


def test_the_checker_sees_a_cycle_and_an_upward_arrow():
    """The walk above can fail: a planted late import is found."""
    source = "def f():\n    from omplan.apps.cli import main\n"
    fake = PACKAGE / "core" / "model.py"
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found.add(node.module)
    assert found == {"omplan.apps.cli"}
    assert _layer("omplan.apps.cli") > _layer(_module_name(fake))
