"""One pipeline from a plan to its figures: read, check, evaluate, and the figures once.

Every edge goes through here: ``omplan run`` and ``omplan demo``, the Excel button (a live
book's sheets as grids), the custom functions (their table arguments as grids), the batch
tasks and notebooks (``omplan.run_plan``). A :class:`PlanRun` holds the plan, every finding
and the evaluation, and computes the typed figures (:class:`~omplan.core.summary.PlanFigures`)
once, on first use; the JSON summary, the terminal, the report and the Excel message all read
those same figures.

This layer sits between ``input/`` (which it calls) and ``report/`` (which renders what it
returns); it knows no report and no spreadsheet library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from omplan.core.engine import evaluate
from omplan.core.findings import Finding, has_errors
from omplan.core.ledger import Evaluation
from omplan.core.model import Plan
from omplan.core.summary import PlanFigures, plan_figures
from omplan.input.actuals import use_actuals_file
from omplan.input.reader import SheetGrid, load_plan, parse_plan, read_grids

__all__ = ["PlanRun", "run_grids", "run_plan"]


@dataclass
class PlanRun:
    """A plan read and evaluated: the findings of both steps, the evaluation when the plan
    had no errors, and its figures (computed once, on first use)."""

    #: the plan file, or the name of what the plan was read from (a live book, "custom
    #: function"): see :attr:`source_file`
    source: Path
    plan: Plan | None
    #: the reader's findings (errors, warnings, info) in reading order
    findings: list[Finding] = field(default_factory=list)
    evaluation: Evaluation | None = None
    #: the file the actual spend came from (``--actuals``), None for the plan's own sheet
    actuals_file: Path | None = None
    #: whether :attr:`source` is a file that was read (False for grids)
    from_file: bool = True

    @property
    def source_file(self) -> Path | None:
        """The plan file that was read (named and hashed on the report's About sheet)."""
        return self.source if self.from_file else None

    @property
    def errors(self) -> list[Finding]:
        """The reader's errors, then the engine's."""
        extra = self.evaluation.errors if self.evaluation is not None else []
        return [f for f in self.findings if f.severity == "error"] + extra

    @property
    def all_findings(self) -> list[Finding]:
        """Every finding of the run before the advisories: the reader's, then the engine's
        errors (what the Checks sheet of a plan with errors lists)."""
        extra = self.evaluation.errors if self.evaluation is not None else []
        return [*self.findings, *extra]

    @property
    def ok(self) -> bool:
        return not self.errors

    @cached_property
    def figures(self) -> PlanFigures:
        """Every figure of the run, typed: totals, shares, quarters, years, business cases,
        plan vs actual, findings per scenario (with errors: the errors, no scenarios)."""
        return plan_figures(self.plan, self.findings, self.evaluation, self.source.name)

    def summary(self) -> dict[str, Any]:
        """The JSON summary: one rendering of :attr:`figures`."""
        return self.figures.to_json()


def run_plan(path: str | os.PathLike[str],
             actuals: str | os.PathLike[str] | None = None, *,
             csv_decimal: str = "auto") -> PlanRun:
    """Read, check and evaluate a plan workbook, with the actual spend of ``actuals`` (a .csv
    or a workbook's Actuals sheet) instead of the plan's own; never raises for bad input.
    ``csv_decimal``: how a .csv writes its amounts, 'auto' (found from the file), 'comma'
    (5.921,13) or 'point' (5,921.13)."""
    source = Path(path)
    # with an actuals file, the plan as far as it reads even with errors: the file's own
    # problems are then reported in the same run
    plan, findings = load_plan(source) if actuals is None else load_plan(source, partial=True)
    plan_errors = has_errors(findings)
    if plan is not None and actuals is not None:
        plan, more = use_actuals_file(plan, actuals, read_grids, csv_decimal)
        findings += more
    if plan_errors:
        plan = None
    run = PlanRun(source, plan, findings, actuals_file=None if actuals is None else Path(actuals))
    return _evaluated(run)


def run_grids(grids: Mapping[str, SheetGrid], source_name: str, *,
              advisories: bool = True) -> PlanRun:
    """Check and evaluate the plan in ``grids`` (sheet name -> grid: a live book's sheets, a
    custom function's tables); ``source_name`` names it where a plan file's name would go.
    Never raises for bad input.

    ``advisories=False`` leaves out the advisories of the engine (spec §5), for a caller that
    reads figures alone: the figures' findings, and the recommendation that weighs them,
    then lack them.
    """
    plan, findings = parse_plan(grids, source_name)
    run = PlanRun(Path(source_name), plan, findings, from_file=False)
    return _evaluated(run, advisories)


def _evaluated(run: PlanRun, advisories: bool = True) -> PlanRun:
    """``run`` with its evaluation, when the reader found no errors."""
    if run.plan is not None and run.ok:
        run.evaluation = evaluate(run.plan, advisories=advisories)
    return run
