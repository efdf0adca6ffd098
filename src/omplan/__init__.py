"""omplan: plan the IT operation vs maintenance budget from headcount, rates and sourcing.

Read and evaluate a plan workbook, then write what you need::

    import omplan
    run = omplan.run_plan("my_plan.xlsx")      # never raises for bad input: see run.errors
    run.figures                                # every figure, typed (PlanFigures)
    run.summary()                              # the JSON summary: one rendering of them
    run.evaluation.ledger                      # the ledger every figure is a group-by of
    omplan.write_report(run, "report.xlsx")    # the report workbook
    omplan.write_into(run, "my_plan.xlsx")     # the report sheets into the plan itself
    omplan.run_batch(["plans/"], quarter="Q2", out="budgets")   # quarterly budgets

Public names: ``load_plan``, ``parse_plan``, ``SheetGrid``, ``Plan``, ``evaluate``,
``Evaluation``, ``PlanFigures``, ``summary_json``, ``run_plan``, ``run_grids``, ``PlanRun``,
``write_report``, ``write_into``, ``write_template``, ``run_batch``, ``main`` (the Excel
button), ``Finding``, and the exceptions ``OmplanError`` (base of all), ``FileProblem``,
``ReportError``, ``ReportTooLarge``, ``WritebackRefused``, ``GraftError``, ``BatchError``,
``XlsmNameError``.

``import omplan`` stays light: each public name loads its module on first use (``main``
loads xlwings only when it runs).
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
    "PlanFigures": "omplan.core.summary",
    "summary_json": "omplan.core.summary",
    "run_plan": "omplan.pipeline",
    "run_grids": "omplan.pipeline",
    "PlanRun": "omplan.pipeline",
    "write_report": "omplan.files.report",
    "write_into": "omplan.files.writeback",
    "write_template": "omplan.files.template",
    "run_batch": "omplan.apps.batch",
    "main": "omplan.apps.excel.button",  # the Run button of workbooks/omplan.xlsm
    "Finding": "omplan.core.findings",
    "OmplanError": "omplan.core.errors",
    "FileProblem": "omplan.core.findings",
    "ReportError": "omplan.files.report",
    "ReportTooLarge": "omplan.report.layout",
    "WritebackRefused": "omplan.files.writeback",
    "GraftError": "omplan.files.graft",
    "BatchError": "omplan.apps.batch.tasks",
    "XlsmNameError": "omplan.files.xlsm",
}
__all__ = [
    "__version__", "load_plan", "parse_plan", "SheetGrid", "Plan", "evaluate", "Evaluation",
    "PlanFigures", "summary_json", "run_plan", "run_grids", "PlanRun", "write_report",
    "write_into", "write_template", "run_batch", "main", "Finding", "OmplanError",
    "FileProblem", "ReportError", "ReportTooLarge", "WritebackRefused", "GraftError",
    "BatchError", "XlsmNameError",
]

if TYPE_CHECKING:  # pragma: no cover
    from omplan.apps.batch import run_batch
    from omplan.apps.batch.tasks import BatchError
    from omplan.apps.excel.button import main
    from omplan.core.engine import evaluate
    from omplan.core.errors import OmplanError
    from omplan.core.findings import FileProblem, Finding
    from omplan.core.ledger import Evaluation
    from omplan.core.model import Plan
    from omplan.core.summary import PlanFigures, summary_json
    from omplan.files.graft import GraftError
    from omplan.files.report import ReportError, write_report
    from omplan.files.template import write_template
    from omplan.files.writeback import WritebackRefused, write_into
    from omplan.files.xlsm import XlsmNameError
    from omplan.input.reader import SheetGrid, load_plan, parse_plan
    from omplan.pipeline import PlanRun, run_grids, run_plan
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
