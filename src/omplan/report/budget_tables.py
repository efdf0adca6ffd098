"""The Budget sheet's quarter tables: the quarter by activity and month (plan, or plan
against actual), FTE, the plan by system, role level, sourcing and vendor, the billing boundary
and the year to date. Every figure is a group-by of the scenario's ledger rows or one of its
quarter figures (:class:`~omplan.report.budget_quarter.BudgetQuarter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from omplan.core.ledger import band_status, kind_totals, pivot
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
    level_label,
)
from omplan.core.periods import quarter_month_labels
from omplan.core.summary import billing_split
from omplan.report import styles as st
from omplan.report.actuals import ACTUAL_COLOUR, PLAN_COLOUR, pct
from omplan.report.budget_quarter import (
    IN_HOUSE_STAFF,
    NO_ROLE,
    BudgetQuarter,
    cell,
    difference,
    kind_row,
    month_span,
    na,
    num,
    phased,
    share_of,
    split_quarter,
)
from omplan.report.builder import SheetBuilder
from omplan.report.layout import Block, ChartSpec, ConditionalFormat, SeriesSpec, Styled

__all__ = ["breakdown_blocks", "fte_block", "plan_by_month_block", "plan_vs_actual_blocks",
           "year_to_date_block"]


def plan_by_month_block(sh: SheetBuilder, q: BudgetQuarter) -> None:
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
            rows.append([Styled(act, st.LABEL_STYLE), *phased(num(by_activity.get(act, 0.0))),
                         None])
        kinds[len(rows)] = "subtotal"
        rows.append([kind.capitalize(), *phased(getattr(qfig, kind)), None])
    kinds[len(rows)] = "total"
    rows.append(["Total", *phased(qfig.total), None])
    op_i, mt_i, tot_i = len(OPERATION_ACTIVITIES), len(ACTIVITIES) + 1, len(ACTIVITIES) + 2
    share_i = len(rows)
    month_shares = [share_of(rows[op_i][j], rows[tot_i][j]) for j in range(1, 4)]
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


def plan_vs_actual_blocks(sh: SheetBuilder, q: BudgetQuarter) -> None:
    """Actuals: activity × month with plan, actual and variance per month and for the
    quarter, and a Notes column; then the three months with the band check on actual spend
    and a chart of plan vs actual. For a partly reported quarter, the quarter's columns and
    row hold the plan to date (of the months reported) beside their actuals."""
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
                out += [plan_m[j], na(), na()]
        n = sum(reported)
        if not n:
            return [*out, plan_q, na(), na(), na()]
        plan_to_date = sum(plan_m[j] for j in range(3) if reported[j])
        act = sum(actual_m[j] for j in range(3) if reported[j])
        return [*out, plan_q if n == 3 else plan_to_date, act, act - plan_to_date,
                pct(act - plan_to_date, plan_to_date)]

    def actual_of(acts: Sequence[str]) -> list[float]:
        return [sum(num(actual.get((act, i), 0.0)) for act in acts) for i in idx]

    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("Operation", OPERATION_ACTIVITIES),
                       ("Maintenance", MAINTENANCE_ACTIVITIES)):
        for act in acts:
            rows.append([Styled(act, st.LABEL_STYLE),
                         *line(num(by_activity.get(act, 0.0)), actual_of([act])), None])
        kinds[len(rows)] = "subtotal"
        rows.append([kind, *line(sum(num(by_activity.get(x, 0.0)) for x in acts),
                                 actual_of(acts)), None])
    kinds[len(rows)] = "total"
    total = line(q.quarters[q.k].total, actual_of(ACTIVITIES))
    if qa is not None:  # the quarter's figures exactly as the JSON's actuals give them
        total[10:13] = [qa.actual, qa.variance, qa.variance_pct]
        if q.partial:
            total[9] = qa.plan
    rows.append(["Total", *total, None])
    # a row of group labels (the months, the quarter) over short column headers
    to_date = f"{ctx.label} to date ({q.months_label(q.k, q.months_reported)})"
    groups = [(m, 3) for m in ctx.months] + [(to_date if q.partial else ctx.label, 4)]
    header = ["Activity", *(["Plan", "Actual", "Variance"] * 3),
              "Plan to date" if q.partial else "Plan", "Actual", "Variance", "Variance %",
              "Notes"]
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
            mrows.append([ctx.months[j], plan_m[j], na(), na(), na(), na(), na()])
            continue
        spent = a.figures.months[i].actual
        share, status = band_status(num(operation.get(("operation", i), 0.0)), spent, low, high)
        mrows.append([ctx.months[j], plan_m[j], spent, spent - plan_m[j],
                      pct(spent - plan_m[j], plan_m[j]), share, status])
    if qa is not None and q.partial:  # the months reported against their plan
        mrows.append([f"{ctx.quarter} to date ({q.months_label(q.k, q.months_reported)})",
                      qa.plan, qa.actual, qa.variance, qa.variance_pct,
                      qa.operation_share_actual, qa.band_status_actual])
    elif qa is not None:
        mrows.append([ctx.quarter, q.quarters[q.k].total, qa.actual, qa.variance,
                      qa.variance_pct, qa.operation_share_actual, qa.band_status_actual])
    else:
        mrows.append([ctx.quarter, q.quarters[q.k].total, na(), na(), na(), na(), na()])
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


def fte_block(sh: SheetBuilder, q: BudgetQuarter) -> None:
    """FTE of the quarter by role level and sourcing, against the previous quarter and the
    same quarter last year (the Staffing sheet's FTE after the scenario's changes)."""
    now = q.fte(q.k, ["level", "sourcing"])
    others = [q.k - 1, q.k - 4]
    before = [q.fte(k, "level") if q.figures(k) is not None else None for k in others]
    rows: list[list[Any]] = []
    for level in LEVELS:
        cells = [num(now.get((level, src), 0.0)) for src in SOURCINGS]
        total = sum(cells)
        row: list[Any] = [level_label(level), *cells, total]
        for other in before:
            was = None if other is None else num(other.get(level, 0.0))
            row += [cell(was, st.FTE_STYLE), cell(difference(total, was)[0], st.SIGNED_FTE_STYLE)]
        rows.append(row)
    sums = [sum(r[j] for r in rows) for j in range(1, 5)]
    total_row: list[Any] = ["Total", *sums]
    for other in before:
        was = None if other is None else num(other.sum())
        total_row += [cell(was, st.FTE_STYLE),
                      cell(difference(sums[3], was)[0], st.SIGNED_FTE_STYLE)]
    rows.append(total_row)
    prev, last = (q.label(k) for k in others)
    fte, signed = st.FTE_STYLE, st.SIGNED_FTE_STYLE
    sh.next_block(
        "fte", rows, [st.TEXT_STYLE, fte, fte, fte, fte, fte, signed, fte, signed],
        header=("Role level", *SOURCINGS, "Total FTE", prev, "Change", last, "Change"),
        title=f"FTE by role level and sourcing, {q.ctx.label} (full-time equivalents)",
        row_kinds={len(rows) - 1: "total"})


def breakdown_blocks(sh: SheetBuilder, q: BudgetQuarter) -> None:
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
        op, mt, tot = kind_row(systems, system)
        sys_share, sys_status = band_status(op, tot, low, high)
        row: list[Any] = [system, *phased(tot), op, mt, sys_share, sys_status]
        if a is not None:
            row += _actual_cells(tot, num(actual.get(system, 0.0)), len(reported))
        rows.append(row)
    n_sys = len(rows)
    total_row: list[Any] = ["Total", *phased(total), operation, maintenance, share, status]
    qa = a.quarter(q.k) if a is not None else None
    if a is not None:
        total_row += ([qa.plan, qa.actual, qa.variance, qa.variance_pct] if qa is not None
                      else [na(), na(), na(), na()])
    rows.append(total_row)
    extra = ([money, money, st.SIGNED_AMOUNT_STYLE, st.SIGNED_PERCENT_STYLE] if a is not None
             else [])
    by_system = sh.next_block(
        "by_system", rows,
        [st.TEXT_STYLE, *month_cols, money, money, pct_style, st.CENTER_STYLE, *extra],
        header=("System", *share_of_total, "Operation share", "Band status",
                *(("Plan to date", "Actual", "Variance", "Variance %") if a is not None
                  else ())),
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
        op, mt, tot = kind_row(levels, key)
        rows.append([label, *phased(tot), op, mt, share_of(tot, total), guidance])
    rows.append(["Total", *phased(total), operation, maintenance,
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
            op, mt, tot = kind_row(pairs, (sourcing, vendor))
            rows.append([sourcing, vendor or IN_HOUSE_STAFF, *phased(tot), op, mt,
                         share_of(tot, total)])
        op, mt, tot = kind_row(by_sourcing, sourcing)
        kinds[len(rows)] = "subtotal"
        rows.append([f"{sourcing} total", "", *phased(tot), op, mt, share_of(tot, total)])
    op, mt, tot = kind_row(by_sourcing, "")
    rows.append([NO_ROLE, "", *phased(tot), op, mt, share_of(tot, total)])
    kinds[len(rows)] = "total"
    rows.append(["Total", "", *phased(total), operation, maintenance,
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
        rows.append([act, q.plan.billing[act], *phased(num(external.get(act, 0.0)))])
    split = billing_split(q.plan, external)
    for basis, key in ((FIXED_FEE, "fixed_fee"), (SEPARATE_ESTIMATE, "separate_estimate")):
        kinds[len(rows)] = "subtotal"
        rows.append([basis, "", *phased(split[key])])
    kinds[len(rows)] = "total"
    rows.append(["External labour", "", *phased(num(external.sum()))])
    sh.next_block("billing", rows, [st.LABEL_STYLE, st.TEXT_STYLE, *month_cols],
                  header=("Activity", "Billing basis", *ctx.months, "Total"),
                  title="Billing boundary: external labour, fixed fee vs separate estimate"
                        + cur, row_kinds=kinds)


def _actual_cells(plan_q: float, actual: float, n_reported: int) -> list[Any]:
    """Plan to date, actual, variance and variance % of a quarter's group with
    ``n_reported`` months reported (its plan to date counts those months: quarter × n / 3,
    as the JSON's quarters do)."""
    if not n_reported:
        return [na(), na(), na(), na()]
    plan_to_date = plan_q if n_reported == 3 else plan_q * n_reported / 3
    return [plan_to_date, actual, actual - plan_to_date,
            pct(actual - plan_to_date, plan_to_date)]


def year_to_date_block(sh: SheetBuilder, q: BudgetQuarter) -> None:
    """Q1 to this quarter of the fiscal year, the year to date and the full year (plan; with
    actuals also actual and variance), with a chart of the share against band and target."""
    ctx, name, a = q.ctx, sh.layout.name, q.actuals
    low, high = ctx.band_low, ctx.band_high
    money, pct_style = st.AMOUNT_STYLE, st.PERCENT_STYLE

    def actual_cells(ks: Sequence[int], year: bool = False) -> list[Any]:
        """Plan to date (the months reported), actual and variance of quarters ``ks``."""
        if a is None:
            return []
        reported = [x for x in (a.quarter(k) for k in ks) if x is not None]
        if not reported:
            return [na(), na(), na()]
        plan_to_date = sum(x.plan for x in reported)
        if year:
            y = a.figures.years[q.period.year_index]
            return [plan_to_date, y.actual_to_date, sum(x.variance for x in reported)]
        return [plan_to_date, sum(x.actual for x in reported),
                sum(x.variance for x in reported)]

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
    y_share, y_status = band_status(num(year["operation"]), num(year["total"]), low, high)
    y0 = 4 * q.period.year_index
    last = quarter_month_labels(ctx.fiscal_year, ctx.fy_start_month, "Q4")[2]
    rows.append([f"Full year FY{ctx.fiscal_year}", month_span(first, last), num(year["total"]),
                 num(year["operation"]), num(year["maintenance"]), y_share, y_status, low, high,
                 ctx.target, *actual_cells(range(y0, y0 + 4), year=True)])
    extra = [money, money, st.SIGNED_AMOUNT_STYLE] if a is not None else []
    ytd_block = sh.next_block(
        "year_to_date", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, money, money, money, pct_style, st.CENTER_STYLE,
         pct_style, pct_style, pct_style, *extra],
        header=("Quarter", "Months", "Plan", "Operation", "Maintenance", "Operation share",
                "Band status", "Band low", "Band high", "Target",
                *(("Plan to date", "Actual", "Variance") if a is not None else ())),
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

