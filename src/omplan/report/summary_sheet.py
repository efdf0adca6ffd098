"""The report's Summary sheet: the plan's facts, one row per scenario (totals, operation share
against the band and the target, change against Baseline, billing boundary, findings), for
several fiscal years the same per year, and the two charts.
"""

from __future__ import annotations

from typing import Any

from omplan.core.model import MAINTENANCE_FACTORS, OPERATION_FACTORS, Plan
from omplan.core.periods import MONTH_NAMES
from omplan.core.summary import PlanFigures
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import (
    ChartSpec,
    ConditionalFormat,
    PrintSetup,
    Ref,
    SeriesSpec,
    SourceInfo,
    Styled,
)
from omplan.report.scenario_sheet import years_text

__all__ = ["SUMMARY_HEADER", "YEARS_HEADER", "summary_sheet"]


def _plan_facts(plan: Plan, currency: str, source: SourceInfo) -> list[list[Any]]:
    s = plan.settings
    applied = [f for f in (*OPERATION_FACTORS, *MAINTENANCE_FACTORS) if plan.profile.get(f)]
    horizon = plan.horizon
    years: list[list[Any]] = [["Fiscal year", s.fiscal_year]]
    if horizon.years > 1:  # a longer horizon: which years, and how money is discounted
        years = [["Fiscal years", f"{horizon.first_fiscal_year}–{horizon.fiscal_years[-1]} "
                                  f"({horizon.years} years)"],
                 ["Discount rate", Styled(s.discount_rate, st.PERCENT_LEFT_STYLE)]]
    rows: list[list[Any]] = [
        ["Plan", s.plan_name],
        *years,
        ["Fiscal year starts", MONTH_NAMES[s.fy_start_month - 1]],
        ["Currency", currency],
        ["Band low", Styled(s.band_low, st.PERCENT_LEFT_STYLE)],
        ["Band high", Styled(s.band_high, st.PERCENT_LEFT_STYLE)],
        ["Target operation share", Styled(plan.target_operation_share(),
                                          st.PERCENT_LEFT_STYLE)],
        ["Situation factors", ", ".join(applied) if applied else "none"],
        ["Plan file", source.name or "–"],
    ]
    return rows


SUMMARY_HEADER = (
    "Scenario", "Total", "Operation", "Maintenance", "Operation share", "Band status",
    "Share vs target", "Δ total vs Baseline", "Δ % vs Baseline", "Fixed fee",
    "Separate estimate", "Transition", "Warnings", "Info",
)


def _forecast_text(summary: PlanFigures, currency: str) -> str:
    """``Forecast FY2027: 3,856,522 USD (+48,850 vs the Baseline budget; actuals through
    2027-09, see Plan vs actual)``; '' without actuals."""
    actuals = summary.actuals
    if actuals is None:
        return ""
    year = next((y for y in actuals.years if y.actual_to_date != 0), actuals.years[0])
    return (f"Forecast FY{year.fiscal_year}: {year.forecast:,.0f} {currency} "
            f"({year.variance_at_completion:+,.0f} vs the {actuals.budget_scenario} budget of "
            f"{year.plan:,.0f}; actuals through {actuals.through}, see Plan vs actual)")


def summary_sheet(plan: Plan, summary: PlanFigures, names: dict[str, str], currency: str,
                   source: SourceInfo) -> SheetBuilder:
    s = plan.settings
    target = plan.target_operation_share()
    forecast = _forecast_text(summary, currency)
    sh = SheetBuilder("Summary", cursor=5 if forecast else 4)
    sh.text(1, 1, f"IT operation vs maintenance budget: {s.plan_name}", st.TITLE_STYLE)
    totals = "" if plan.horizon.years == 1 else ", totals over the horizon"
    sh.text(2, 1, f"{years_text(plan)} · amounts in {currency}{totals} · reference band "
                  f"{s.band_low:.0%}–{s.band_high:.0%} operation share · target "
                  f"{target:.1%}", st.SUBTITLE_STYLE)
    best = summary.recommended
    sh.text(3, 1, f"Recommended: {best} (lowest NPV of cost within the band, PMO in-house; "
                  "see Business case)" if best else "No scenario is recommended: see "
                  "Business case", st.NOTE_STYLE)
    if forecast:
        sh.text(4, 1, forecast, st.NOTE_STYLE)
    facts = _plan_facts(plan, currency, source)
    sh.next_block("plan", facts, [st.KEY_STYLE, st.VALUE_STYLE], title="Plan", gap=1,
                  overflow=True)

    base = summary.baseline
    rows = []
    for sc in summary.scenarios:
        share = sc.operation_share
        delta = sc.total - base.total
        rows.append([
            sc.name, sc.total, sc.operation, sc.maintenance, share,
            sc.band_status, st.points_vs(share, target), delta,
            delta / base.total if base.total else None,
            sc.billing["fixed_fee"], sc.billing["separate_estimate"],
            sc.components["transition"], sc.count("warning"), sc.count("info"),
        ])
    money, pct = st.MONEY, st.PERCENT_STYLE
    table = sh.next_block(
        "scenarios", rows,
        [st.TEXT_STYLE, money, money, money, pct, st.CENTER_STYLE, st.SIGNED_POINTS_STYLE,
         st.SIGNED_MONEY, st.SIGNED_PERCENT_STYLE, money, money, money, st.INTEGER_STYLE,
         st.INTEGER_STYLE],
        header=SUMMARY_HEADER, title=f"Scenarios (amounts in {currency})", gap=1)
    n = len(rows)
    sheet = sh.layout
    sheet.conditional_formats += [
        ConditionalFormat(table.ref("Summary", 0, 4, n - 1, 4), "out of band",
                          outside=(s.band_low, s.band_high)),
        ConditionalFormat(table.ref("Summary", 0, 5, n - 1, 5), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]
    sh.text(table.last_row + 1, 1,
            "Share vs target: operation share minus the situation-aware target, in percentage "
            "points. Fixed fee / separate estimate: external labour by billing basis. Details "
            "per scenario on the scenario sheets; every amount is a sum of the Ledger sheet.",
            st.NOTE_STYLE)

    chart_row = table.last_row + 3
    if plan.horizon.years > 1:
        chart_row = _summary_years(sh, summary, s, target, table.last_row + 3) + 2
    chart_rows = 20
    data_row = chart_row + chart_rows + 1
    data = [[sc.name, sc.operation_share, s.band_low, s.band_high, target]
            for sc in summary.scenarios]
    sh.cursor = data_row
    band = sh.next_block(
        "share_chart_data", data, [st.TEXT_STYLE, pct, pct, pct, pct],
        header=("Scenario", "Operation share", "Band low", "Band high", "Target"),
        title="Chart data: operation share against the band")
    cats = table.ref("Summary", 0, 0, n - 1, 0)
    colours = st.SERIES_COLOURS
    sheet.charts.append(ChartSpec(
        "split", "Operation vs maintenance by scenario", cats,
        [SeriesSpec("Operation", table.ref("Summary", 0, 2, n - 1, 2), colours["operation"]),
         SeriesSpec("Maintenance", table.ref("Summary", 0, 3, n - 1, 3),
                    colours["maintenance"])],
        anchor=(chart_row, 1), stacked=True, y_title=currency, y_format="#,##0", y_min=0.0,
        end=(chart_row + chart_rows, 7)))
    sheet.charts.append(ChartSpec(
        "share", "Operation share against the band", band.ref("Summary", 0, 0, n - 1, 0),
        [SeriesSpec("Operation share", band.ref("Summary", 0, 1, n - 1, 1), colours["share"]),
         SeriesSpec("Band low", band.ref("Summary", 0, 2, n - 1, 2), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Band high", band.ref("Summary", 0, 3, n - 1, 3), colours["band"],
                    line=True, dashed=True),
         SeriesSpec("Target", band.ref("Summary", 0, 4, n - 1, 4), colours["target"],
                    line=True, dashed=True)],
        anchor=(chart_row, 7), y_title="Operation share", y_format="0%", y_min=0.0,
        y_max=1.0, end=(chart_row + chart_rows, len(SUMMARY_HEADER) + 1)))
    sheet.freeze = (3, 2)
    last_col = max(table.last_col, 12)
    sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                   area=Ref("Summary", 1, 1, band.last_row, last_col))
    sheet.tab_colour = st.NAVY
    return sh


YEARS_HEADER = ("Scenario", "Fiscal year", "Total", "Operation", "Maintenance",
                "Operation share", "Band status", "Share vs target", "Δ total vs Baseline",
                "Δ % vs Baseline", "FTE (mean)")


def _summary_years(sh: SheetBuilder, summary: PlanFigures, s: Any, target: float,
                   row: int) -> int:
    """The Summary's per-year table (a horizon of several years): every scenario's fiscal
    years with total, share, band status and change against Baseline; returns its last row."""
    base = summary.baseline
    rows: list[list[Any]] = []
    for sc in summary.scenarios:
        for y, year in enumerate(sc.years):
            base_total = base.years[y].total
            delta = year.total - base_total
            rows.append([sc.name if y == 0 else "", Styled(year.fiscal_year, st.YEAR_STYLE),
                         year.total, year.operation, year.maintenance, year.operation_share,
                         year.band_status, st.points_vs(year.operation_share, target), delta,
                         delta / base_total if base_total else None, year.fte])
    money, pct = st.MONEY, st.PERCENT_STYLE
    sh.cursor = row
    block = sh.next_block(
        "years", rows,
        [st.TEXT_STYLE, st.YEAR_STYLE, money, money, money, pct, st.CENTER_STYLE,
         st.SIGNED_POINTS_STYLE, st.SIGNED_MONEY, st.SIGNED_PERCENT_STYLE, st.FTE_STYLE],
        header=YEARS_HEADER, title="Per fiscal year (the recommendation needs the band in "
                                   "every year)", gap=1)
    n = len(rows)
    sh.layout.conditional_formats += [
        ConditionalFormat(block.ref("Summary", 0, 5, n - 1, 5), "out of band",
                          outside=(s.band_low, s.band_high)),
        ConditionalFormat(block.ref("Summary", 0, 6, n - 1, 6), "out of band",
                          equals=("operation-heavy", "maintenance-heavy")),
    ]
    return block.last_row
