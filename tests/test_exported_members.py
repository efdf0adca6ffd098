"""The public API: every name in ``omplan.__all__`` resolves, and nothing else is promised."""

from __future__ import annotations

import subprocess
import sys

import omplan

EXPECTED = {
    "__version__", "load_plan", "parse_plan", "SheetGrid", "Plan", "evaluate", "Evaluation",
    "summary_json", "run_plan", "PlanRun", "write_report", "write_into", "write_template",
    "run_batch", "main", "Finding", "OmplanError", "FileProblem", "ReportError",
    "ReportTooLarge", "WritebackRefused",
}


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
    for name in ("FileProblem", "ReportError", "ReportTooLarge", "WritebackRefused"):
        assert issubclass(getattr(omplan, name), omplan.OmplanError), name
    assert not issubclass(omplan.OmplanError, ValueError)


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


def test_all_and_the_lazy_table_agree():
    assert set(omplan.__all__) - {"__version__"} == set(omplan._EXPORTS)
