"""One call from a plan file to its checked figures, for the CLI, notebooks and batch runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omplan.core.engine import evaluate
from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation
from omplan.core.model import Plan
from omplan.core.summary import summary_json
from omplan.input.actuals import use_actuals_file
from omplan.input.reader import load_plan, read_grids


@dataclass
class PlanRun:
    """A plan read and evaluated: findings of both steps, the evaluation when there was one."""

    source: Path
    plan: Plan | None
    findings: list[Finding] = field(default_factory=list)
    evaluation: Evaluation | None = None
    #: the file the actual spend came from (``--actuals``), None for the plan's own sheet
    actuals_file: Path | None = None

    @property
    def errors(self) -> list[Finding]:
        extra = self.evaluation.errors if self.evaluation is not None else []
        return [f for f in self.findings if f.severity == "error"] + extra

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """The JSON summary of spec §6."""
        return summary_json(self.plan, self.findings, self.evaluation, self.source.name)


def run_plan(path: str | os.PathLike[str],
             actuals: str | os.PathLike[str] | None = None) -> PlanRun:
    """Read, check and evaluate a plan workbook, with the actual spend of ``actuals`` (a .csv
    or a workbook's Actuals sheet) instead of the plan's own; never raises for bad input."""
    source = Path(path)
    plan, findings = load_plan(source)
    if plan is not None and actuals is not None:
        plan, more = use_actuals_file(plan, actuals, read_grids)
        findings += more
    run = PlanRun(source, plan, findings, actuals_file=None if actuals is None else Path(actuals))
    if plan is not None and run.ok:
        run.evaluation = evaluate(plan)
    return run
