"""omplan: plan the IT operation vs maintenance budget from headcount, rates and sourcing.

Read and evaluate a plan workbook, then write what you need::

    import omplan
    run = omplan.run_plan("my_plan.xlsx")      # never raises for bad input: see run.errors
    run.summary()                              # the JSON summary as a dict
    run.evaluation.ledger                      # the ledger every figure is a group-by of
    omplan.write_report(run.evaluation, "report.xlsx", input_findings=run.findings)
    omplan.write_into(run, "my_plan.xlsx")     # the report sheets into the plan itself
    omplan.run_batch(["plans/"], quarter="Q2", out="budgets")   # quarterly budgets

Public names: ``load_plan``, ``parse_plan``, ``SheetGrid``, ``Plan``, ``evaluate``,
``Evaluation``, ``summary_json``, ``run_plan``, ``PlanRun``, ``write_report``, ``write_into``,
``write_template``, ``run_batch``, ``main`` (the Excel button), ``Finding``, and the
exceptions ``OmplanError`` (base of all), ``FileProblem``, ``ReportError``,
``ReportTooLarge``, ``WritebackRefused``.

``import omplan`` stays light: each public name loads its module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from omplan.core.version import __version__

_EXPORTS = {
    "load_plan": "omplan.input.reader",
    "parse_plan": "omplan.input.reader",
    "SheetGrid": "omplan.input.reader",
    "Plan": "omplan.core.model",
    "evaluate": "omplan.core.engine",
    "Evaluation": "omplan.core.ledger",
    "summary_json": "omplan.core.summary",
    "run_plan": "omplan.files.run",
    "PlanRun": "omplan.files.run",
    "write_report": "omplan.files.report",
    "write_into": "omplan.files.writeback",
    "write_template": "omplan.files.template",
    "run_batch": "omplan.apps.batch",
    "main": "omplan.apps.excel",  # the Run button of workbooks/omplan.xlsm: omplan.main()
    "Finding": "omplan.core.findings",
    "OmplanError": "omplan.core.errors",
    "FileProblem": "omplan.core.findings",
    "ReportError": "omplan.files.report",
    "ReportTooLarge": "omplan.report.layout",
    "WritebackRefused": "omplan.files.writeback",
}
__all__ = [
    "__version__", "load_plan", "parse_plan", "SheetGrid", "Plan", "evaluate", "Evaluation",
    "summary_json", "run_plan", "PlanRun", "write_report", "write_into", "write_template",
    "run_batch", "main", "Finding", "OmplanError", "FileProblem", "ReportError",
    "ReportTooLarge", "WritebackRefused",
]

if TYPE_CHECKING:  # pragma: no cover
    from omplan.apps.batch import run_batch
    from omplan.apps.excel import main
    from omplan.core.engine import evaluate
    from omplan.core.errors import OmplanError
    from omplan.core.findings import FileProblem, Finding
    from omplan.core.ledger import Evaluation
    from omplan.core.model import Plan
    from omplan.core.summary import summary_json
    from omplan.files.report import ReportError, write_report
    from omplan.files.run import PlanRun, run_plan
    from omplan.files.template import write_template
    from omplan.files.writeback import WritebackRefused, write_into
    from omplan.input.reader import SheetGrid, load_plan, parse_plan
    from omplan.report.layout import ReportTooLarge


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'omplan' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
