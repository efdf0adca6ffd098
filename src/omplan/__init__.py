"""omplan: plan the IT operation vs maintenance budget from headcount, rates and sourcing.

``import omplan`` stays light: the public names load their modules on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from omplan.core.version import __version__

_EXPORTS = {
    "load_plan": "omplan.input.reader",
    "parse_plan": "omplan.input.reader",
    "SheetGrid": "omplan.input.reader",
    "evaluate": "omplan.core.engine",
    "Evaluation": "omplan.core.ledger",
    "summary_json": "omplan.core.summary",
    "run_plan": "omplan.files.run",
    "run_batch": "omplan.apps.batch",
    "main": "omplan.apps.excel",  # the Run button of workbooks/omplan.xlsm: omplan.main()
    "Plan": "omplan.core.model",
    "Finding": "omplan.core.findings",
    "FileProblem": "omplan.core.findings",
}
__all__ = [
    "__version__", "load_plan", "parse_plan", "SheetGrid", "evaluate", "Evaluation",
    "summary_json", "run_plan", "run_batch", "main", "Plan", "Finding", "FileProblem",
]

if TYPE_CHECKING:  # pragma: no cover
    from omplan.apps.batch import run_batch
    from omplan.apps.excel import main
    from omplan.core.engine import evaluate
    from omplan.core.findings import FileProblem, Finding
    from omplan.core.ledger import Evaluation
    from omplan.core.model import Plan
    from omplan.core.summary import summary_json
    from omplan.files.run import run_plan
    from omplan.input.reader import SheetGrid, load_plan, parse_plan


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'omplan' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
