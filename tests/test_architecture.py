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
LAYERS = ("core", "input", "pipeline", "report", "render", "files", "apps")


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


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the list of layers, as ``a -> b``."""
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if _layer(b) > _layer(a))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles a depth-first walk of ``graph`` meets."""
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_imports_point_down_only():
    assert upward(GRAPH) == []


def test_no_import_cycle():
    # Packages' __init__ modules only hold docstrings; the public face imports lazily.
    assert cycles(GRAPH) == []


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


#: imports planted in a copy of core/model.py: a late one, a relative one naming a module
#: by its alias, a TYPE_CHECKING one; and one in apps/cli.py closing a cycle
PLANTED_MODEL = ("from __future__ import annotations\n"
                 "import json\n"
                 "from typing import TYPE_CHECKING\n"
                 "def late():\n"
                 "    from omplan.apps.cli import main\n"
                 "    from ..report import styles\n"
                 "if TYPE_CHECKING:\n"
                 "    import omplan.render.xlsx\n")
PLANTED_CLI = "from omplan.core.model import Plan\n"


def test_the_checker_sees_a_cycle_and_an_upward_arrow(tmp_path):
    """The walk above can fail: imports planted in copies of two modules are found by the
    same walker (:func:`_imports`), and the upward arrow and the cycle they make are
    reported by the same checks as the real graph's."""
    model, cli = tmp_path / "model.py", tmp_path / "cli.py"
    model.write_text(PLANTED_MODEL)
    cli.write_text(PLANTED_CLI)
    planted = {"omplan.core.model": _imports(model, "omplan.core.model"),
               "omplan.apps.cli": _imports(cli, "omplan.apps.cli")}
    assert planted["omplan.core.model"] == {"omplan.apps.cli", "omplan.report",
                                            "omplan.report.styles", "omplan.render.xlsx"}
    assert planted["omplan.apps.cli"] == {"omplan.core.model"}
    graph = {**GRAPH, **planted}
    assert upward(graph) == ["omplan.core.model -> omplan.apps.cli",
                             "omplan.core.model -> omplan.render.xlsx",
                             "omplan.core.model -> omplan.report",
                             "omplan.core.model -> omplan.report.styles"]
    assert ["omplan.core.model", "omplan.apps.cli", "omplan.core.model"] in cycles(graph)
    # the real graph holds imports too: a walker that finds none would pass everything
    assert "omplan.core.model" in GRAPH["omplan.core.engine"]
    assert "omplan.pipeline" in GRAPH["omplan.apps.cli"]
