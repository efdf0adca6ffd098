"""omplan: plan the IT operation vs maintenance budget from headcount, rates and sourcing.

``import omplan`` stays light: the public names load their modules on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_plan": "omplan.reader",
    "parse_plan": "omplan.reader",
    "SheetGrid": "omplan.reader",
    "evaluate": "omplan.engine",
    "Evaluation": "omplan.engine",
    "summary_json": "omplan.summary",
    "run_plan": "omplan.api",
    "run_batch": "omplan.batch",
    "main": "omplan.excel",  # the Run button of workbooks/omplan.xlsm: omplan.main()
    "Plan": "omplan.model",
    "Finding": "omplan.findings",
    "FileProblem": "omplan.findings",
}
__all__ = [
    "__version__", "load_plan", "parse_plan", "SheetGrid", "evaluate", "Evaluation",
    "summary_json", "run_plan", "run_batch", "main", "Plan", "Finding", "FileProblem",
]

if TYPE_CHECKING:  # pragma: no cover
    from .api import run_plan
    from .batch import run_batch
    from .engine import Evaluation, evaluate
    from .excel import main
    from .findings import FileProblem, Finding
    from .model import Plan
    from .reader import SheetGrid, load_plan, parse_plan
    from .summary import summary_json


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'omplan' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
