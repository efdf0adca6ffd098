"""Actual spend against a scenario's plan, for the report's Plan vs actual sheet and the
quarterly budgets.

The figures are those of ``core.actuals`` (the JSON's ``actuals``): plan vs actual by month,
quarter, activity and system, each fiscal year's forecast. :class:`ScenarioActuals` keeps them
with the actual rows behind them, so a budget can group the rows of one quarter (by month,
activity or system) the same way. ``through`` is the latest month with an actual row: a month
after it has no actual yet (blank), not an actual of zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from omplan.core.actuals import (
    ActualsFigures,
    QuarterActual,
    actuals_figures,
    actuals_ledger,
    over_budget,
)
from omplan.core.ledger import Evaluation, band_status
from omplan.core.model import ACTIVITY_KIND, MAINTENANCE_ACTIVITIES, OPERATION_ACTIVITIES, Plan
from omplan.core.periods import month_label
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import ChartSpec, ConditionalFormat, PrintSetup, SeriesSpec, Styled

SHEET = "Plan vs actual"
PLAN_COLOUR = st.SERIES_COLOURS["share"]
ACTUAL_COLOUR = st.SERIES_COLOURS["total"]
#: How a forecast is made, said wherever one is shown.
FORECAST_RULE = ("Forecast = actual to date + the plan of the months not yet reported; "
                 "variance = actual − plan of the months reported (positive: over budget), so "
                 "forecast − plan is the variance at completion.")


def pct(part: float | None, whole: float | None) -> float | None:
    """``part / whole``, None when either is missing or ``whole`` is 0."""
    if part is None or whole is None or whole == 0:
        return None
    return part / whole


@dataclass(frozen=True)
class ScenarioActuals:
    """The plan's actual rows against ``scenario``: the figures of ``core.actuals`` and the
    actual rows (one per month, system, activity; ``month`` = fiscal month index)."""

    scenario: str
    figures: ActualsFigures
    rows: pd.DataFrame

    @property
    def through(self) -> int:
        """Fiscal month index of the latest month with an actual row."""
        return self.figures.months[-1].index

    def reported(self, month: int) -> bool:
        """True for a month up to ``through`` (its actual is known, maybe 0)."""
        return month <= self.through

    def through_label(self, horizon: Any) -> str:
        """``Sep 2027``: the latest month with an actual row."""
        return month_label(*horizon.month_of(self.through))

    def quarter(self, k: int) -> QuarterActual | None:
        """The figures of quarter k (None when none of its months is reported)."""
        return next((q for q in self.figures.quarters if q.index == k), None)

    def sum_by(self, months: Sequence[int], key: str | list[str]) -> pd.Series:
        """Actual amounts of ``months`` summed by ``key`` (every category kept)."""
        rows = self.rows[self.rows["month"].isin(list(months))]
        return rows.groupby(key, observed=False)["amount"].sum()

    def total(self, months: Sequence[int]) -> float:
        return float(self.rows.loc[self.rows["month"].isin(list(months)), "amount"].sum())


def scenario_actuals(evaluation: Evaluation, scenario: str,
                     figures: ActualsFigures | None = None) -> ScenarioActuals | None:
    """Actuals against ``scenario``'s plan (None when the plan has no actual rows). With the
    plan's ``budget_scenario`` these are exactly the JSON's ``actuals`` figures: ``figures``,
    when the caller has them (the run's ``PlanFigures.actuals``)."""
    plan = evaluation.plan
    if not plan.actuals or not evaluation.ok:
        return None
    if plan.settings.budget_scenario != scenario:
        plan = replace(plan, settings=replace(plan.settings, budget_scenario=scenario))
        figures = None
    if figures is None:
        figures = actuals_figures(plan, evaluation.ledger)
    if figures is None:
        return None
    return ScenarioActuals(scenario, figures, actuals_ledger(plan, evaluation.ledger))


# --------------------------------------------------------------------------- the sheet


def actuals_sheet(evaluation: Evaluation, scenario: str | None = None,
                  figures: ActualsFigures | None = None) -> SheetBuilder | None:
    """The report's Plan vs actual sheet (None when the plan has no actuals): by month with
    a chart, by quarter with the band check on actual spend, by activity, by system, and the
    forecast of every fiscal year (``figures``: the run's actuals figures, when it has them)."""
    plan = evaluation.plan
    s = plan.settings
    scenario = scenario or s.budget_scenario
    found = scenario_actuals(evaluation, scenario, figures)
    if found is None:
        return None
    fig = found.figures
    horizon = plan.horizon
    currency = s.currency
    low, high = s.band_low, s.band_high
    money, signed, percent = st.MONEY, st.SIGNED_MONEY, st.PERCENT_STYLE
    through = found.through_label(horizon)
    sh = SheetBuilder(SHEET, cursor=5)
    sh.text(1, 1, f"Plan vs actual: {s.plan_name}", st.TITLE_STYLE)
    source = f" · actuals from {fig.source}" if fig.source else ""
    sh.text(2, 1, f"Budget: scenario {scenario} · actuals through {through}{source} · "
                  f"amounts in {currency}", st.SUBTITLE_STYLE)
    sh.text(3, 1, FORECAST_RULE, st.NOTE_STYLE)
    sheet = sh.layout

    # at a glance: to date, and the band check on actual spend
    plan_to_date = sum(q.plan for q in fig.quarters)
    actual_to_date = sum(q.actual for q in fig.quarters)
    operation = sum(q.operation_actual for q in fig.quarters)
    share, status = band_status(operation, actual_to_date, low, high)
    target = plan.target_operation_share()
    glance: list[list[Any]] = [
        ["Budget scenario", scenario],
        ["Actuals through", through],
        ["Plan to date", Styled(plan_to_date, money)],
        ["Actual to date", Styled(actual_to_date, money)],
        ["Variance to date", Styled(actual_to_date - plan_to_date, signed)],
        ["Variance %", Styled(pct(actual_to_date - plan_to_date, plan_to_date),
                              st.SIGNED_PERCENT_STYLE)],
        ["Operation share of actual spend", Styled(share, percent)],
        ["Band", f"{low:.0%} – {high:.0%}"],
        ["Band status of actual spend", status],
        ["Target operation share", Styled(target, percent)],
        ["Share vs target", Styled(st.points_vs(share, target), st.SIGNED_POINTS_STYLE)],
    ]
    block = sh.next_block("glance", glance, [st.KEY_STYLE, st.VALUE_STYLE],
                          title="To date", overflow=True)
    sheet.conditional_formats += [
        ConditionalFormat(block.ref(SHEET, 6, 1), "out of band", outside=(low, high)),
        ConditionalFormat(block.ref(SHEET, 8, 1), "out of band",
                          equals=("operation-heavy", "maintenance-heavy"))]

    # by month, with plan vs actual as clustered columns beside it
    rows: list[list[Any]] = []
    for m in fig.months:
        period = horizon.periods[m.index // 3]
        rows.append([month_label(*horizon.month_of(m.index)), period.label, m.plan, m.actual,
                     m.variance, pct(m.variance, m.plan)])
    n = len(rows)
    rows.append(["Total", "", sum(m.plan for m in fig.months),
                 sum(m.actual for m in fig.months), sum(m.variance for m in fig.months),
                 pct(sum(m.variance for m in fig.months), sum(m.plan for m in fig.months))])
    months = sh.next_block(
        "months", rows, [st.TEXT_STYLE, st.TEXT_STYLE, money, money, signed,
                         st.SIGNED_PERCENT_STYLE],
        header=("Month", "Quarter", "Plan", "Actual", "Variance", "Variance %"),
        title="By month", row_kinds={n: "total"})
    sheet.charts.append(ChartSpec(
        "months", "Plan vs actual by month", months.ref(SHEET, 0, 0, n - 1, 0),
        [SeriesSpec("Plan", months.ref(SHEET, 0, 2, n - 1, 2), PLAN_COLOUR),
         SeriesSpec("Actual", months.ref(SHEET, 0, 3, n - 1, 3), ACTUAL_COLOUR)],
        anchor=(months.row, 8), y_title=currency, y_format="#,##0", y_min=0.0,
        end=(max(months.last_row + 1, months.row + 18), 16)))
    sh.cursor = max(sh.cursor, months.row + 20)

    # by quarter: variance, and the band check on each quarter's actual spend
    rows = []
    for q in fig.quarters:
        rows.append([q.label, f"{q.months} of 3", q.plan, q.actual, q.variance, q.variance_pct,
                     q.operation_share_actual, q.band_status_actual,
                     "over budget" if _over(q, plan) else ""])
    nq = len(rows)
    rows.append(["Total", "", plan_to_date, actual_to_date, actual_to_date - plan_to_date,
                 pct(actual_to_date - plan_to_date, plan_to_date), share, status, ""])
    quarters = sh.next_block(
        "quarters", rows, [st.TEXT_STYLE, st.CENTER_STYLE, money, money, signed,
                           st.SIGNED_PERCENT_STYLE, percent, st.CENTER_STYLE, st.CENTER_STYLE],
        header=("Quarter", "Months reported", "Plan", "Actual", "Variance", "Variance %",
                "Operation share (actual)", "Band status (actual)",
                "Over budget"),
        title=f"By quarter: variance (over budget: more than {s.variance_threshold:.0%} "
              "over the plan) and the band check on actual spend",
        row_kinds={nq: "total"})
    for j in (6, 7):  # the two "(actual)" headers side by side: room for both
        sheet.column_widths[quarters.col + j] = 16.0
    sheet.conditional_formats += [
        ConditionalFormat(quarters.ref(SHEET, 0, 6, nq, 6), "out of band", outside=(low, high)),
        ConditionalFormat(quarters.ref(SHEET, 0, 7, nq, 7), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
        ConditionalFormat(quarters.ref(SHEET, 0, 8, nq, 8), "out of band",
                          equals=("over budget",))]

    # by activity, with operation and maintenance subtotals
    rows, kinds = [], {}
    for kind, acts in (("Operation", OPERATION_ACTIVITIES),
                       ("Maintenance", MAINTENANCE_ACTIVITIES)):
        for a in acts:
            v = fig.by_activity[a]
            rows.append([Styled(a, st.LABEL_STYLE), ACTIVITY_KIND[a].value, v.plan, v.actual,
                         v.variance, pct(v.variance, v.plan)])
        plan_k = sum(fig.by_activity[a].plan for a in acts)
        actual_k = sum(fig.by_activity[a].actual for a in acts)
        kinds[len(rows)] = "subtotal"
        rows.append([kind, "", plan_k, actual_k, actual_k - plan_k,
                     pct(actual_k - plan_k, plan_k)])
    plan_a = sum(v.plan for v in fig.by_activity.values())
    actual_a = sum(v.actual for v in fig.by_activity.values())
    kinds[len(rows)] = "total"
    rows.append(["Total", "", plan_a, actual_a, actual_a - plan_a,
                 pct(actual_a - plan_a, plan_a)])
    sh.next_block("by_activity", rows, [st.TEXT_STYLE, st.TEXT_STYLE, money, money, signed,
                                        st.SIGNED_PERCENT_STYLE],
                  header=("Activity", "Kind", "Plan", "Actual", "Variance", "Variance %"),
                  title=f"By activity, through {through}", row_kinds=kinds)

    # by system: the plan's systems, then those only the actuals name
    planned = {str(x) for x in evaluation.ledger["system"].cat.categories}
    rows = []
    for system, v in fig.by_system.items():
        rows.append([system, v.plan, v.actual, v.variance, pct(v.variance, v.plan),
                     "" if system in planned else "not in the plan"])
    ns = len(rows)
    plan_s = sum(v.plan for v in fig.by_system.values())
    actual_s = sum(v.actual for v in fig.by_system.values())
    rows.append(["Total", plan_s, actual_s, actual_s - plan_s, pct(actual_s - plan_s, plan_s),
                 ""])
    sh.next_block("by_system", rows, [st.TEXT_STYLE, money, money, signed,
                                      st.SIGNED_PERCENT_STYLE, st.TEXT_STYLE],
                  header=("System", "Plan", "Actual", "Variance", "Variance %", "Note"),
                  title=f"By system, through {through}", row_kinds={ns: "total"})

    # every fiscal year: budget, actual to date, forecast at completion
    rows = []
    for y in fig.years:
        rows.append([f"FY{y.fiscal_year}", y.plan, y.actual_to_date,
                     y.forecast - y.actual_to_date, y.forecast, y.variance_at_completion,
                     pct(y.variance_at_completion, y.plan)])
    ny = len(rows)
    if ny > 1:
        totals = [sum(r[j] for r in rows) for j in range(1, 6)]
        rows.append(["Horizon", *totals, pct(totals[4], totals[0])])
    sh.next_block("years", rows, [st.TEXT_STYLE, money, money, money, money, signed,
                                  st.SIGNED_PERCENT_STYLE],
                  header=("Fiscal year", "Budget", "Actual to date", "Remaining plan",
                          "Forecast", "Variance at completion", "Variance at completion %"),
                  title="Forecast by fiscal year", row_kinds={ny: "total"} if ny > 1 else {})
    sh.text(sh.cursor - 1, 1, FORECAST_RULE, st.NOTE_STYLE)
    sheet.freeze = (4, 2)
    sheet.print_setup = PrintSetup(title_rows=(1, 2))
    sheet.tab_colour = st.BLUE
    return sh


def _over(q: QuarterActual, plan: Plan) -> bool:
    """True when the quarter has an ``over-budget`` finding (the core's rule, not a copy)."""
    return bool(over_budget([q], plan, ""))


__all__ = ["ACTUAL_COLOUR", "FORECAST_RULE", "PLAN_COLOUR", "SHEET", "ScenarioActuals",
           "actuals_sheet", "pct", "scenario_actuals"]
