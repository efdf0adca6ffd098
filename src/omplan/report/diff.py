"""The workbook of ``omplan diff OLD NEW --out FILE.xlsx``: the bridge and the change log.

Sheets: **Bridge** (the two versions and their fingerprints, the bridge of each compared
scenario's total and NPV of cost by input category, and a waterfall per scenario from OLD to
NEW), **Changes** (the change log as an Excel Table) and **About**. Values only, no formulas.

The waterfalls are meant to be read: the value axis starts just below the lowest level the
bars reach (not at 0) when the steps are small beside the totals, and says so; every step and
both totals carry a data label; the invisible base of the columns is not in the legend; steps
that move nothing are left out of the chart (the table above lists every step).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from omplan.core.versions import BridgeStep, PlanComparison, VersionBridge
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.diff_text import format_key
from omplan.report.layout import (
    ChartSpec,
    PrintSetup,
    Ref,
    ReportLayout,
    SeriesSpec,
    Styled,
    TableSpec,
)

BRIDGE_SHEET, CHANGES_SHEET, ABOUT_SHEET = "Bridge", "Changes", "About"
CHANGES_HEADER = ("Sheet", "Key", "Column", "Old value", "New value", "Change")
#: short names of the categories for a chart's category axis
SHORT_CATEGORY = {
    "Roles and Allocation": "Roles & allocation",
    "Costs, Billing, Contracts, Profile and Systems": "Costs & other",
}
#: light fills, so that the dark data labels read on them: totals, increases (cost up),
#: decreases (cost down)
WATERFALL_COLOURS = {"total": "8EAADB", "increase": "F4A09C", "decrease": "93CF97"}
#: rows a waterfall chart covers
WATERFALL_ROWS = 18
#: data label formats (and those of the chart data's cells, which LibreOffice's labels
#: follow): totals, increases with a plus, decreases (stored as positive heights) with a minus
TOTAL_LABELS = "#,##0"
INCREASE_LABELS = "+#,##0"
DECREASE_LABELS = "-#,##0"
#: the cell style of a decrease's height: shown with a minus, as in the chart's label
DECREASE_STYLE = "omplan decrease"
INCREASE_STYLE = "omplan increase"


def waterfall_axis_min(levels: list[float]) -> float | None:
    """Where the value axis of a waterfall starts: None (at 0) when the steps are large beside
    the totals; else a round number below the lowest level, leaving half the range of the
    steps as a margin, so that small steps show as columns one can read."""
    low, high = min(levels), max(levels)
    if low <= 0 or high <= 0:
        return None
    span = high - low
    if span >= 0.5 * high:
        return None
    margin = max(0.5 * span, 0.001 * high)
    unit = 10 ** math.floor(math.log10(margin))
    start = math.floor((low - margin) / unit) * unit
    return float(start) if start > 0 else None


def _short(step: BridgeStep) -> str:
    return " + ".join(SHORT_CATEGORY.get(c, c) for c in step.categories)


def _years(bridge: VersionBridge) -> str:
    years = bridge.fiscal_years
    if years is None:
        return ""
    return f"FY{years[0]}" if years[0] == years[1] else f"FY{years[0]}–FY{years[1]}"


def _bridge_table(sh: SheetBuilder, bridge: VersionBridge, field: str, key: str,
                  title: str) -> None:
    names = bridge.scenarios
    rows: list[list[Any]] = [["OLD", *(getattr(bridge.old[n], field) for n in names)]]
    for step in bridge.steps:
        rows.append([step.label, *(getattr(step.scenarios[n], field) for n in names)])
    rows.append(["NEW", *(getattr(bridge.new[n], field) for n in names)])
    styles = [st.WRAP_STYLE] + [st.SIGNED_AMOUNT_STYLE] * len(names)
    ends = {0: st.AMOUNT_STYLE + " subtotal", len(rows) - 1: st.AMOUNT_STYLE + " total"}
    body = [[row[0], *(Styled(v, ends[i]) if i in ends else v for v in row[1:])]
            for i, row in enumerate(rows)]
    block = sh.next_block(key, body, styles, header=("Step", *names), title=title,
                          row_kinds={0: "subtotal", len(rows) - 1: "total"}, gap=1)
    sh.wrap_rows(block, 0)


def _waterfall(sh: SheetBuilder, bridge: VersionBridge, name: str, currency: str, i: int,
               chart_row: int) -> None:
    """A waterfall of ``name``'s total from OLD to NEW: its data at the cursor (the end of the
    sheet), its chart at ``chart_row``, a note under the chart when the axis does not start
    at 0."""
    old, new = bridge.old[name].total, bridge.new[name].total
    moving = [s for s in bridge.steps if abs(s.scenarios[name].total) >= 0.5]
    # a blank cell is no column and gets no data label (a 0 would be labelled "0")
    rows: list[list[Any]] = [["OLD", 0.0, old, None, None]]
    running, levels = old, [old, new]
    for step in moving:
        amount = step.scenarios[name].total
        rows.append([_short(step), min(running, running + amount), None,
                     amount if amount > 0 else None, -amount if amount < 0 else None])
        running += amount
        levels.append(running)
    rows.append(["NEW", 0.0, new, None, None])
    block = sh.next_block(f"waterfall_{i}", rows,
                          [st.LABEL_STYLE, st.AMOUNT_STYLE, st.AMOUNT_STYLE, INCREASE_STYLE,
                           DECREASE_STYLE],
                          header=("Step", "Base (hidden)", "Total", "Increase", "Decrease"),
                          title=f"Chart data: waterfall of {name}", gap=1)
    n = len(rows)
    colours = WATERFALL_COLOURS
    start = waterfall_axis_min(levels)
    sheet = sh.layout
    sheet.charts.append(ChartSpec(
        f"waterfall_{i}", f"{name}: total from OLD to NEW ({currency})",
        block.ref(BRIDGE_SHEET, 0, 0, n - 1, 0),
        [SeriesSpec("Base", block.ref(BRIDGE_SHEET, 0, 1, n - 1, 1), "FFFFFF", hidden=True,
                    legend=False),
         SeriesSpec("Total", block.ref(BRIDGE_SHEET, 0, 2, n - 1, 2), colours["total"],
                    labels=TOTAL_LABELS),
         SeriesSpec("Increase", block.ref(BRIDGE_SHEET, 0, 3, n - 1, 3), colours["increase"],
                    labels=INCREASE_LABELS),
         SeriesSpec("Decrease", block.ref(BRIDGE_SHEET, 0, 4, n - 1, 4), colours["decrease"],
                    labels=DECREASE_LABELS)],
        anchor=(chart_row, 1), stacked=True, y_title=currency, y_format="#,##0", y_min=start,
        end=(chart_row + WATERFALL_ROWS, 8)))
    note = (f"The value axis starts at {start:,.0f} {currency}, not at 0, so that the steps "
            "can be read; the OLD and NEW columns are cut there. Steps that change nothing "
            "are left out." if start is not None else
            "Steps that change nothing are left out.")
    sh.text(chart_row + WATERFALL_ROWS, 1, note, st.NOTE_STYLE)


def bridge_sheet(comparison: PlanComparison) -> SheetBuilder:
    """The Bridge sheet: versions, fingerprints, notes, bridge tables and waterfalls."""
    bridge = comparison.bridge
    currency = bridge.currency or ""
    sh = SheetBuilder(BRIDGE_SHEET, cursor=5)
    old, new = comparison.old, comparison.new
    sh.text(1, 1, "What changed between two versions of the plan", st.TITLE_STYLE)
    scope = f" · amounts in {currency} · {_years(bridge)}" if bridge.steps else ""
    sh.text(2, 1, f"OLD {old.file} → NEW {new.file}{scope}", st.SUBTITLE_STYLE)
    n = len(comparison.changes)
    sh.text(3, 1, "Same inputs: the two plans hold the same values (formatting aside)."
            if comparison.same_inputs else
            f"{n} change{'s' if n != 1 else ''} in the inputs: see the {CHANGES_SHEET} sheet.",
            st.NOTE_STYLE)
    sh.next_block("versions", [["OLD", old.file, old.fingerprint],
                               ["NEW", new.file, new.fingerprint]],
                  [st.KEY_STYLE, st.TEXT_STYLE, st.TEXT_STYLE],
                  header=("Version", "File", "Inputs fingerprint (SHA-256)"),
                  title="The two versions", gap=1, overflow=True)
    if bridge.notes:
        notes = sh.next_block("notes", [[note] for note in bridge.notes], [st.WRAP_STYLE],
                              header=("What is not compared, and why",), span=6, gap=1)
        sh.wrap_rows(notes, 0)
    sh.cursor += 1
    chart_rows: list[int] = []
    if bridge.steps:
        _bridge_table(sh, bridge, "total", "bridge_total",
                      f"Total cost, step by step ({currency}, {_years(bridge)})")
        _bridge_table(sh, bridge, "npv_cost", "bridge_npv",
                      f"NPV of cost, step by step ({currency})")
        sh.text(sh.cursor, 1, "Each step takes the sheets of its input category from NEW, in "
                "this fixed order, into the plan of the step before; the steps add up to NEW "
                "− OLD. A step naming two categories: the plan with the first alone was not "
                "valid.", st.NOTE_STYLE)
        sh.cursor += 2
        for _ in bridge.scenarios:
            chart_rows.append(sh.cursor)
            sh.cursor += WATERFALL_ROWS + 2
    for i, (name, row) in enumerate(zip(bridge.scenarios, chart_rows, strict=True)):
        _waterfall(sh, bridge, name, currency, i, row)
    sheet = sh.layout
    sheet.column_widths.update({1: 30.0})
    sheet.freeze = (4, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 3))
    sheet.tab_colour = st.NAVY
    return sh


def changes_sheet(comparison: PlanComparison) -> SheetBuilder:
    """The change log, one entry per row, in an Excel Table (filter by sheet, by column)."""
    rows = []
    for c in comparison.changes:
        rows.append([c.sheet, format_key(c.key), c.column, _cell(c.old), _cell(c.new),
                     c.change or "changed"])
    sh = SheetBuilder(CHANGES_SHEET)
    block = sh.next_block("changes", rows, [st.TEXT_STYLE, st.WRAP_STYLE, st.TEXT_STYLE,
                                            st.VALUE_STYLE, st.VALUE_STYLE, st.TEXT_STYLE],
                          header=CHANGES_HEADER)
    sheet = sh.layout
    last = max(block.last_row, block.first_row)
    sheet.tables.append(TableSpec("Changes", Ref(CHANGES_SHEET, 1, 1, last, len(CHANGES_HEADER)),
                                  CHANGES_HEADER, style="TableStyleLight9"))
    sheet.column_widths.update({2: 40.0})
    sheet.freeze = (2, 1)
    sheet.show_gridlines = True
    sheet.print_setup = PrintSetup(title_rows=(1, 1))
    return sh


def _cell(value: Any) -> Any:
    """A changed value as a cell: numbers and text as they are, yes/no, blank as empty."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def about_sheet(comparison: PlanComparison, generated: datetime, version: str) -> SheetBuilder:
    sh = SheetBuilder(ABOUT_SHEET, cursor=3)
    sh.text(1, 1, "About this comparison", st.TITLE_STYLE)
    rows: list[list[Any]] = [
        ["Produced by", f"omplan {version}".strip()],
        ["Generated (UTC)", Styled(generated, st.DATETIME_STYLE)],
        ["OLD", comparison.old.file],
        ["NEW", comparison.new.file],
        ["Inputs fingerprint", "SHA-256 of the values of every input table, as omplan reads "
                               "them: a plan saved again with other fonts, column widths, "
                               "column order or header case keeps it."],
        ["Change log", "Rows matched by their key within each sheet (e.g. Staffing by system, "
                       "role, sourcing and vendor); a changed value, an added or a removed row."],
        ["Bridge", "From OLD to NEW by input category in a fixed order: Settings, FX, "
                   "Escalation, Rates, Roles and Allocation, Staffing, Costs (with Billing, "
                   "Contracts, Profile and Systems), Scenarios. Actual spend changes no "
                   "figure of the plan and is not in the bridge."],
    ]
    block = sh.next_block("about", rows, [st.KEY_STYLE, st.WRAP_STYLE], span=4)
    sh.wrap_rows(block, 1)
    sh.layout.column_widths = {1: 22.0, 2: 30.0, 3: 30.0, 4: 30.0, 5: 20.0}
    sh.layout.print_setup = PrintSetup(landscape=False)
    return sh


def diff_layout(comparison: PlanComparison, generated: datetime,
                version: str = "") -> ReportLayout:
    """The layout of the comparison workbook (pure data)."""
    currency = comparison.bridge.currency or "USD"
    builders = [bridge_sheet(comparison), changes_sheet(comparison),
                about_sheet(comparison, generated, version)]
    sheets = [b.finish(currency) for b in builders]
    title = f"omplan diff: {comparison.old.file} → {comparison.new.file}"
    styles = st.report_styles(currency)
    for name, code in ((INCREASE_STYLE, INCREASE_LABELS), (DECREASE_STYLE, DECREASE_LABELS)):
        styles[name] = st.CellStyle(name, number_format=code, vertical="top")
    return ReportLayout(sheets, styles, dict(st.HIGHLIGHTS), title, generated)


__all__ = ["CHANGES_HEADER", "bridge_sheet", "changes_sheet", "diff_layout",
           "waterfall_axis_min"]
