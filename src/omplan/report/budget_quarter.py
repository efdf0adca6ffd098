"""What a quarterly budget is of, and the small pieces its sheets share.

A quarterly budget is one scenario's quarter of a plan (any quarter of its horizon), phased over
the quarter's three calendar months: :class:`QuarterContext` holds the plan facts it states,
:class:`BudgetQuarter` the scenario's quarter figures and ledger rows it is built from. The
monthly figures are the quarter figures split evenly (spec §3 works per quarter: FTE is constant
within a quarter), by :func:`split_quarter`.

Fiscal months: ``fiscal_year`` names the calendar year in which the fiscal year *starts*, so
with ``fy_start_month`` 4, FY2027 runs Apr 2027 – Mar 2028 and its Q4 is Jan–Mar 2028
(docs/batch.md). With ``fy_start_month`` 1 the fiscal year is the calendar year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from omplan.core.model import QUARTERS, Plan
from omplan.core.periods import Period, month_label, parse_quarter, quarter_month_labels
from omplan.core.summary import PeriodFigures
from omplan.report import styles as st
from omplan.report.actuals import ScenarioActuals, pct
from omplan.report.errors import ReportError
from omplan.report.layout import Styled

NO_ROLE = "Coordination and other costs"
IN_HOUSE_STAFF = "In-house staff"
FY_CONVENTION = (
    "Fiscal years are named by the calendar year in which they start: with the fiscal year "
    "starting in April, FY2027 runs Apr 2027 – Mar 2028 and its Q4 is Jan–Mar 2028. With "
    "fy_start_month 1 the fiscal year is the calendar year."
)
MONTH_SPLIT = (
    "The plan is quarterly (FTE per quarter), so each quarter is split evenly over its three "
    "months: month 1 = month 2 = quarter / 3 and month 3 = quarter − (month 1 + month 2), so "
    "the three months add up to the quarter exactly."
)
VALUES_NOTE = ("Every cell holds a value (no formulas); amounts are sums of the Ledger sheet "
               "(the scenario's rows of this quarter), shares are operation / total.")

NOT_AVAILABLE = "—"  # a comparison the horizon (or the actuals) does not have
SIGN_OFF = ("Prepared by", "Reviewed by", "Approved by", "Date", "Version", "Status")
STATUSES = ("Draft", "Final")




def split_quarter(amount: float) -> tuple[float, float, float]:
    """A quarter's amount over its three months, adding up to ``amount`` exactly.

    m1 = m2 = amount / 3 and m3 = amount − 2·m1. 2·m1 is exact and lies within a factor of two
    of ``amount``, so the subtraction is exact (Sterbenz) and (m1 + m2) + m3 == amount in
    float arithmetic, as Excel's SUM and Python's ``sum`` add them (left to right).
    """
    amount = float(amount)
    m1 = amount / 3
    return m1, m1, amount - (m1 + m1)



def num(value: Any) -> float:
    """A figure of a group-by (a numpy number) as a float."""
    return float(value)


def share_of(part: float, whole: float) -> float | None:
    """``part`` / ``whole``, None when ``whole`` is 0."""
    return None if whole == 0 else part / whole


def phased(amount: float) -> list[float]:
    """[m1, m2, m3, quarter]: the quarter's amount and its monthly phasing."""
    return [*split_quarter(amount), float(amount)]


def month_span(first: str, last: str) -> str:
    """``Apr–Jun 2027`` for months of one year, ``Nov 2027–Jan 2028`` across a year end."""
    (m0, y0), (m1, y1) = first.split(), last.split()
    return f"{m0}–{m1} {y1}" if y0 == y1 else f"{first}–{last}"


def kind_row(frame: pd.DataFrame, key: Any) -> tuple[float, float, float]:
    """(operation, maintenance, total) of ``key`` in a ``kind_totals`` frame (0 if absent)."""
    if key not in frame.index:
        return 0.0, 0.0, 0.0
    row = frame.loc[key]
    return num(row["operation"]), num(row["maintenance"]), num(row["total"])



def difference(now: float | None, before: float | None) -> tuple[Any, Any]:
    """(change, change %) of a figure against an earlier one; "—" where one is missing."""
    if now is None or before is None:
        return NOT_AVAILABLE, NOT_AVAILABLE
    return now - before, pct(now - before, before)


def cell(value: Any, style: str) -> Any:
    """A value in ``style``, or "—" (centred) where there is none."""
    if value is None or value == NOT_AVAILABLE:
        return na()
    return Styled(value, style)


def na() -> Styled:
    """A comparison the horizon (or the actuals) does not have: "—", centred."""
    return Styled(NOT_AVAILABLE, st.CENTER_STYLE)



@dataclass(frozen=True, slots=True)
class QuarterContext:
    """What the quarterly budget is of: plan facts, scenario, quarter, months."""

    plan_name: str
    scenario: str
    quarter: str
    fiscal_year: int
    fy_start_month: int
    currency: str
    band_low: float
    band_high: float
    target: float

    @property
    def months(self) -> list[str]:
        return quarter_month_labels(self.fiscal_year, self.fy_start_month, self.quarter)

    @property
    def label(self) -> str:
        """``Q1 FY2027``."""
        return f"{self.quarter} FY{self.fiscal_year}"


def period_of(plan: Plan, quarter: int | str) -> Period:
    """The period a quarterly budget is of: an index k into the plan's horizon, ``Q2``
    (quarter 2 of the first fiscal year) or ``FY2028 Q2`` (read by
    :func:`omplan.core.periods.parse_quarter`); ReportError outside the horizon."""
    horizon = plan.horizon
    if isinstance(quarter, int):
        if not 0 <= quarter < len(horizon):
            raise ReportError(f"quarter index {quarter} is outside the plan's horizon")
        return horizon.periods[quarter]
    if parse_quarter(quarter) is None:
        raise ReportError(f"{quarter!r} is not a quarter (Q1..Q4 or FY<year> Q<n>)")
    period = horizon.period_named(quarter)
    if period is None:
        raise ReportError(f"{quarter!r} is outside the plan's horizon")
    return period


@dataclass
class BudgetQuarter:
    """One quarterly budget's inputs: the scenario's quarters over the horizon, its ledger rows
    (whole horizon, the quarter's fiscal year, the quarter) and its actuals (or None)."""

    plan: Plan
    ctx: QuarterContext
    period: Period
    quarters: list[PeriodFigures]
    led_s: pd.DataFrame
    led_y: pd.DataFrame
    led_q: pd.DataFrame
    actuals: ScenarioActuals | None

    @property
    def k(self) -> int:
        return self.period.index

    @property
    def month_indexes(self) -> list[int]:
        """Fiscal month indexes i of the quarter's three months."""
        return [3 * self.k + j for j in range(3)]

    @property
    def year_quarters(self) -> range:
        """Indexes k of the quarter's fiscal year, Q1 through this quarter."""
        return range(4 * self.period.year_index, self.k + 1)

    def label(self, k: int) -> str:
        """``Q2 FY2027`` for quarter k, also before or after the horizon."""
        first = self.plan.horizon.first_fiscal_year
        return f"{QUARTERS[k % 4]} FY{first + k // 4}"

    def figures(self, k: int) -> PeriodFigures | None:
        return self.quarters[k] if 0 <= k < len(self.quarters) else None

    @property
    def months_reported(self) -> int:
        """How many of the quarter's three months are reported (0 without actuals)."""
        a = self.actuals
        return 0 if a is None else sum(a.reported(i) for i in self.month_indexes)

    @property
    def partial(self) -> bool:
        """True for a partly reported quarter: its plan to date is not its plan, and it is
        compared with the same months of other quarters."""
        return 0 < self.months_reported < 3

    def months_label(self, k: int, n: int = 3) -> str:
        """``Jul–Aug 2028``: the first ``n`` calendar months of quarter k (also before the
        horizon); ``Jul 2028`` for one month."""
        horizon = self.plan.horizon
        first = month_label(*horizon.month_of(3 * k))
        last = month_label(*horizon.month_of(3 * k + n - 1))
        return first if n == 1 else month_span(first, last)

    def first_months(self, k: int, n: int) -> tuple[float, float] | None:
        """(plan, actual) of the first ``n`` months of quarter k as the actuals' months give
        them (the JSON's ``actuals.months``); None outside the horizon or without actuals."""
        a = self.actuals
        if a is None or self.figures(k) is None:
            return None
        months = [m for m in a.figures.months if 3 * k <= m.index < 3 * k + n]
        if len(months) < n:  # not reported that far
            return None
        return sum(m.plan for m in months), sum(m.actual for m in months)

    def fte(self, k: int, by: str | list[str]) -> pd.Series:
        """The scenario's FTE in quarter k by ``by`` (the ledger's labour rows)."""
        labels = self.plan.horizon.labels
        rows = self.led_s[(self.led_s["quarter"] == labels[k])
                          & (self.led_s["component"] == "labour")]
        return rows.groupby(by, observed=False)["fte"].sum()

