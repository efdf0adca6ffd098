"""The Business case sheet: which scenario to take over the contract's life, and why.

Ranking by NPV of cost with the verdict on each scenario, cumulative savings by quarter (a line
per scenario), the bridge from Baseline to each scenario (table and waterfall charts) and the
figures per fiscal year. Every amount comes from the typed figures (group-bys of the ledger).
"""

from __future__ import annotations

from typing import Any

from omplan.core.model import BRIDGE_KEYS, BRIDGE_LABELS
from omplan.core.summary import PlanFigures, ScenarioFigures
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import ChartSpec, PrintSetup, SeriesSpec

SHEET = "Business case"
RANKING_HEADER = (
    "Rank", "Scenario", "NPV of cost", "Total cost", "Savings vs Baseline", "NPV of savings",
    "One-off (transition)", "Run-rate savings", "Payback (months)", "Pays back in",
    "Payback from change (months)", "Verdict",
)


def verdict(sc: ScenarioFigures, recommended: str | None) -> str:
    if sc.name == recommended:
        return "recommended"
    return f"not recommended: {sc.not_recommended}" if sc.not_recommended else ""


def _payback(sc: ScenarioFigures) -> tuple[Any, str]:
    case = sc.business_case
    if case is None:
        return None, "–"
    if case.payback_months is None:
        return None, "never in the horizon"
    if case.payback_quarter is None:
        return 0, "at once"
    q = sc.quarters[case.payback_quarter]
    return case.payback_months, f"FY{q.fiscal_year} {q.label}"


def business_sheet(figures: PlanFigures, currency: str) -> SheetBuilder:
    """The Business case sheet of a report."""
    sh = SheetBuilder(SHEET, cursor=5)
    best = figures.recommended
    years = figures.horizon_years or 1
    sh.text(1, 1, "Business case: which scenario to take, and why", st.TITLE_STYLE)
    sh.text(2, 1, f"Each scenario against Baseline over {years} fiscal year"
                  f"{'s' if years > 1 else ''} · amounts in {currency} · discount rate "
                  f"{(figures.discount_rate or 0):.1%} a year, at the end of each quarter",
            st.SUBTITLE_STYLE)
    sh.text(3, 1, (f"Recommended: {best}, the lowest NPV of cost among the scenarios within "
                   "the band in every fiscal year and with the PMO kept in-house."
                   if best else "No scenario is recommended: none is within the band in "
                   "every fiscal year with the PMO kept in-house."), st.NOTE_STYLE)
    money, signed = st.MONEY, st.SIGNED_MONEY

    ranked = sorted(figures.scenarios, key=lambda s: s.npv_cost)
    rows = []
    for rank, sc in enumerate(ranked, start=1):
        case = sc.business_case
        months, when = _payback(sc)
        rows.append([rank, sc.name, sc.npv_cost, sc.total,
                     case.savings if case else None, case.npv_savings if case else None,
                     case.one_off if case else None, case.run_rate_savings if case else None,
                     months, when, case.payback_from_change_months if case else None,
                     verdict(sc, best)])
    ranking = sh.next_block(
        "ranking", rows,
        [st.CENTER_STYLE, st.TEXT_STYLE, money, money, signed, signed, money, signed,
         st.INTEGER_STYLE, st.CENTER_STYLE, st.CENTER_STYLE, st.WRAP_STYLE],
        header=RANKING_HEADER, title="Ranking by NPV of cost", span=2)  # verdicts wrap
    sh.wrap_rows(ranking, len(RANKING_HEADER) - 1)
    sh.text(ranking.last_row + 1, 1,
            "Savings are Baseline minus the scenario (positive = cheaper). One-off is the "
            "transition cost; run-rate savings are the last fiscal year's savings without it. "
            "Payback: when the cumulative savings turn non-negative for good, in months from "
            "the plan's start; from change: in months from the first quarter in which the "
            "scenario's changes apply (its earliest From).", st.NOTE_STYLE)
    sh.cursor = ranking.last_row + 4

    others = [sc for sc in figures.scenarios if sc.business_case is not None]
    sheet = sh.layout
    waterfall_rows: list[int] = []
    if others:
        quarters = figures.scenarios[0].quarters
        labels = [f"FY{q.fiscal_year} {q.label}" for q in quarters]
        n_q = len(labels)
        title = "Cumulative savings vs Baseline by quarter"
        colours = [st.SCENARIO_COLOURS[i % len(st.SCENARIO_COLOURS)] for i in range(len(others))]
        cases = [sc.business_case for sc in others if sc.business_case is not None]
        if years == 1:  # a row per scenario, the four quarters across
            rows = [[sc.name, *case.cumulative_savings] for sc, case in zip(others, cases,
                                                                            strict=True)]
            cumulative = sh.next_block("cumulative", rows, [st.TEXT_STYLE] + [signed] * n_q,
                                       header=("Scenario", *labels), title=title)
            chart_row = sh.cursor
            sheet.charts.append(ChartSpec(
                "cumulative", "Cumulative savings vs Baseline",
                cumulative.header_ref(SHEET, 1, n_q),
                [SeriesSpec(sc.name, cumulative.ref(SHEET, i, 1, i, n_q), colours[i],
                            line=True) for i, sc in enumerate(others)],
                anchor=(chart_row, 1), y_title=currency, y_format="#,##0",
                end=(chart_row + 18, 9), labels_low=True))
            sh.cursor = chart_row + 20
        else:  # several years: a row per quarter (any horizon fits), the chart beside it
            rows = [[label, *(case.cumulative_savings[k] for case in cases)]
                    for k, label in enumerate(labels)]
            cumulative = sh.next_block("cumulative", rows,
                                       [st.TEXT_STYLE] + [signed] * len(others),
                                       header=("Quarter", *(sc.name for sc in others)),
                                       title=title)
            col = len(others) + 3
            sheet.charts.append(ChartSpec(
                "cumulative", "Cumulative savings vs Baseline",
                cumulative.ref(SHEET, 0, 0, n_q - 1, 0),
                [SeriesSpec(sc.name, cumulative.ref(SHEET, 0, 1 + i, n_q - 1, 1 + i),
                            colours[i], line=True) for i, sc in enumerate(others)],
                anchor=(cumulative.row, col), y_title=currency, y_format="#,##0",
                end=(cumulative.row + 18, col + 8), labels_low=True))
            sh.cursor = max(cumulative.last_row, cumulative.row + 18) + 3

        base = figures.scenarios[0]
        rows = [[BRIDGE_LABELS[key], *(sc.business_case.bridge[key] for sc in others
                                       if sc.business_case is not None)]
                for key in BRIDGE_KEYS]
        rows.append(["Change in total", *(sc.total - base.total for sc in others)])
        bridge = sh.next_block("bridge", rows, [st.LABEL_STYLE] + [signed] * len(others),
                               header=("Bridge from Baseline", *(sc.name for sc in others)),
                               title=f"What changes the cost: Baseline {base.total:,.0f} "
                                     f"{currency} to each scenario",
                               row_kinds={len(rows) - 1: "total"})
        sh.text(bridge.last_row + 1, 1,
                "FTE (volume): more or fewer FTE at the scenario's rates; rates (price): the "
                "same FTE at other rates (sourcing, vendor, rate factors). The rows add up to "
                "the change in total.", st.NOTE_STYLE)
        sh.cursor = bridge.last_row + 4
        for _ in others:  # the waterfalls, one under the other; their data goes at the end
            waterfall_rows.append(sh.cursor)
            sh.cursor += WATERFALL_ROWS + 2

    rows = []
    for sc in figures.scenarios:
        for y in sc.years:
            base_y = figures.scenarios[0].years[sc.years.index(y)]
            rows.append([sc.name, y.fiscal_year, y.total, base_y.total - y.total, y.operation,
                         y.maintenance, y.operation_share, y.band_status, y.fte])
    sh.next_block("years", rows,
                  [st.TEXT_STYLE, st.YEAR_STYLE, money, signed, money, money,
                   st.PERCENT_STYLE, st.CENTER_STYLE, st.FTE_STYLE],
                  header=("Scenario", "Fiscal year", "Total", "Savings vs Baseline",
                          "Operation", "Maintenance", "Operation share", "Band status",
                          "FTE (mean)"),
                  title="Per fiscal year")
    if others:
        base = figures.scenarios[0]
        for i, (sc, row) in enumerate(zip(others, waterfall_rows, strict=True)):
            _waterfall(sh, base, sc, currency, i, row)
    sheet.column_widths.update({1: 22.0, len(RANKING_HEADER): 30.0,
                                len(RANKING_HEADER) + 1: 30.0})
    sheet.freeze = (4, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 3))
    sheet.tab_colour = st.NAVY
    return sh


#: Rows a waterfall chart covers.
WATERFALL_ROWS = 16


def _waterfall(sh: SheetBuilder, base: ScenarioFigures, sc: ScenarioFigures, currency: str,
               i: int, chart_row: int) -> None:
    """A waterfall from Baseline to ``sc`` as stacked columns on an invisible base: its data
    at the cursor (the end of the sheet), its chart at ``chart_row``."""
    assert sc.business_case is not None
    steps = [(BRIDGE_LABELS[k], sc.business_case.bridge[k]) for k in BRIDGE_KEYS]
    rows: list[list[Any]] = [["Baseline", 0.0, base.total, 0.0, 0.0]]
    running = base.total
    for label, amount in steps:
        low = min(running, running + amount)
        rows.append([label, low, 0.0, max(amount, 0.0), max(-amount, 0.0)])
        running += amount
    rows.append([sc.name, 0.0, sc.total, 0.0, 0.0])
    block = sh.next_block(f"waterfall_{i}", rows,
                          [st.LABEL_STYLE, st.MONEY, st.MONEY, st.MONEY, st.MONEY],
                          header=("Step", "Base", "Total", "Increase", "Decrease"),
                          title=f"Chart data: waterfall from Baseline to {sc.name}", gap=1)
    n = len(rows)
    colours = st.SERIES_COLOURS
    sh.layout.charts.append(ChartSpec(
        f"waterfall_{i}", f"Baseline to {sc.name}", block.ref(SHEET, 0, 0, n - 1, 0),
        [SeriesSpec("Base", block.ref(SHEET, 0, 1, n - 1, 1), "FFFFFF", hidden=True),
         SeriesSpec("Total", block.ref(SHEET, 0, 2, n - 1, 2), colours["total"]),
         SeriesSpec("Increase", block.ref(SHEET, 0, 3, n - 1, 3), colours["increase"]),
         SeriesSpec("Decrease", block.ref(SHEET, 0, 4, n - 1, 4), colours["decrease"])],
        anchor=(chart_row, 1), stacked=True, y_title=currency, y_format="#,##0", y_min=0.0,
        end=(chart_row + WATERFALL_ROWS, 10)))


__all__ = ["BRIDGE_LABELS", "RANKING_HEADER", "SHEET", "business_sheet", "verdict"]
