"""The Risk sheet: how sure the figures are, on one printed page.

Each scenario's NPV of cost and of savings at P10 / P50 / P90 over the Monte Carlo's draws,
its payback, and the chances that it saves, stays within the band and is the recommended one;
the distribution of NPV of savings (each scenario's draws in order, P10 / P50 / P90 marked on
the axis, break-even dashed); a tornado per scenario (NPV of savings with one driver at Low and
at High, the others as entered; bars sorted by swing); and the drivers as entered. Every
number comes from :class:`~omplan.core.risk.RiskFigures`; the chart data sit below the page.
"""

from __future__ import annotations

from typing import Any

from omplan.core.model import ALL_TARGETS, ESCALATION_DRIVER, VENDOR_OVERHEAD_DRIVER
from omplan.core.risk import CURVE_PERCENTILES, RiskFigures, ScenarioRisk, TornadoEntry
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import Block, ChartSpec, PrintSetup, Ref, SeriesSpec, Styled

__all__ = ["SHEET", "TABLE_HEADER", "risk_sheet"]

SHEET = "Risk"
TABLE_HEADER = (
    "Scenario", "Payback P10 (months)", "Payback P50 (months)", "Payback P90 (months)",
    "NPV of cost P10", "NPV of cost P50", "NPV of cost P90", "NPV of savings as planned",
    "NPV of savings P10", "NPV of savings P50", "NPV of savings P90", "Chance of saving",
    "Within the band every year", "Recommended",
)
#: Points of the distribution chart (every 5th percentile) and the ones named on its axis.
CURVE_STEP = 5
CURVE_MARKS = {0: "P0", 10: "P10", 50: "P50", 90: "P90", 100: "P100"}
#: Charts per row of the page and the columns and rows one chart covers.
CHARTS_ACROSS = 3
CHART_COLS = 5
CHART_ROWS = 19
DASH = "–"
#: Tornado bars: the driver at Low (light) and at High (dark); neither is good or bad.
LOW_COLOUR, HIGH_COLOUR = "9DC3E6", "1F3864"


def driver_label(driver: str, applies_to: str) -> str:
    """'FX INR', 'Transition', 'Rate Offshore': a driver as the tornado names it."""
    return driver if applies_to == ALL_TARGETS else f"{driver} {applies_to}"


def _payback(months: int | None) -> Any:
    return "never" if months is None else months


def _scenario_row(s: ScenarioRisk) -> list[Any]:
    cost = [s.npv_cost.p10, s.npv_cost.p50, s.npv_cost.p90]
    if s.npv_savings is None or s.payback_months is None or s.p_savings is None:
        dash = Styled(DASH, st.CENTER_STYLE)
        return [s.name, DASH, DASH, DASH, *cost, dash, dash, dash, dash, dash,
                s.p_within_band, s.p_recommended]
    return [s.name, *(_payback(m) for m in s.payback_months), *cost, s.base_npv_savings,
            s.npv_savings.p10, s.npv_savings.p50, s.npv_savings.p90, s.p_savings,
            s.p_within_band, s.p_recommended]


def risk_sheet(figures: RiskFigures, currency: str, discount_rate: float | None = None,
               recommended: str | None = None) -> SheetBuilder:
    """The Risk sheet of a report: ``discount_rate`` and the plan's ``recommended`` scenario
    (as entered) only complete the subtitle and the note."""
    sh = SheetBuilder(SHEET, cursor=5)
    others = [s for s in figures.scenarios if s.npv_savings is not None]
    n_drivers = len(figures.drivers)
    rate = f" · discount rate {discount_rate:.1%}" if discount_rate is not None else ""
    sh.text(1, 1, "Risk: how sure are the savings?", st.TITLE_STYLE)
    sh.text(2, 1, f"{figures.draws:,} draws of the Risks sheet's {n_drivers} driver"
                  f"{'s' if n_drivers != 1 else ''} (seed {figures.seed}), the same draws for "
                  f"every scenario · amounts in {currency}{rate}", st.SUBTITLE_STYLE)
    sh.text(3, 1, "P10 / P50 / P90: 10 % / 50 % / 90 % of the draws come out at or below the "
                  "value, so 8 draws in 10 fall between P10 and P90. Savings are Baseline "
                  "minus the scenario (positive = cheaper)."
            + (f" As planned, {recommended} is recommended." if recommended else ""),
            st.NOTE_STYLE)
    money, signed, pct = st.AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE, st.PERCENT_STYLE
    table = sh.next_block(
        "scenarios", [_scenario_row(s) for s in figures.scenarios],
        [st.TEXT_STYLE, st.CENTER_STYLE, st.CENTER_STYLE, st.CENTER_STYLE, money, money,
         money, signed, signed, signed, signed, pct, pct, pct],
        header=TABLE_HEADER, title=f"Each scenario over the draws ({currency}; payback in "
                                   "months from the start of the plan)", gap=1)
    sh.text(table.last_row + 1, 1,
            "Chance of saving: draws with an NPV of savings above zero. Within the band: "
            "operation 40–60 % (the plan's band) in every fiscal year. Recommended: draws in "
            "which the scenario has the lowest NPV of cost of those within the band with the "
            "PMO in-house.", st.NOTE_STYLE)
    charts_row = table.last_row + 3

    # the page: the distribution over two slots, then a tornado per scenario, three to a row
    slots = [(charts_row + (i // CHARTS_ACROSS) * (CHART_ROWS + 1),
              1 + (i % CHARTS_ACROSS) * CHART_COLS) for i in range(2 + len(others))]
    slots = [slots[0], *slots[2:]]
    last_chart_row = slots[-1][0] + CHART_ROWS if others else charts_row
    drivers_row = last_chart_row + 1
    drivers = sh.add(_drivers_block(figures, drivers_row), gap=3)
    page_end = drivers.last_row
    sh.cursor = page_end + 3
    sh.text(sh.cursor, 1, "Chart data", st.SECTION_STYLE)
    sh.cursor += 2
    if others:
        _distribution(sh, others, currency, slots[0])
        for i, s in enumerate(others):
            entries = [t for t in figures.tornado if t.scenario == s.name]
            _tornado(sh, s, entries, currency, i, slots[i + 1])

    sheet = sh.layout
    width = CHARTS_ACROSS * CHART_COLS
    sheet.column_widths.update({1: 24.0, **{c: 12.0 for c in range(2, width + 1)},
                                len(TABLE_HEADER): 14.0})
    sheet.freeze = None
    one_page = len(slots) + 1 <= 2 * CHARTS_ACROSS
    sheet.print_setup = PrintSetup(area=Ref(SHEET, 1, 1, page_end, width),
                                   pages_tall=1 if one_page else 0)
    sheet.tab_colour = st.NAVY
    return sh


def _drivers_block(figures: RiskFigures, row: int) -> Block:
    """The drivers as entered: percent cells for rates and shares, two decimals for factors."""
    rows = []
    for d in figures.drivers:
        style = st.PERCENT_STYLE if d.driver in (ESCALATION_DRIVER, VENDOR_OVERHEAD_DRIVER) \
            else st.FTE_STYLE
        rows.append([d.driver, d.applies_to, d.distribution, d.location,
                     *(Styled(v, style) for v in (d.low, d.likely, d.high))])
    return Block("drivers", row, 1, rows,
                 [st.TEXT_STYLE, st.TEXT_STYLE, st.CENTER_STYLE, st.CENTER_STYLE,
                  st.FTE_STYLE, st.FTE_STYLE, st.FTE_STYLE],
                 header=("Driver", "Applies to", "Distribution", "Entered at", "Low", "Likely",
                         "High"),
                 title="The drivers (factors: 1.00 = as planned; rates and shares in %)")


def _distribution(sh: SheetBuilder, others: list[ScenarioRisk], currency: str,
                  slot: tuple[int, int]) -> None:
    """Each scenario's NPV of savings at every 5th percentile: data here, chart at ``slot``."""
    points = list(range(0, 101, CURVE_STEP))
    rows = []
    for p in points:
        k = CURVE_PERCENTILES.index(p)
        rows.append([CURVE_MARKS.get(p, ""), p / 100, *(s.savings_curve[k] for s in others),
                     0.0])
    block = sh.next_block(
        "distribution", rows,
        [st.CENTER_STYLE, st.PERCENT_STYLE, *([st.SIGNED_AMOUNT_STYLE] * len(others)),
         st.SIGNED_AMOUNT_STYLE],
        header=("Axis", "Draws at or below", *(s.name for s in others), "Break-even"),
        title=f"Distribution of NPV of savings ({currency}): the value below which each share "
              "of the draws falls")
    n = len(rows)
    colours = st.SCENARIO_COLOURS
    series = [SeriesSpec(s.name, block.ref(SHEET, 0, 2 + i, n - 1, 2 + i),
                         colours[(i + 1) % len(colours)], line=True)
              for i, s in enumerate(others)]
    series.append(SeriesSpec("Break-even", block.ref(SHEET, 0, 2 + len(others), n - 1,
                                                     2 + len(others)),
                             st.GREY_TEXT, line=True, dashed=True))
    row, col = slot
    sh.layout.charts.append(ChartSpec(
        "distribution", "NPV of savings: the draws from lowest (P0) to highest (P100)",
        block.ref(SHEET, 0, 0, n - 1, 0), series, anchor=(row, col),
        y_title=currency, y_format="#,##0", end=(row + CHART_ROWS, col + 2 * CHART_COLS),
        labels_low=True))


def _tornado(sh: SheetBuilder, s: ScenarioRisk, entries: list[TornadoEntry], currency: str,
             i: int, slot: tuple[int, int]) -> None:
    """A scenario's tornado: NPV of savings with each driver at Low and at High, as the change
    from the plan as entered; the widest swing at the top (bars are drawn bottom-up)."""
    base = s.base_npv_savings or 0.0
    ordered = sorted(entries, key=lambda t: t.swing)
    rows = [[driver_label(t.driver, t.applies_to), t.npv_savings_low, t.npv_savings_high,
             (t.npv_savings_low or 0.0) - base, (t.npv_savings_high or 0.0) - base]
            for t in ordered]
    block = sh.next_block(
        f"tornado_{i}", rows,
        [st.TEXT_STYLE, st.SIGNED_AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE,
         st.SIGNED_AMOUNT_STYLE, st.SIGNED_AMOUNT_STYLE],
        header=("Driver", "NPV of savings at Low", "at High", "Change at Low",
                "Change at High"),
        title=f"Tornado of {s.name} ({currency}): NPV of savings {base:,.0f} as planned")
    n = len(rows)
    row, col = slot
    sh.layout.charts.append(ChartSpec(
        f"tornado_{i}", f"{s.name}: change in NPV of savings",
        block.ref(SHEET, 0, 0, n - 1, 0),
        # High first: horizontal bars stack series bottom-up, so Low is drawn above High
        # and the legend, read in reverse, lists Low first
        [SeriesSpec("Driver at High", block.ref(SHEET, 0, 4, n - 1, 4), HIGH_COLOUR),
         SeriesSpec("Driver at Low", block.ref(SHEET, 0, 3, n - 1, 3), LOW_COLOUR)],
        anchor=(row, col), y_title=currency, y_format="#,##0",
        end=(row + CHART_ROWS, col + CHART_COLS), labels_low=True, horizontal=True))
