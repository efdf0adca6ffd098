"""The public API: every name in ``omplan.__all__`` resolves, and nothing else is promised."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import omplan

EXPECTED = {
    "__version__", "load_plan", "parse_plan", "SheetGrid", "Plan", "evaluate", "Evaluation",
    "PlanFigures", "summary_json", "run_plan", "run_grids", "PlanRun", "write_report",
    "write_into", "write_template", "run_batch", "main", "Finding", "OmplanError",
    "FileProblem", "ReportError", "ReportTooLarge", "WritebackRefused", "GraftError",
    "BatchError", "XlsmNameError",
}
EXCEPTIONS = ("FileProblem", "ReportError", "ReportTooLarge", "WritebackRefused", "GraftError",
              "BatchError", "XlsmNameError")


def test_all_lists_exactly_the_public_names():
    assert set(omplan.__all__) == EXPECTED
    assert len(omplan.__all__) == len(EXPECTED)


def test_every_public_name_resolves_to_an_object_of_omplan():
    for name in omplan.__all__:
        value = getattr(omplan, name)
        if name == "__version__":
            assert value.count(".") == 2
            continue
        assert value.__module__.startswith("omplan."), (name, value.__module__)
        assert value.__doc__, f"{name} has no docstring"


def test_every_exception_derives_from_one_base():
    for name in EXCEPTIONS:
        assert issubclass(getattr(omplan, name), omplan.OmplanError), name
    assert not issubclass(omplan.OmplanError, ValueError)


def _omplan_exceptions() -> dict[str, str]:
    """Every class in the source that derives from OmplanError (directly or through another
    such class, by name): class name -> module file."""
    package = Path(omplan.__file__).parent
    bases: dict[str, tuple[set[str], str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                         for b in node.bases}
                bases[node.name] = (names, str(path.relative_to(package)))
    found = {"OmplanError"}
    while True:
        more = {name for name, (parents, _) in bases.items() if parents & found} - found
        if not more:
            return {name: bases[name][1] for name in found}
        found |= more


def test_every_exception_omplan_raises_is_exported_or_private():
    """An exception a user can catch has a public name; one that never leaves omplan is
    private (a leading underscore)."""
    exceptions = _omplan_exceptions()
    assert {"OmplanError", "ReportTooLarge", "GraftError", "BatchError"} <= set(exceptions)
    loose = sorted(f"{name} ({where})" for name, where in exceptions.items()
                   if not name.startswith("_") and name not in omplan.__all__)
    assert loose == []


def test_unknown_names_raise_attribute_error():
    try:
        omplan.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("omplan.no_such_thing resolved")


def test_help_lists_the_public_api_and_import_stays_light():
    code = ("import sys, omplan; doc = omplan.__doc__; "
            "missing = [n for n in omplan.__all__ if n != '__version__' and n not in doc]; "
            "heavy = [m for m in ('pandas', 'openpyxl', 'xlwings', 'rich') if m in sys.modules]; "
            "print(missing, heavy); sys.exit(1 if missing or heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_imports_no_xlwings():
    """help(omplan) resolves every public name, ``main`` (the Excel button) included; the
    button loads xlwings only when it runs."""
    code = ("import sys, pydoc, omplan; text = pydoc.render_doc(omplan); "
            "assert 'run_plan' in text and 'main' in text, text[:2000]; "
            "print('xlwings' in sys.modules, callable(omplan.main))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"], result.stdout


def test_all_and_the_lazy_table_agree():
    assert set(omplan.__all__) - {"__version__"} == set(omplan._EXPORTS)
