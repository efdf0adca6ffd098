"""The quarterly budget and rollup workbooks, by their former address: the budget is
:mod:`omplan.report.budget` (with :mod:`~omplan.report.budget_quarter` and
:mod:`~omplan.report.budget_tables`), the rollup :mod:`omplan.report.rollup`, the batch's file
names :mod:`omplan.report.file_names`. Kept for importers not yet moved to those modules.
"""

from __future__ import annotations

from omplan.core.periods import (
    fiscal_months,
    fiscal_year_span,
    month_label,
    quarter_month_labels,
)
from omplan.report.budget import (
    build_quarter_layout,
    no_actuals_note,
    quarter_actuals,
    quarter_figures,
)
from omplan.report.budget_quarter import (
    FY_CONVENTION,
    MONTH_SPLIT,
    SIGN_OFF,
    QuarterContext,
    period_of,
    split_quarter,
)
from omplan.report.file_names import output_name, rollup_name
from omplan.report.rollup import FailedPlan, RollupLine, build_rollup_layout, rollup_totals

__all__ = [
    "FY_CONVENTION", "MONTH_SPLIT", "SIGN_OFF", "FailedPlan", "QuarterContext", "RollupLine",
    "build_quarter_layout", "build_rollup_layout", "fiscal_months", "fiscal_year_span",
    "month_label", "no_actuals_note", "output_name", "period_of", "quarter_actuals",
    "quarter_figures", "quarter_month_labels", "rollup_name", "rollup_totals", "split_quarter",
]
