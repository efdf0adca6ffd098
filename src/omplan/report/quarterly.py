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

from collections.abc import Sequence
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
from omplan.report.builder import SheetBuilder
from omplan.report.common import checks_sheet, ledger_sheet, provenance_rows, settings_rows
from omplan.report.layout import (
    ChartSpec,
    ConditionalFormat,
    PrintSetup,
    Ref,
    ReportLayout,
    SeriesSpec,
    SourceInfo,
    Styled,
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


def build_quarter_layout(evaluation: Evaluation, scenario: str, quarter: int | str, *,
                         input_findings: Sequence[Finding] = (),
                         source: SourceInfo | None = None,
                         generated: datetime | None = None, version: str = "",
                         generated_note: str = "",
                         quarters: Sequence[PeriodFigures] | None = None) -> ReportLayout:
    """The quarterly budget workbook of ``scenario`` and ``quarter`` (see :func:`period_of`):
    Budget, Ledger, Checks, About. ``quarters`` are the scenario's quarter figures over the
    horizon (computed when not given)."""
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
    findings = [f for f in input_findings if f.severity != "error"]
    findings += evaluation.scenario_findings.get(scenario, [])
    in_year = quarters[4 * year: 4 * year + 4]
    sheets = [
        _budget_sheet(plan, ctx, led_y, led_q, in_year).finish(ctx.currency, {1: 30.0}),
        ledger_sheet(led_q, ctx.currency).layout,
        checks_sheet(findings, wrap=False).finish(ctx.currency, {4: 90.0}),
        _about_sheet(plan, ctx, source, generated, version, generated_note).finish(
            ctx.currency, {1: 26.0, 2: 60.0}),
    ]
    title = f"{ctx.label} budget ({scenario}): {s.plan_name}"
    return ReportLayout(sheets, st.report_styles(ctx.currency), dict(st.HIGHLIGHTS), title,
                        generated)


def _budget_sheet(plan: Plan, ctx: QuarterContext, led_s: pd.DataFrame, led_q: pd.DataFrame,
                  quarters: Sequence[PeriodFigures]) -> SheetBuilder:
    """The Budget sheet; ``led_s`` holds the scenario's rows of the quarter's fiscal year and
    ``quarters`` that year's four quarters."""
    name = "Budget"
    sh = SheetBuilder(name, cursor=4)
    months = ctx.months
    money, pct = st.MONEY, st.PERCENT_STYLE
    low, high = ctx.band_low, ctx.band_high
    qi = QUARTERS.index(ctx.quarter)
    qfig = quarters[qi]
    total, operation, maintenance = qfig.total, qfig.operation, qfig.maintenance
    share, status = qfig.operation_share, qfig.band_status
    sh.text(1, 1, f"{ctx.plan_name}: {ctx.label} budget", st.TITLE_STYLE)
    sh.text(2, 1, f"Scenario {ctx.scenario} · {months[0]} – {months[2]} · amounts in "
                  f"{ctx.currency} · FY{ctx.fiscal_year} runs "
                  f"{fiscal_year_span(ctx.fiscal_year, ctx.fy_start_month)}",
            st.SUBTITLE_STYLE)

    # the quarter at a glance: its share against the band and the target
    glance: list[list[Any]] = [
        ["Plan", ctx.plan_name],
        ["Scenario", ctx.scenario],
        ["Fiscal year", Styled(ctx.fiscal_year, st.YEAR_STYLE)],
        ["Fiscal year runs", fiscal_year_span(ctx.fiscal_year, ctx.fy_start_month)],
        ["Quarter", ctx.quarter],
        ["Months", ", ".join(months)],
        ["Currency", ctx.currency],
        ["Total", Styled(total, money)],
        ["Operation", Styled(operation, money)],
        ["Maintenance", Styled(maintenance, money)],
        ["Operation share", Styled(share, pct)],
        ["Band low", Styled(low, pct)],
        ["Band high", Styled(high, pct)],
        ["Band status", status],
        ["Target operation share", Styled(ctx.target, pct)],
        ["Share vs target", Styled(st.points_vs(share, ctx.target), st.SIGNED_POINTS_STYLE)],
    ]
    at_a_glance = sh.next_block("quarter", glance, [st.KEY_STYLE, st.TEXT_STYLE],
                                title=f"{ctx.label} at a glance", overflow=True)
    sheet = sh.layout
    sheet.conditional_formats += [
        ConditionalFormat(at_a_glance.ref(name, 10, 1), "out of band", outside=(low, high)),
        ConditionalFormat(at_a_glance.ref(name, 13, 1), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]

    # activity x month with operation and maintenance subtotals (spec §3.8)
    by_activity = pivot(led_q, "activity")
    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("operation", OPERATION_ACTIVITIES),
                       ("maintenance", MAINTENANCE_ACTIVITIES)):
        for a in acts:
            rows.append([Styled(a, st.LABEL_STYLE), *_phased(_f(by_activity.get(a, 0.0)))])
        kinds[len(rows)] = "subtotal"
        rows.append([kind.capitalize(), *_phased(getattr(qfig, kind))])
    kinds[len(rows)] = "total"
    rows.append(["Total", *_phased(total)])
    op_i, mt_i, tot_i = len(OPERATION_ACTIVITIES), len(ACTIVITIES) + 1, len(ACTIVITIES) + 2
    share_i = len(rows)
    month_shares = [_share(rows[op_i][j], rows[tot_i][j]) for j in range(1, 4)]
    statuses = [band_status(rows[op_i][j], rows[tot_i][j], low, high)[1] for j in range(1, 4)]
    rows.append([Styled("Operation share", st.KEY_STYLE),
                 *(Styled(v, pct) for v in (*month_shares, share))])
    rows.append([Styled("Band status", st.KEY_STYLE),
                 *(Styled(v, st.CENTER_STYLE) for v in (*statuses, status))])
    matrix = sh.next_block("activity_month", rows, [st.TEXT_STYLE, money, money, money, money],
                           header=("Activity", *months, ctx.quarter), row_kinds=kinds,
                           title="Cost by activity and month")
    sheet.conditional_formats += [
        ConditionalFormat(matrix.ref(name, share_i, 1, share_i, 4), "out of band",
                          outside=(low, high)),
        ConditionalFormat(matrix.ref(name, share_i + 1, 1, share_i + 1, 4), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]
    colours = st.SERIES_COLOURS
    sheet.charts.append(ChartSpec(
        "months", "Operation vs maintenance by month", matrix.header_ref(name, 1, 3),
        [SeriesSpec("Operation", matrix.ref(name, op_i, 1, op_i, 3), colours["operation"]),
         SeriesSpec("Maintenance", matrix.ref(name, mt_i, 1, mt_i, 3),
                    colours["maintenance"])],
        anchor=(matrix.row, 7), stacked=True, y_title=ctx.currency, y_format="#,##0", y_min=0.0,
        end=(matrix.last_row + 1, 14)))

    month_cols = [money, money, money, money]
    share_of_total = [*months, "Total", "Operation", "Maintenance"]

    # by system, each with its own operation share against the band
    systems = kind_totals(led_q, "system")
    rows = []
    for system in (str(x) for x in led_s["system"].cat.categories):
        op, mt, tot = _kind_row(systems, system)
        sys_share, sys_status = band_status(op, tot, low, high)
        rows.append([system, *_phased(tot), op, mt, sys_share, sys_status])
    n_sys = len(rows)
    rows.append(["Total", *_phased(total), operation, maintenance, share, status])
    by_system = sh.next_block(
        "by_system", rows, [st.TEXT_STYLE, *month_cols, money, money, pct, st.CENTER_STYLE],
        header=("System", *share_of_total, "Operation share", "Band status"),
        title="Cost by system", row_kinds={n_sys: "total"})
    if n_sys:
        sheet.conditional_formats += [
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
    sh.next_block("by_level", rows, [st.TEXT_STYLE, *month_cols, money, money, pct,
                                     st.LABEL_STYLE],
                  header=("Role level", *share_of_total, "Share of total", "Sourcing guidance"),
                  title="Cost by role level", row_kinds={len(rows) - 1: "total"})

    # by sourcing and vendor: the vendors a sourcing has anywhere in the scenario's year
    pairs = kind_totals(led_q, ["sourcing", "vendor"])
    by_sourcing = kind_totals(led_q, "sourcing")  # subtotals are group-bys themselves
    present = led_s.groupby(["sourcing", "vendor"], observed=True).size().index
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
                                 pct],
                  header=("Sourcing", "Vendor", *share_of_total, "Share of total"),
                  title="Cost by sourcing and vendor", row_kinds=kinds)

    # billing boundary over external labour (spec §3.9): fixed fee vs separate estimate
    labour = led_q[led_q["component"] == "labour"]
    external = pivot(labour[labour["sourcing"].isin(list(EXTERNAL_SOURCINGS))], "activity")
    rows, kinds = [], {}
    for a in ACTIVITIES:
        rows.append([a, plan.billing[a], *_phased(_f(external.get(a, 0.0)))])
    split = billing_split(plan, external)
    for basis, key in ((FIXED_FEE, "fixed_fee"), (SEPARATE_ESTIMATE, "separate_estimate")):
        kinds[len(rows)] = "subtotal"
        rows.append([basis, "", *_phased(split[key])])
    kinds[len(rows)] = "total"
    rows.append(["External labour", "", *_phased(_f(external.sum()))])
    sh.next_block("billing", rows, [st.LABEL_STYLE, st.TEXT_STYLE, *month_cols],
                  header=("Activity", "Billing basis", *months, "Total"),
                  title="Billing boundary: external labour, fixed fee vs separate estimate",
                  row_kinds=kinds)

    # year to date: Q1..Qn of the scenario, then the full year for reference
    rows = []
    for name_q, q in zip(QUARTERS, quarters[: qi + 1], strict=False):
        q_months = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, name_q)
        rows.append([name_q, f"{q_months[0]} – {q_months[2]}", q.total, q.operation,
                     q.maintenance, q.operation_share, q.band_status, low, high, ctx.target])
    n_q = len(rows)
    ytd = [sum(getattr(q, k) for q in quarters[: qi + 1])
           for k in ("total", "operation", "maintenance")]
    ytd_share, ytd_status = band_status(ytd[1], ytd[0], low, high)
    first = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, "Q1")[0]
    rows.append(["Year to date", f"{first} – {months[2]}", *ytd, ytd_share, ytd_status,
                 low, high, ctx.target])
    year = kind_totals(led_s).iloc[0]
    y_share, y_status = band_status(_f(year["operation"]), _f(year["total"]), low, high)
    rows.append([f"Full year FY{ctx.fiscal_year}",
                 fiscal_year_span(ctx.fiscal_year, ctx.fy_start_month), _f(year["total"]),
                 _f(year["operation"]), _f(year["maintenance"]), y_share, y_status, low, high,
                 ctx.target])
    ytd_block = sh.next_block(
        "year_to_date", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, money, money, money, pct, st.CENTER_STYLE, pct, pct,
         pct],
        header=("Quarter", "Months", "Total", "Operation", "Maintenance", "Operation share",
                "Band status", "Band low", "Band high", "Target"),
        title=f"Year to date: {ctx.scenario}, Q1–{ctx.quarter}", row_kinds={n_q: "total"})
    sheet.conditional_formats += [
        ConditionalFormat(ytd_block.ref(name, 0, 5, n_q + 1, 5), "out of band",
                          outside=(low, high)),
        ConditionalFormat(ytd_block.ref(name, 0, 6, n_q + 1, 6), "out of band",
                          equals=("operation-heavy", "maintenance-heavy"))]
    chart_row = sh.cursor
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
    sh.text(sh.cursor, 1, MONTH_SPLIT, st.NOTE_STYLE)
    sh.text(sh.cursor + 1, 1, FY_CONVENTION, st.NOTE_STYLE)
    sheet.freeze = (3, 2)
    sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                   area=Ref(name, 1, 1, sh.cursor + 1, 14))
    sheet.tab_colour = st.NAVY
    return sh


def _about_sheet(plan: Plan, ctx: QuarterContext, source: SourceInfo, generated: datetime,
                 version: str, generated_note: str) -> SheetBuilder:
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
    ]
    sh.next_block("report", rows, [st.KEY_STYLE, st.WRAP_STYLE], title="Quarterly budget",
                  gap=1)
    for i in (8, 9, 10):  # the long notes wrap over two or three lines
        sh.layout.row_heights[4 + i] = 47.0
    used: list[list[Any]] = [
        *settings_rows(s, st.PERCENT_STYLE, st.YEAR_STYLE),
        ["target operation share", Styled(ctx.target, st.PERCENT_STYLE)],
    ]
    sh.next_block("settings", used, [st.KEY_STYLE, st.TEXT_STYLE],
                  header=("Setting", "Value"), title="Settings used", gap=1)
    sheet = sh.layout
    sheet.print_setup = PrintSetup(landscape=False)
    return sh


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


@dataclass(frozen=True, slots=True)
class FailedPlan:
    file: str
    location: str
    message: str
    n_errors: int


def rollup_totals(lines: Sequence[RollupLine]) -> dict[str, Any]:
    """Sums over plans (in order, left to right) and the share of the sums."""
    total = sum(line.total for line in lines)
    operation = sum(line.operation for line in lines)
    maintenance = sum(line.maintenance for line in lines)
    return {"total": total, "operation": operation, "maintenance": maintenance,
            "operation_share": _share(operation, total)}


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


__all__ = [
    "FY_CONVENTION", "MONTH_SPLIT", "FailedPlan", "QuarterContext", "RollupLine",
    "build_quarter_layout", "build_rollup_layout", "fiscal_months", "fiscal_year_span",
    "month_label", "output_name", "quarter_figures", "quarter_month_labels", "rollup_name",
    "rollup_totals", "split_quarter",
]
