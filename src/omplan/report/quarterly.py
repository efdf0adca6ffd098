"""Quarterly budget and rollup workbooks as layout data (pure: no files, no openpyxl).

A quarterly budget is one scenario's quarter of a plan (any quarter of its horizon), phased
over the quarter's three calendar months; a rollup puts the quarter figures of many plans
(business units) side by side, per fiscal year and currency. Every figure is a group-by of
the engine's ledger (``summary.pivot`` / ``kind_totals`` / ``scenario_summary``); the monthly
figures are the quarter figures split evenly (spec §3 works per quarter: FTE is constant
within a quarter).

Fiscal months: ``fiscal_year`` names the calendar year in which the fiscal year *starts*, so
with ``fy_start_month`` 4, FY2027 runs Apr 2027 – Mar 2028 and its Q4 is Jan–Mar 2028
(docs/batch.md). With ``fy_start_month`` 1 the fiscal year is the calendar year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status, kind_totals, pivot
from omplan.core.model import (
    ACTIVITIES,
    EXTERNAL_SOURCINGS,
    FIXED_FEE,
    LEVEL_GUIDANCE,
    LEVELS,
    MAINTENANCE_ACTIVITIES,
    OPERATION_ACTIVITIES,
    QUARTERS,
    SEPARATE_ESTIMATE,
    SOURCINGS,
    Plan,
    level_label,
)
from omplan.core.periods import (
    Period,
    fiscal_months,
    fiscal_year_span,
    month_label,
    quarter_month_labels,
)
from omplan.core.summary import PeriodFigures, billing_split, scenario_quarters
from omplan.report import styles as st
from omplan.report.actuals import (
    ACTUAL_COLOUR,
    FORECAST_RULE,
    PLAN_COLOUR,
    ScenarioActuals,
    pct,
    scenario_actuals,
)
from omplan.report.builder import SheetBuilder
from omplan.report.common import checks_sheet, ledger_sheet, provenance_rows, settings_rows
from omplan.report.layout import (
    Block,
    ChartSpec,
    ConditionalFormat,
    PrintSetup,
    Ref,
    ReportLayout,
    SeriesSpec,
    SourceInfo,
    Styled,
    Validation,
)

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


# --------------------------------------------------------------------------- calendar


def split_quarter(amount: float) -> tuple[float, float, float]:
    """A quarter's amount over its three months, adding up to ``amount`` exactly.

    m1 = m2 = amount / 3 and m3 = amount − 2·m1. 2·m1 is exact and lies within a factor of two
    of ``amount``, so the subtraction is exact (Sterbenz) and (m1 + m2) + m3 == amount in
    float arithmetic, as Excel's SUM and Python's ``sum`` add them (left to right).
    """
    amount = float(amount)
    m1 = amount / 3
    return m1, m1, amount - (m1 + m1)


def output_name(stem: str, fiscal_year: int, quarter: str) -> str:
    """``<plan stem>_FY<year>_Q<n>.xlsx``."""
    return f"{stem}_FY{fiscal_year}_{quarter}.xlsx"


def rollup_name(fiscal_year: int, quarter: str, currency: str | None = None) -> str:
    """``rollup_FY<year>_Q<n>.xlsx``, with ``_<CUR>`` when a batch mixes currencies."""
    suffix = f"_{currency}" if currency else ""
    return f"rollup_FY{fiscal_year}_{quarter}{suffix}.xlsx"


# --------------------------------------------------------------------------- figures


def quarter_figures(evaluation: Evaluation, scenario: str) -> list[PeriodFigures]:
    """Every quarter of a scenario over the horizon, exactly as the JSON summary's
    ``quarters``."""
    return scenario_quarters(evaluation, scenario)


# --------------------------------------------------------------------------- sheet helper


def _f(value: Any) -> float:
    return float(value)


def _share(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def _phased(amount: float) -> list[float]:
    """[m1, m2, m3, quarter]: the quarter's amount and its monthly phasing."""
    return [*split_quarter(amount), float(amount)]


def month_span(first: str, last: str) -> str:
    """``Apr–Jun 2027`` for months of one year, ``Nov 2027–Jan 2028`` across a year end."""
    (m0, y0), (m1, y1) = first.split(), last.split()
    return f"{m0}–{m1} {y1}" if y0 == y1 else f"{first}–{last}"


def _kind_row(frame: pd.DataFrame, key: Any) -> tuple[float, float, float]:
    """(operation, maintenance, total) of ``key`` in a ``kind_totals`` frame (0 if absent)."""
    if key not in frame.index:
        return 0.0, 0.0, 0.0
    row = frame.loc[key]
    return _f(row["operation"]), _f(row["maintenance"]), _f(row["total"])


# --------------------------------------------------------------------------- quarterly budget


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
    (quarter 2 of the first fiscal year) or ``FY2028 Q2``; ValueError outside the horizon."""
    horizon = plan.horizon
    if isinstance(quarter, int):
        if not 0 <= quarter < len(horizon):
            raise ValueError(f"quarter index {quarter} is outside the plan's horizon")
        return horizon.periods[quarter]
    text = quarter.strip().upper()
    year = horizon.first_fiscal_year
    if text.startswith("FY"):
        head, _, text = text[2:].partition(" ")
        year = int(head) if head.isdigit() else -1
    if text not in QUARTERS:
        raise ValueError(f"{quarter!r} is not a quarter (Q1..Q4 or FY<year> Q<n>)")
    period = horizon.period_of(year, QUARTERS.index(text) + 1)
    if period is None:
        raise ValueError(f"{quarter!r} is outside the plan's horizon")
    return period


def quarter_actuals(actuals: ScenarioActuals | None, quarters: Sequence[PeriodFigures],
                    period: Period) -> dict[str, Any] | None:
    """Plan vs actual of one budgeted quarter as the batch report and rollups carry it: the
    quarter's figures (the JSON's ``actuals.quarters``; its plan counts the months reported),
    its forecast (plan + variance) and its fiscal year's (``actuals.years``). None without
    actuals."""
    if actuals is None:
        return None
    qa = actuals.quarter(period.index)
    year = actuals.figures.years[period.year_index]
    variance = qa.variance if qa is not None else None
    return {
        "through": actuals.figures.through,
        "months_reported": qa.months if qa is not None else 0,
        "plan_to_date": qa.plan if qa is not None else 0.0,
        "actual": qa.actual if qa is not None else None,
        "variance": variance,
        "variance_pct": qa.variance_pct if qa is not None else None,
        "forecast": quarters[period.index].total + (variance or 0.0),
        "fiscal_year_plan": year.plan,
        "actual_to_date": year.actual_to_date,
        "fiscal_year_forecast": year.forecast,
        "variance_at_completion": year.variance_at_completion,
    }


NOT_AVAILABLE = "—"  # a comparison the horizon (or the actuals) does not have
SIGN_OFF = ("Prepared by", "Reviewed by", "Approved by", "Date", "Version", "Status")
STATUSES = ("Draft", "Final")


def no_actuals_note(stem: str = "") -> str:
    """What a budget without actual spend says, and how to add it."""
    beside = f"{stem}.actuals.xlsx or {stem}.actuals.csv" if stem else \
        "<plan>.actuals.xlsx or <plan>.actuals.csv"
    return ("No actual spend for this plan: the budget shows the plan only. Put an Actuals "
            f"sheet in the plan, or a file {beside} beside it, to see actual, variance and "
            "forecast.")


@dataclass
class _Quarter:
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

    def fte(self, k: int, by: str | list[str]) -> pd.Series:
        """The scenario's FTE in quarter k by ``by`` (the ledger's labour rows)."""
        labels = self.plan.horizon.labels
        rows = self.led_s[(self.led_s["quarter"] == labels[k])
                          & (self.led_s["component"] == "labour")]
        return rows.groupby(by, observed=False)["fte"].sum()


def build_quarter_layout(evaluation: Evaluation, scenario: str, quarter: int | str, *,
                         input_findings: Sequence[Finding] = (),
                         source: SourceInfo | None = None,
                         generated: datetime | None = None, version: str = "",
                         generated_note: str = "",
                         quarters: Sequence[PeriodFigures] | None = None,
                         actuals: ScenarioActuals | None = None) -> ReportLayout:
    """The quarterly budget workbook of ``scenario`` and ``quarter`` (see :func:`period_of`):
    Budget, Ledger, Checks, About. ``quarters`` are the scenario's quarter figures over the
    horizon and ``actuals`` the plan's actuals against the scenario (both computed when not
    given). With actual rows the Budget shows actual, variance and forecast; without, the
    plan only."""
    if not evaluation.ok:
        raise ValueError("the plan has errors: there are no figures to report")
    plan = evaluation.plan
    if scenario not in plan.scenario_names:
        raise ValueError(f"the plan has no scenario {scenario!r}")
    period = period_of(plan, quarter)
    s = plan.settings
    ctx = QuarterContext(s.plan_name, scenario, period.name, period.fiscal_year,
                         s.fy_start_month, s.currency, s.band_low, s.band_high,
                         plan.target_operation_share())
    quarters = list(quarters) if quarters is not None else quarter_figures(evaluation, scenario)
    generated = generated or datetime(1980, 1, 1)
    source = source or SourceInfo(plan.source_name)
    led = evaluation.ledger
    led_s = led[led["scenario"] == scenario]
    labels = plan.horizon.labels
    year = period.year_index
    # the fiscal year of the quarter (the whole horizon when it is one year: same rows)
    led_y = led_s[led_s["quarter"].isin(labels[4 * year: 4 * year + 4])]
    led_q = led_s[led_s["quarter"] == labels[period.index]]
    if actuals is None:
        actuals = scenario_actuals(evaluation, scenario)
    q = _Quarter(plan, ctx, period, quarters, led_s, led_y, led_q, actuals)
    findings = [f for f in input_findings if f.severity != "error"]
    findings += evaluation.scenario_findings.get(scenario, [])
    if actuals is not None:  # over-budget quarters, once
        findings += [f for f in actuals.figures.findings if f not in findings]
    stem = source.name.rsplit(".", 1)[0] if source.name else ""
    sheets = [
        _budget_sheet(q, stem).finish(ctx.currency, {1: 30.0}),
        ledger_sheet(led_q, ctx.currency).layout,
        checks_sheet(findings, wrap=False).finish(ctx.currency, {4: 90.0}),
        _about_sheet(plan, ctx, source, generated, version, generated_note, actuals).finish(
            ctx.currency, {1: 26.0, 2: 60.0}),
    ]
    title = f"{ctx.label} budget ({scenario}): {s.plan_name}"
    return ReportLayout(sheets, st.report_styles(ctx.currency), dict(st.HIGHLIGHTS), title,
                        generated)


def _budget_sheet(q: _Quarter, stem: str) -> SheetBuilder:
    """The Budget sheet: headline figures and sign-off, comparisons, the quarter by activity
    and month (plan, actual, variance), FTE, then the plan's breakdowns and the year to date."""
    ctx = q.ctx
    name = "Budget"
    sh = SheetBuilder(name, cursor=5)
    months = ctx.months
    sh.text(1, 1, f"{ctx.plan_name}: {ctx.label} budget", st.TITLE_STYLE)
    sh.text(2, 1, f"Scenario {ctx.scenario} · {months[0]} – {months[2]} · amounts in "
                  f"{ctx.currency} · FY{ctx.fiscal_year} runs "
                  f"{fiscal_year_span(ctx.fiscal_year, ctx.fy_start_month)}",
            st.SUBTITLE_STYLE)
    sh.text(3, 1, _status_line(q, stem), st.NOTE_STYLE)
    _summary_blocks(sh, q)
    _comparison_block(sh, q)
    if q.actuals is not None:
        _plan_vs_actual_blocks(sh, q)
    else:
        _plan_by_month_block(sh, q)
    _fte_block(sh, q)
    _breakdown_blocks(sh, q)
    _year_to_date_block(sh, q)
    notes = [MONTH_SPLIT, FY_CONVENTION] + ([FORECAST_RULE] if q.actuals is not None else [])
    for i, note in enumerate(notes):
        sh.text(sh.cursor + i, 1, note, st.NOTE_STYLE)
    sheet = sh.layout
    sheet.freeze = (4, 2)
    last_col = max([sheet.max_col, *(c.end[1] - 1 for c in sheet.charts if c.end)])
    sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                   area=Ref(name, 1, 1, sh.cursor + len(notes) - 1, last_col))
    sheet.tab_colour = st.NAVY
    return sh


def _status_line(q: _Quarter, stem: str) -> str:
    """Row 3: how far the actuals go, or that there are none."""
    a = q.actuals
    if a is None:
        return no_actuals_note(stem)
    horizon = q.plan.horizon
    through = a.through_label(horizon)
    source = f" from {a.figures.source}" if a.figures.source else ""
    reported = [i for i in q.month_indexes if a.reported(i)]
    if len(reported) == 3:
        state = f"{q.ctx.label} is complete"
    elif reported:
        rest = ", ".join(q.ctx.months[len(reported):])
        state = (f"{rest} not reported yet: the variance compares the months reported and the "
                 "forecast takes the plan for the rest")
    else:
        state = f"no month of {q.ctx.label} is reported yet: the forecast is the plan"
    budget = q.plan.settings.budget_scenario
    other = (f" Actuals are compared with this budget's scenario, {q.ctx.scenario} (the "
             f"plan's budget_scenario is {budget})." if budget != q.ctx.scenario else "")
    return f"Actuals through {through}{source}; {state}.{other}"


def _input_cells(n: int) -> list[Styled]:
    return [Styled(None, st.INPUT_STYLE) for _ in range(n)]


def _summary_blocks(sh: SheetBuilder, q: _Quarter) -> None:
    """Budget summary (the quarter, year to date, full year) with Notes, and the sign-off
    block beside it."""
    ctx, a = q.ctx, q.actuals
    name = sh.layout.name
    y0 = 4 * q.period.year_index
    scopes = [  # label, quarters k, the whole fiscal year?
        (ctx.label, [q.k], False),
        (f"Year to date (Q1–{ctx.quarter})", list(q.year_quarters), False),
        (f"FY{ctx.fiscal_year} full year", list(range(y0, y0 + 4)), True),
    ]
    money, signed = st.AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE
    rows: list[list[Any]] = []
    if a is None:
        for label, ks, _ in scopes:
            total = sum(q.quarters[k].total for k in ks)
            operation = sum(q.quarters[k].operation for k in ks)
            share, status = band_status(operation, total, ctx.band_low, ctx.band_high)
            rows.append([label, total, operation, total - operation, share, status,
                         Styled(None, st.INPUT_STYLE)])
        header: tuple[str, ...] = (f"Budget ({ctx.currency})", "Plan", "Operation",
                                   "Maintenance", "Operation share", "Band status", "Notes")
        styles = [st.KEY_STYLE, money, money, money, st.PERCENT_STYLE, st.CENTER_STYLE,
                  st.INPUT_STYLE]
    else:
        for label, ks, whole_year in scopes:
            plan_total = sum(q.quarters[k].total for k in ks)
            reported = [x for x in (a.quarter(k) for k in ks) if x is not None]
            if not reported:
                rows.append([label, plan_total, None, None, None, plan_total, 0.0,
                             Styled(None, st.INPUT_STYLE)])
                continue
            actual = sum(x.actual for x in reported)
            variance = sum(x.variance for x in reported)
            forecast = plan_total + variance
            if whole_year:  # the core's actual to date and forecast, as the JSON has them
                year = a.figures.years[q.period.year_index]
                actual, forecast = year.actual_to_date, year.forecast
            rows.append([label, plan_total, actual, variance,
                         pct(variance, sum(x.plan for x in reported)), forecast,
                         forecast - plan_total, Styled(None, st.INPUT_STYLE)])
        header = (f"Budget ({ctx.currency})", "Plan", "Actual", "Variance", "Variance %",
                  "Forecast", "Variance at completion", "Notes")
        styles = [st.KEY_STYLE, money, money, signed, st.SIGNED_PERCENT_STYLE, money, signed,
                  st.INPUT_STYLE]
    top = sh.cursor
    summary = sh.next_block("summary", rows, styles, header=header, title="Budget summary",
                            span=2, gap=1)
    sh.wrap_rows(summary, len(styles) - 1)
    if a is None:
        sh.layout.conditional_formats += [
            ConditionalFormat(summary.ref(name, 0, 4, 2, 4), "out of band",
                              outside=(ctx.band_low, ctx.band_high)),
            ConditionalFormat(summary.ref(name, 0, 5, 2, 5), "out of band",
                              equals=("operation-heavy", "maintenance-heavy"))]
    # sign-off beside the summary: cells to fill in, Status a Draft / Final drop-down
    values: list[Any] = [None] * len(SIGN_OFF)
    values[SIGN_OFF.index("Status")] = STATUSES[0]
    rows = [[label, Styled(value, st.INPUT_DATE_STYLE if label == "Date" else st.INPUT_STYLE)]
            for label, value in zip(SIGN_OFF, values, strict=True)]
    col = summary.last_col + 2
    block = sh.add(Block("sign_off", top + 1, col, rows, [st.KEY_STYLE, st.INPUT_STYLE],
                         header=("Sign-off", "Name, date or choice"), span=3), gap=1)
    sh.layout.validations += [
        Validation(block.ref(name, SIGN_OFF.index("Status"), 1), choices=STATUSES,
                   prompt="Draft while the budget is being prepared, Final once approved."),
        Validation(block.ref(name, SIGN_OFF.index("Date"), 1), date=True,
                   prompt="The date of approval, e.g. 2027-07-15.")]
    sh.layout.column_widths.setdefault(col, 14.0)


def _change(now: float | None, before: float | None) -> tuple[Any, Any]:
    """(change, change %) of a figure against an earlier one; "—" where one is missing."""
    if now is None or before is None:
        return NOT_AVAILABLE, NOT_AVAILABLE
    return now - before, pct(now - before, before)


def _comparison_block(sh: SheetBuilder, q: _Quarter) -> None:
    """This quarter against the previous one and the same quarter of the previous year."""
    a = q.actuals
    others = [q.k - 1, q.k - 4]

    def values(k: int) -> dict[str, float | None]:
        fig = q.figures(k)
        if fig is None:
            return {}
        out: dict[str, float | None] = {
            "Plan": fig.total, "Operation": fig.operation, "Maintenance": fig.maintenance,
            "Operation share": fig.operation_share, "FTE": fig.fte}
        if a is not None:
            qa = a.quarter(k)
            out["Actual"] = qa.actual if qa is not None else None
            out["Variance"] = qa.variance if qa is not None else None
        return out

    now = values(q.k)
    before = [values(k) for k in others]
    keys = ["Plan", *(["Actual", "Variance"] if a is not None else []), "Operation",
            "Maintenance", "Operation share", "FTE"]
    money, signed = st.AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE
    rows: list[list[Any]] = []
    for key in keys:
        share, fte = key == "Operation share", key == "FTE"
        value_style = (st.PERCENT_STYLE if share else st.FTE_STYLE if fte else
                       signed if key == "Variance" else money)
        change_style = (st.SIGNED_POINTS_STYLE if share else st.SIGNED_FTE_STYLE if fte
                        else signed)
        row: list[Any] = [key, _cell(now.get(key), value_style)]
        for other in before:
            if not other:
                row += [_na(), _na(), _na()]
                continue
            was = other.get(key)
            if share:
                change = (NOT_AVAILABLE if now.get(key) is None or was is None
                          else st.points_vs(now.get(key), was or 0.0))
                row += [_cell(was, value_style), _cell(change, change_style), _na()]
                continue
            change, change_pct = _change(now.get(key), was)
            row += [_cell(was, value_style), _cell(change, change_style),
                    _cell(change_pct, st.SIGNED_PERCENT_STYLE)]
        rows.append(row)
    prev, last = (q.label(k) for k in others)
    sh.next_block(
        "comparison", rows,
        [st.KEY_STYLE, money, money, signed, st.SIGNED_PERCENT_STYLE, money, signed,
         st.SIGNED_PERCENT_STYLE],
        header=(f"Against ({q.ctx.currency})", q.ctx.label, prev, "Change", "Change %", last,
                "Change", "Change %"),
        title=f"Against the previous quarter ({prev}) and the same quarter last year ({last})")


def _cell(value: Any, style: str) -> Any:
    """A value in ``style``, or "—" (centred) where there is none."""
    if value is None or value == NOT_AVAILABLE:
        return _na()
    return Styled(value, style)


def _na() -> Styled:
    return Styled(NOT_AVAILABLE, st.CENTER_STYLE)


def _plan_by_month_block(sh: SheetBuilder, q: _Quarter) -> None:
    """Plan only: activity × month with operation and maintenance subtotals (spec §3.8), a
    Notes column, and the stacked chart of operation vs maintenance by month."""
    ctx, name = q.ctx, sh.layout.name
    qfig = q.quarters[q.k]
    low, high = ctx.band_low, ctx.band_high
    money = st.AMOUNT_STYLE
    by_activity = pivot(q.led_q, "activity")
    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("operation", OPERATION_ACTIVITIES),
                       ("maintenance", MAINTENANCE_ACTIVITIES)):
        for act in acts:
            rows.append([Styled(act, st.LABEL_STYLE), *_phased(_f(by_activity.get(act, 0.0))),
                         None])
        kinds[len(rows)] = "subtotal"
        rows.append([kind.capitalize(), *_phased(getattr(qfig, kind)), None])
    kinds[len(rows)] = "total"
    rows.append(["Total", *_phased(qfig.total), None])
    op_i, mt_i, tot_i = len(OPERATION_ACTIVITIES), len(ACTIVITIES) + 1, len(ACTIVITIES) + 2
    share_i = len(rows)
    month_shares = [_share(rows[op_i][j], rows[tot_i][j]) for j in range(1, 4)]
    statuses = [band_status(rows[op_i][j], rows[tot_i][j], low, high)[1] for j in range(1, 4)]
    rows.append([Styled("Operation share", st.KEY_STYLE),
                 *(Styled(v, st.PERCENT_STYLE) for v in (*month_shares, qfig.operation_share)),
                 None])
    rows.append([Styled("Band status", st.KEY_STYLE),
                 *(Styled(v, st.CENTER_STYLE) for v in (*statuses, qfig.band_status)), None])
    matrix = sh.next_block("activity_month", rows,
                           [st.TEXT_STYLE, money, money, money, money, st.INPUT_STYLE],
                           header=("Activity", *ctx.months, ctx.quarter, "Notes"),
                           row_kinds=kinds, span=2,
                           title=f"Plan by activity and month ({ctx.currency})")
    sh.layout.conditional_formats += [
        ConditionalFormat(matrix.ref(name, share_i, 1, share_i, 4), "out of band",
                          outside=(low, high)),
        ConditionalFormat(matrix.ref(name, share_i + 1, 1, share_i + 1, 4), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]
    colours = st.SERIES_COLOURS
    sh.layout.charts.append(ChartSpec(
        "months", "Operation vs maintenance by month", matrix.header_ref(name, 1, 3),
        [SeriesSpec("Operation", matrix.ref(name, op_i, 1, op_i, 3), colours["operation"]),
         SeriesSpec("Maintenance", matrix.ref(name, mt_i, 1, mt_i, 3),
                    colours["maintenance"])],
        anchor=(matrix.row, 9), stacked=True, y_title=ctx.currency, y_format="#,##0",
        y_min=0.0, end=(matrix.last_row + 1, 16)))


def _plan_vs_actual_blocks(sh: SheetBuilder, q: _Quarter) -> None:
    """Actuals: activity × month with plan, actual and variance per month and for the
    quarter, and a Notes column; then the three months with the band check on actual spend
    and a chart of plan vs actual."""
    a = q.actuals
    assert a is not None
    ctx, name = q.ctx, sh.layout.name
    low, high = ctx.band_low, ctx.band_high
    qa = a.quarter(q.k)
    idx = q.month_indexes
    reported = [a.reported(i) for i in idx]
    by_activity = pivot(q.led_q, "activity")
    actual = a.sum_by(idx, ["activity", "month"])
    money, signed = st.AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE

    def line(plan_q: float, actual_m: list[float]) -> list[Any]:
        """Per month plan, actual, variance; then the quarter's plan, actual, variance, %."""
        plan_m = split_quarter(plan_q)
        out: list[Any] = []
        for j in range(3):
            if reported[j]:
                out += [plan_m[j], actual_m[j], actual_m[j] - plan_m[j]]
            else:
                out += [plan_m[j], _na(), _na()]
        n = sum(reported)
        if not n:
            return [*out, plan_q, _na(), _na(), _na()]
        plan_to_date = sum(plan_m[j] for j in range(3) if reported[j])
        act = sum(actual_m[j] for j in range(3) if reported[j])
        return [*out, plan_q, act, act - plan_to_date, pct(act - plan_to_date, plan_to_date)]

    def actual_of(acts: Sequence[str]) -> list[float]:
        return [sum(_f(actual.get((act, i), 0.0)) for act in acts) for i in idx]

    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("Operation", OPERATION_ACTIVITIES),
                       ("Maintenance", MAINTENANCE_ACTIVITIES)):
        for act in acts:
            rows.append([Styled(act, st.LABEL_STYLE),
                         *line(_f(by_activity.get(act, 0.0)), actual_of([act])), None])
        kinds[len(rows)] = "subtotal"
        rows.append([kind, *line(sum(_f(by_activity.get(x, 0.0)) for x in acts),
                                 actual_of(acts)), None])
    kinds[len(rows)] = "total"
    total = line(q.quarters[q.k].total, actual_of(ACTIVITIES))
    if qa is not None:  # the quarter's figures exactly as the JSON's actuals give them
        total[10:13] = [qa.actual, qa.variance, qa.variance_pct]
    rows.append(["Total", *total, None])
    # a row of group labels (the months, the quarter) over short column headers
    groups = [(m, 3) for m in ctx.months] + [(ctx.label, 4)]
    header = ["Activity", *(["Plan", "Actual", "Variance"] * 3),
              "Plan", "Actual", "Variance", "Variance %", "Notes"]
    styles = [st.TEXT_STYLE, *[money, money, signed] * 3, money, money, signed,
              st.SIGNED_PERCENT_STYLE, st.INPUT_STYLE]
    top = sh.cursor
    sh.text(top, 1, f"Plan vs actual by activity and month ({ctx.currency})", st.SECTION_STYLE)
    col = 2
    for label, width in groups:  # centred on the group's second column
        for j in range(width):
            sh.text(top + 1, col + j, label if j == 1 else None, st.HEADER_CENTER_STYLE)
        col += width
    block = sh.add(Block("plan_vs_actual", top + 2, 1, rows, styles, header=header,
                         row_kinds=kinds))
    sh.layout.column_widths[block.col + len(styles) - 1] = 30.0
    threshold = q.plan.settings.variance_threshold
    sh.layout.conditional_formats.append(ConditionalFormat(
        block.ref(name, 0, 13, len(rows) - 1, 13), "out of band", outside=(-1e300, threshold)))

    # the months: plan, actual and the band check on actual spend
    operation = a.sum_by(idx, ["kind", "month"])
    plan_m = split_quarter(q.quarters[q.k].total)
    mrows: list[list[Any]] = []
    for j, i in enumerate(idx):
        if not reported[j]:
            mrows.append([ctx.months[j], plan_m[j], _na(), _na(), _na(), _na(), _na()])
            continue
        spent = a.figures.months[i].actual
        share, status = band_status(_f(operation.get(("operation", i), 0.0)), spent, low, high)
        mrows.append([ctx.months[j], plan_m[j], spent, spent - plan_m[j],
                      pct(spent - plan_m[j], plan_m[j]), share, status])
    if qa is not None:
        mrows.append([ctx.quarter, q.quarters[q.k].total, qa.actual, qa.variance,
                      qa.variance_pct, qa.operation_share_actual, qa.band_status_actual])
    else:
        mrows.append([ctx.quarter, q.quarters[q.k].total, _na(), _na(), _na(), _na(), _na()])
    months = sh.next_block(
        "months", mrows, [st.TEXT_STYLE, money, money, signed, st.SIGNED_PERCENT_STYLE,
                          st.PERCENT_STYLE, st.CENTER_STYLE],
        header=("Month", "Plan", "Actual", "Variance", "Variance %",
                "Operation share (actual)", "Band status (actual)"),
        title="Months: the band check on actual spend", row_kinds={3: "total"})
    sh.layout.conditional_formats += [
        ConditionalFormat(months.ref(name, 0, 5, 3, 5), "out of band", outside=(low, high)),
        ConditionalFormat(months.ref(name, 0, 6, 3, 6), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
        ConditionalFormat(months.ref(name, 0, 4, 3, 4), "out of band",
                          outside=(-1e300, threshold))]
    for j in (5, 6):  # the two "(actual)" headers side by side: room for both
        col = months.col + j
        sh.layout.column_widths[col] = max(sh.layout.column_widths.get(col, 0.0), 16.0)
    chart_end = max(months.last_row + 1, months.row + 11)
    sh.layout.charts.append(ChartSpec(
        "months", "Plan vs actual by month", months.ref(name, 0, 0, 2, 0),
        [SeriesSpec("Plan", months.ref(name, 0, 1, 2, 1), PLAN_COLOUR),
         SeriesSpec("Actual", months.ref(name, 0, 2, 2, 2), ACTUAL_COLOUR)],
        anchor=(months.row, 9), y_title=ctx.currency, y_format="#,##0", y_min=0.0,
        end=(chart_end, 15)))
    sh.cursor = max(sh.cursor, chart_end + 1)


def _fte_block(sh: SheetBuilder, q: _Quarter) -> None:
    """FTE of the quarter by role level and sourcing, against the previous quarter and the
    same quarter last year (the Staffing sheet's FTE after the scenario's changes)."""
    now = q.fte(q.k, ["level", "sourcing"])
    others = [q.k - 1, q.k - 4]
    before = [q.fte(k, "level") if q.figures(k) is not None else None for k in others]
    rows: list[list[Any]] = []
    for level in LEVELS:
        cells = [_f(now.get((level, src), 0.0)) for src in SOURCINGS]
        total = sum(cells)
        row: list[Any] = [level_label(level), *cells, total]
        for other in before:
            was = None if other is None else _f(other.get(level, 0.0))
            row += [_cell(was, st.FTE_STYLE), _cell(_change(total, was)[0], st.SIGNED_FTE_STYLE)]
        rows.append(row)
    sums = [sum(r[j] for r in rows) for j in range(1, 5)]
    total_row: list[Any] = ["Total", *sums]
    for other in before:
        was = None if other is None else _f(other.sum())
        total_row += [_cell(was, st.FTE_STYLE),
                      _cell(_change(sums[3], was)[0], st.SIGNED_FTE_STYLE)]
    rows.append(total_row)
    prev, last = (q.label(k) for k in others)
    fte, signed = st.FTE_STYLE, st.SIGNED_FTE_STYLE
    sh.next_block(
        "fte", rows, [st.TEXT_STYLE, fte, fte, fte, fte, fte, signed, fte, signed],
        header=("Role level", *SOURCINGS, "Total FTE", prev, "Change", last, "Change"),
        title=f"FTE by role level and sourcing, {q.ctx.label} (full-time equivalents)",
        row_kinds={len(rows) - 1: "total"})


def _breakdown_blocks(sh: SheetBuilder, q: _Quarter) -> None:
    """The plan of the quarter by system (with actual and variance where there are actuals),
    role level, sourcing and vendor, and the billing boundary."""
    ctx, name, a = q.ctx, sh.layout.name, q.actuals
    qfig = q.quarters[q.k]
    total, operation, maintenance = qfig.total, qfig.operation, qfig.maintenance
    share, status = qfig.operation_share, qfig.band_status
    low, high = ctx.band_low, ctx.band_high
    money, pct_style = st.AMOUNT_STYLE, st.PERCENT_STYLE
    cur = f" ({ctx.currency})"
    month_cols = [money, money, money, money]
    share_of_total = [*ctx.months, "Total", "Operation", "Maintenance"]
    led_q, led_y = q.led_q, q.led_y

    # by system, each with its own operation share against the band; with actuals, the
    # quarter's actual and variance (systems only the actuals name come last)
    systems = kind_totals(led_q, "system")
    names = [str(x) for x in led_y["system"].cat.categories]
    reported = [i for i in q.month_indexes if a is not None and a.reported(i)]
    actual = a.sum_by(reported, "system") if a is not None else pd.Series(dtype=float)
    if a is not None:
        names += [str(x) for x in actual.index if str(x) not in names and actual[x] != 0]
    rows: list[list[Any]] = []
    for system in names:
        op, mt, tot = _kind_row(systems, system)
        sys_share, sys_status = band_status(op, tot, low, high)
        row: list[Any] = [system, *_phased(tot), op, mt, sys_share, sys_status]
        if a is not None:
            row += _actual_cells(tot, _f(actual.get(system, 0.0)), len(reported))
        rows.append(row)
    n_sys = len(rows)
    total_row: list[Any] = ["Total", *_phased(total), operation, maintenance, share, status]
    qa = a.quarter(q.k) if a is not None else None
    if a is not None:
        total_row += ([qa.actual, qa.variance, qa.variance_pct] if qa is not None
                      else [_na(), _na(), _na()])
    rows.append(total_row)
    extra = ([money, st.SIGNED_AMOUNT_STYLE, st.SIGNED_PERCENT_STYLE] if a is not None else [])
    by_system = sh.next_block(
        "by_system", rows,
        [st.TEXT_STYLE, *month_cols, money, money, pct_style, st.CENTER_STYLE, *extra],
        header=("System", *share_of_total, "Operation share", "Band status",
                *(("Actual", "Variance", "Variance %") if a is not None else ())),
        title="Cost by system" + cur, row_kinds={n_sys: "total"})
    if n_sys:
        sh.layout.conditional_formats += [
            ConditionalFormat(by_system.ref(name, 0, 7, n_sys - 1, 7), "out of band",
                              outside=(low, high)),
            ConditionalFormat(by_system.ref(name, 0, 8, n_sys - 1, 8), "out of band",
                              equals=("operation-heavy", "maintenance-heavy"))]

    # by role level (plan-level money has no role: its own row, so the block adds up)
    levels = kind_totals(led_q, "level")
    rows = []
    for key, label, guidance in (*((lv, level_label(lv), LEVEL_GUIDANCE[lv])
                                   for lv in LEVELS), ("", NO_ROLE, "")):
        op, mt, tot = _kind_row(levels, key)
        rows.append([label, *_phased(tot), op, mt, _share(tot, total), guidance])
    rows.append(["Total", *_phased(total), operation, maintenance,
                 1.0 if total else None, ""])
    sh.next_block("by_level", rows, [st.TEXT_STYLE, *month_cols, money, money, pct_style,
                                     st.LABEL_STYLE],
                  header=("Role level", *share_of_total, "Share of total", "Sourcing guidance"),
                  title="Cost by role level" + cur, row_kinds={len(rows) - 1: "total"})

    # by sourcing and vendor: the vendors a sourcing has anywhere in the scenario's year
    pairs = kind_totals(led_q, ["sourcing", "vendor"])
    by_sourcing = kind_totals(led_q, "sourcing")  # subtotals are group-bys themselves
    present = led_y.groupby(["sourcing", "vendor"], observed=True).size().index
    rows, kinds = [], {}
    for sourcing in SOURCINGS:
        vendors = [str(v) for src, v in present if src == sourcing]
        for vendor in vendors:
            op, mt, tot = _kind_row(pairs, (sourcing, vendor))
            rows.append([sourcing, vendor or IN_HOUSE_STAFF, *_phased(tot), op, mt,
                         _share(tot, total)])
        op, mt, tot = _kind_row(by_sourcing, sourcing)
        kinds[len(rows)] = "subtotal"
        rows.append([f"{sourcing} total", "", *_phased(tot), op, mt, _share(tot, total)])
    op, mt, tot = _kind_row(by_sourcing, "")
    rows.append([NO_ROLE, "", *_phased(tot), op, mt, _share(tot, total)])
    kinds[len(rows)] = "total"
    rows.append(["Total", "", *_phased(total), operation, maintenance,
                 1.0 if total else None])
    sh.next_block("by_vendor", rows, [st.TEXT_STYLE, st.TEXT_STYLE, *month_cols, money, money,
                                      pct_style],
                  header=("Sourcing", "Vendor", *share_of_total, "Share of total"),
                  title="Cost by sourcing and vendor" + cur, row_kinds=kinds)

    # billing boundary over external labour (spec §3.9): fixed fee vs separate estimate
    labour = led_q[led_q["component"] == "labour"]
    external = pivot(labour[labour["sourcing"].isin(list(EXTERNAL_SOURCINGS))], "activity")
    rows, kinds = [], {}
    for act in ACTIVITIES:
        rows.append([act, q.plan.billing[act], *_phased(_f(external.get(act, 0.0)))])
    split = billing_split(q.plan, external)
    for basis, key in ((FIXED_FEE, "fixed_fee"), (SEPARATE_ESTIMATE, "separate_estimate")):
        kinds[len(rows)] = "subtotal"
        rows.append([basis, "", *_phased(split[key])])
    kinds[len(rows)] = "total"
    rows.append(["External labour", "", *_phased(_f(external.sum()))])
    sh.next_block("billing", rows, [st.LABEL_STYLE, st.TEXT_STYLE, *month_cols],
                  header=("Activity", "Billing basis", *ctx.months, "Total"),
                  title="Billing boundary: external labour, fixed fee vs separate estimate"
                        + cur, row_kinds=kinds)


def _actual_cells(plan_q: float, actual: float, n_reported: int) -> list[Any]:
    """Actual, variance and variance % of a quarter's group with ``n_reported`` months
    reported (its plan counts those months: quarter × n / 3, as the JSON's quarters do)."""
    if not n_reported:
        return [_na(), _na(), _na()]
    plan_to_date = plan_q if n_reported == 3 else plan_q * n_reported / 3
    return [actual, actual - plan_to_date, pct(actual - plan_to_date, plan_to_date)]


def _year_to_date_block(sh: SheetBuilder, q: _Quarter) -> None:
    """Q1 to this quarter of the fiscal year, the year to date and the full year (plan; with
    actuals also actual and variance), with a chart of the share against band and target."""
    ctx, name, a = q.ctx, sh.layout.name, q.actuals
    low, high = ctx.band_low, ctx.band_high
    money, pct_style = st.AMOUNT_STYLE, st.PERCENT_STYLE

    def actual_cells(ks: Sequence[int], year: bool = False) -> list[Any]:
        if a is None:
            return []
        reported = [x for x in (a.quarter(k) for k in ks) if x is not None]
        if not reported:
            return [_na(), _na()]
        if year:
            y = a.figures.years[q.period.year_index]
            return [y.actual_to_date, sum(x.variance for x in reported)]
        return [sum(x.actual for x in reported), sum(x.variance for x in reported)]

    rows: list[list[Any]] = []
    for k in q.year_quarters:
        fig = q.quarters[k]
        name_q = QUARTERS[k % 4]
        q_months = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, name_q)
        rows.append([name_q, month_span(q_months[0], q_months[2]), fig.total, fig.operation,
                     fig.maintenance, fig.operation_share, fig.band_status, low, high,
                     ctx.target, *actual_cells([k])])
    n_q = len(rows)
    ks = list(q.year_quarters)
    ytd = [sum(getattr(q.quarters[k], key) for k in ks)
           for key in ("total", "operation", "maintenance")]
    ytd_share, ytd_status = band_status(ytd[1], ytd[0], low, high)
    months = ctx.months
    first = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, "Q1")[0]
    rows.append(["Year to date", month_span(first, months[2]), *ytd, ytd_share, ytd_status,
                 low, high, ctx.target, *actual_cells(ks)])
    year = kind_totals(q.led_y).iloc[0]
    y_share, y_status = band_status(_f(year["operation"]), _f(year["total"]), low, high)
    y0 = 4 * q.period.year_index
    last = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, "Q4")[2]
    rows.append([f"Full year FY{ctx.fiscal_year}", month_span(first, last), _f(year["total"]),
                 _f(year["operation"]), _f(year["maintenance"]), y_share, y_status, low, high,
                 ctx.target, *actual_cells(range(y0, y0 + 4), year=True)])
    extra = [money, st.SIGNED_AMOUNT_STYLE] if a is not None else []
    ytd_block = sh.next_block(
        "year_to_date", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, money, money, money, pct_style, st.CENTER_STYLE,
         pct_style, pct_style, pct_style, *extra],
        header=("Quarter", "Months", "Plan", "Operation", "Maintenance", "Operation share",
                "Band status", "Band low", "Band high", "Target",
                *(("Actual", "Variance") if a is not None else ())),
        title=f"Year to date: {ctx.scenario}, Q1–{ctx.quarter} ({ctx.currency})",
        row_kinds={n_q: "total"})
    sheet = sh.layout
    sheet.conditional_formats += [
        ConditionalFormat(ytd_block.ref(name, 0, 5, n_q + 1, 5), "out of band",
                          outside=(low, high)),
        ConditionalFormat(ytd_block.ref(name, 0, 6, n_q + 1, 6), "out of band",
                          equals=("operation-heavy", "maintenance-heavy"))]
    chart_row = sh.cursor
    colours = st.SERIES_COLOURS
    sheet.charts.append(ChartSpec(
        "share", "Operation share against the band and target",
        ytd_block.ref(name, 0, 0, n_q - 1, 0),
        [SeriesSpec("Operation share", ytd_block.ref(name, 0, 5, n_q - 1, 5),
                    colours["share"]),
         SeriesSpec("Band low", ytd_block.ref(name, 0, 7, n_q - 1, 7), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Band high", ytd_block.ref(name, 0, 8, n_q - 1, 8), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Target", ytd_block.ref(name, 0, 9, n_q - 1, 9), colours["target"],
                    line=True, dashed=True)],
        anchor=(chart_row, 1), y_title="Operation share", y_format="0%", y_min=0.0, y_max=1.0,
        end=(chart_row + 18, 7)))
    sh.cursor = chart_row + 19


def _about_sheet(plan: Plan, ctx: QuarterContext, source: SourceInfo, generated: datetime,
                 version: str, generated_note: str,
                 actuals: ScenarioActuals | None = None) -> SheetBuilder:
    s = plan.settings
    sh = SheetBuilder("About", cursor=3)
    sh.text(1, 1, "About this quarterly budget", st.TITLE_STYLE)
    rows: list[list[Any]] = [
        *provenance_rows(version, source, generated),
        ["Generation time source", generated_note or "clock of the batch driver"],
        ["Scenario", ctx.scenario],
        ["Fiscal year", f"FY{ctx.fiscal_year}: "
                        f"{fiscal_year_span(ctx.fiscal_year, ctx.fy_start_month)}"],
        ["Quarter", f"{ctx.quarter}: {', '.join(ctx.months)}"],
        ["Fiscal-year convention", FY_CONVENTION],
        ["Months", MONTH_SPLIT],
        ["Values", VALUES_NOTE],
        ["Actuals", _actuals_fact(plan, actuals)],
    ]
    block = sh.next_block("report", rows, [st.KEY_STYLE, st.WRAP_STYLE],
                          title="Quarterly budget", gap=1)
    sh.wrap_rows(block, 1)
    used: list[list[Any]] = [
        *settings_rows(s, st.PERCENT_STYLE, st.YEAR_STYLE),
        ["target operation share", Styled(ctx.target, st.PERCENT_STYLE)],
    ]
    sh.next_block("settings", used, [st.KEY_STYLE, st.TEXT_STYLE],
                  header=("Setting", "Value"), title="Settings used", gap=1)
    sheet = sh.layout
    sheet.print_setup = PrintSetup(landscape=False)
    return sh


def _actuals_fact(plan: Plan, actuals: ScenarioActuals | None) -> str:
    """About's Actuals row: where they came from and how far they go, or that there are none."""
    if actuals is None:
        return "none: the budget shows the plan only"
    source = actuals.figures.source or "the plan"
    return (f"from {source}, through {actuals.through_label(plan.horizon)}, compared with "
            f"scenario {actuals.scenario}. {FORECAST_RULE}")


# --------------------------------------------------------------------------- rollup


ROLLUP_HEADER = ("Plan", "Plan file", "Months", "Total", "Operation", "Maintenance",
                 "Operation share", "Band status", "Band low", "Band high", "Target",
                 "Share vs target", "Quarterly budget")
FAILED_HEADER = ("Plan file", "Location", "First error", "Errors")


@dataclass(frozen=True, slots=True)
class RollupLine:
    """One plan's quarter in a rollup (from a batch task's small result)."""

    plan: str
    file: str
    months: Sequence[str]
    total: float
    operation: float
    maintenance: float
    operation_share: float | None
    band_status: str
    band_low: float
    band_high: float
    target: float
    output: str
    #: the quarter's plan vs actual (:func:`quarter_actuals`); None without actuals
    actuals: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FailedPlan:
    file: str
    location: str
    message: str
    n_errors: int


ACTUALS_HEADER = ("Plan", "Plan file", "Actuals through", "Budget", "Actual", "Variance",
                  "Variance %", "Forecast", "FY budget", "FY actual to date", "FY forecast",
                  "FY variance at completion")
#: (rollup total key, key of :func:`quarter_actuals`) summed over the plans with actuals
ACTUALS_SUMS = (("plan", None), ("actual", "actual"), ("variance", "variance"),
                ("forecast", "forecast"), ("fiscal_year_plan", "fiscal_year_plan"),
                ("actual_to_date", "actual_to_date"),
                ("fiscal_year_forecast", "fiscal_year_forecast"),
                ("variance_at_completion", "variance_at_completion"))


def rollup_totals(lines: Sequence[RollupLine]) -> dict[str, Any]:
    """Sums over plans (in order, left to right) and the share of the sums; with actuals,
    ``actuals`` sums the plan vs actual figures of the plans that have them (``plans``)."""
    total = sum(line.total for line in lines)
    operation = sum(line.operation for line in lines)
    maintenance = sum(line.maintenance for line in lines)
    out: dict[str, Any] = {"total": total, "operation": operation, "maintenance": maintenance,
                           "operation_share": _share(operation, total)}
    reported = [line for line in lines if line.actuals is not None]
    if reported:
        sums: dict[str, Any] = {"plans": len(reported)}
        for key, source in ACTUALS_SUMS:
            sums[key] = sum((line.total if source is None else line.actuals[source]) or 0.0
                            for line in reported if line.actuals is not None)
        sums["plan_to_date"] = sum(line.actuals["plan_to_date"] for line in reported
                                   if line.actuals is not None)
        sums["variance_pct"] = pct(sums["variance"], sums["plan_to_date"])
        out["actuals"] = sums
    return out


def _through(actuals: Mapping[str, Any]) -> str:
    """``Sep 2027`` from the ``through`` month ``2027-09``."""
    year, month = (int(x) for x in str(actuals["through"]).split("-"))
    return month_label(year, month)


def build_rollup_layout(lines: Sequence[RollupLine], failed: Sequence[FailedPlan], *,
                        fiscal_year: int, currency: str, quarter: str, scenario: str,
                        generated: datetime | None = None, version: str = "",
                        generated_note: str = "") -> ReportLayout:
    """One row per plan (business unit) for one fiscal year, currency and quarter."""
    generated = generated or datetime(1980, 1, 1)
    name = "Rollup"
    label = f"{quarter} FY{fiscal_year}"
    money, pct = st.MONEY, st.PERCENT_STYLE
    sh = SheetBuilder(name, cursor=4)
    sh.text(1, 1, f"{label} rollup: {scenario}, amounts in {currency}", st.TITLE_STYLE)
    sh.text(2, 1, f"{len(lines)} plan{'s' if len(lines) != 1 else ''} in {currency}"
                  + (f" · {len(failed)} not included (errors below)" if failed else "")
                  + " · amounts in other currencies are never added here", st.SUBTITLE_STYLE)
    rows: list[list[Any]] = []
    for line in lines:
        share = line.operation_share
        rows.append([line.plan, line.file, f"{line.months[0]} – {line.months[-1]}",
                     line.total, line.operation, line.maintenance, share, line.band_status,
                     line.band_low, line.band_high, line.target,
                     st.points_vs(share, line.target), line.output])
    totals = rollup_totals(lines)
    bands = {(line.band_low, line.band_high) for line in lines}
    total_status = ""
    if len(bands) == 1:  # one band for every plan: the total has a status against it
        low, high = bands.pop()
        total_status = band_status(totals["operation"], totals["total"], low, high)[1]
    n = len(rows)
    rows.append([f"Total ({n} plan{'s' if n != 1 else ''})", "", "", totals["total"],
                 totals["operation"], totals["maintenance"], totals["operation_share"],
                 total_status, None, None, None, None, ""])
    table = sh.next_block(
        "plans", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE, money, money, money, pct,
         st.CENTER_STYLE, pct, pct, pct, st.SIGNED_POINTS_STYLE, st.LABEL_STYLE],
        header=ROLLUP_HEADER, title=f"Plans ({label}, {scenario})", row_kinds={n: "total"})
    sheet = sh.layout
    if n:
        low_high = [(line.band_low, line.band_high) for line in lines]
        for i, (low, high) in enumerate(low_high):  # each plan against its own band
            sheet.conditional_formats.append(ConditionalFormat(
                table.ref(name, i, 6), "out of band", outside=(low, high)))
        sheet.conditional_formats.append(ConditionalFormat(
            table.ref(name, 0, 7, n, 7), "out of band",
            equals=("operation-heavy", "maintenance-heavy")))
        chart_row = sh.cursor
        colours = st.SERIES_COLOURS
        sheet.charts.append(ChartSpec(
            "plans", f"Operation vs maintenance by plan, {label}",
            table.ref(name, 0, 0, n - 1, 0),
            [SeriesSpec("Operation", table.ref(name, 0, 4, n - 1, 4), colours["operation"]),
             SeriesSpec("Maintenance", table.ref(name, 0, 5, n - 1, 5),
                        colours["maintenance"])],
            anchor=(chart_row, 1), stacked=True, y_title=currency, y_format="#,##0", y_min=0.0,
            end=(chart_row + 20, 9)))
        sh.cursor = chart_row + 22
    _rollup_actuals(sh, lines, totals, label)
    failed_rows = [[f.file, f.location, f.message, f.n_errors] for f in failed]
    if failed_rows:
        block = sh.next_block("failed", failed_rows,
                              [st.TEXT_STYLE, st.TEXT_STYLE, st.WRAP_STYLE, st.INTEGER_STYLE],
                              header=FAILED_HEADER,
                              title="Plans not included: they have errors (see batch_report.json)")
        for i, row in enumerate(failed_rows):
            lines_needed = max(1, -(-len(str(row[2])) // 70))
            if lines_needed > 1:
                sheet.row_heights[block.first_row + i] = 15.0 * lines_needed + 2
    sh.text(sh.cursor, 1, "Each plan's figures are the sums of its ledger for the quarter "
                          "(as in 'omplan run --json', quarters); the total row adds the "
                          "plans up. " + FY_CONVENTION, st.NOTE_STYLE)
    sheet.freeze = (6, 2)
    sheet.print_setup = PrintSetup(title_rows=(1, 2))
    sheet.tab_colour = st.NAVY

    about = SheetBuilder("About", cursor=3)
    about.text(1, 1, "About this rollup", st.TITLE_STYLE)
    facts: list[list[Any]] = [
        ["Produced by", f"omplan {version}".strip()],
        ["Generated (UTC)", Styled(generated, st.DATETIME_STYLE)],
        ["Generation time source", generated_note or "clock of the batch driver"],
        ["Scenario", scenario],
        ["Fiscal year", Styled(fiscal_year, st.YEAR_STYLE)],
        ["Quarter", quarter],
        ["Currency", currency],
        ["Plans included", Styled(len(lines), st.INTEGER_STYLE)],
        ["Plans not included", Styled(len(failed), st.INTEGER_STYLE)],
        ["Fiscal-year convention", FY_CONVENTION],
        ["Months", "Plans may start their fiscal year in different months: the Months column "
                   "shows each plan's calendar months of this quarter."],
        ["Currencies", "Amounts in different currencies are never added up: a batch with "
                       "several currencies has one rollup per fiscal year and currency."],
    ]
    about.next_block("rollup", facts, [st.KEY_STYLE, st.WRAP_STYLE], title="Rollup")
    for i in (9, 10, 11):
        about.layout.row_heights[4 + i] = 47.0
    about.layout.print_setup = PrintSetup(landscape=False)
    sheets = [sh.finish(currency, {1: 24.0, 13: 24.0}),
              about.finish(currency, {1: 26.0, 2: 60.0})]
    title = f"{label} rollup ({scenario}, {currency})"
    return ReportLayout(sheets, st.report_styles(currency), dict(st.HIGHLIGHTS), title,
                        generated)


def _rollup_actuals(sh: SheetBuilder, lines: Sequence[RollupLine], totals: Mapping[str, Any],
                    label: str) -> None:
    """Plan vs actual per plan (business unit) with actuals, and the fiscal year's forecast;
    the plans without actuals are named below it."""
    with_actuals = [line for line in lines if line.actuals is not None]
    if not with_actuals:
        return
    money, signed = st.AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE
    rows: list[list[Any]] = []
    for line in with_actuals:
        a = line.actuals
        assert a is not None
        reported = a["months_reported"] > 0
        rows.append([line.plan, line.file, _through(a), line.total,
                     a["actual"] if reported else _na(), a["variance"] if reported else _na(),
                     a["variance_pct"] if reported else _na(), a["forecast"],
                     a["fiscal_year_plan"], a["actual_to_date"], a["fiscal_year_forecast"],
                     a["variance_at_completion"]])
    sums = totals["actuals"]
    n = len(rows)
    rows.append([f"Total ({n} plan{'s' if n != 1 else ''} with actuals)", "", "", sums["plan"],
                 sums["actual"], sums["variance"], sums["variance_pct"], sums["forecast"],
                 sums["fiscal_year_plan"], sums["actual_to_date"],
                 sums["fiscal_year_forecast"], sums["variance_at_completion"]])
    sh.next_block(
        "actuals", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, st.CENTER_STYLE, money, money, signed,
         st.SIGNED_PERCENT_STYLE, money, money, money, money, signed],
        header=ACTUALS_HEADER,
        title=f"Plan vs actual ({label}) and the fiscal year's forecast",
        row_kinds={n: "total"})
    missing = [line.file for line in lines if line.actuals is None]
    note = (f"Without actuals (plan only): {', '.join(missing)}. " if missing else "")
    sh.text(sh.cursor - 1, 1, note + "Variance compares the months reported; " + FORECAST_RULE,
            st.NOTE_STYLE)
    sh.cursor += 1


__all__ = [
    "FY_CONVENTION", "MONTH_SPLIT", "FailedPlan", "QuarterContext", "RollupLine",
    "build_quarter_layout", "build_rollup_layout", "fiscal_months", "fiscal_year_span",
    "month_label", "no_actuals_note", "output_name", "period_of", "quarter_actuals",
    "quarter_figures", "quarter_month_labels", "rollup_name", "rollup_totals", "split_quarter",
]
