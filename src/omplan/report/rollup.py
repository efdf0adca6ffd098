"""The rollup workbook as layout data (pure: no files, no openpyxl): the quarter figures of many
plans (business units) side by side, for one fiscal year, quarter and currency, with plan
against actual for the plans that have actual spend. Each plan's figures are its quarter
figures (the JSON's ``quarters``), as a batch task reports them; the total row adds them up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omplan.core.ledger import band_status
from omplan.core.periods import MONTH_NAMES, month_label, quarter_month_labels
from omplan.report import styles as st
from omplan.report.actuals import FORECAST_RULE, pct
from omplan.report.budget_quarter import FY_CONVENTION, na, share_of
from omplan.report.builder import SheetBuilder
from omplan.report.file_names import rollup_name
from omplan.report.layout import (
    ChartSpec,
    ConditionalFormat,
    PrintSetup,
    ReportLayout,
    SeriesSpec,
    Styled,
)

__all__ = ["ACTUALS_HEADER", "FAILED_HEADER", "ROLLUP_HEADER", "FailedPlan", "RollupLine",
           "build_rollup_layout", "calendar_note", "rollup_totals"]


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


ACTUALS_HEADER = ("Plan", "Plan file", "Actuals through", "Budget", "Budget to date", "Actual",
                  "Variance", "Variance %", "Forecast", "FY budget", "FY actual to date",
                  "FY forecast", "FY variance at completion")
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
                           "operation_share": share_of(operation, total)}
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


def calendar_note(fiscal_year: int, fy_start_month: int, quarter: str) -> str:
    """What a rollup says of its months: one fiscal calendar, and where the others are."""
    months = quarter_month_labels(fiscal_year, fy_start_month, quarter)
    return (f"Every plan here starts its fiscal year in {MONTH_NAMES[fy_start_month - 1]}, so "
            f"{quarter} FY{fiscal_year} is {months[0]} – {months[-1]} for each. Plans whose "
            "fiscal year starts in another month are rolled up on their own: their "
            f"{quarter} FY{fiscal_year} is other months, and a batch that has several fiscal "
            "calendars names each rollup by its months (this one "
            f"{rollup_name(fiscal_year, quarter, None, fy_start_month)}).")


def _through(actuals: Mapping[str, Any]) -> str:
    """``Sep 2027`` from the ``through`` month ``2027-09``."""
    year, month = (int(x) for x in str(actuals["through"]).split("-"))
    return month_label(year, month)


def build_rollup_layout(lines: Sequence[RollupLine], failed: Sequence[FailedPlan], *,
                        fiscal_year: int, currency: str, quarter: str, scenario: str,
                        generated: datetime | None = None, version: str = "",
                        generated_note: str = "", fy_start_month: int = 1) -> ReportLayout:
    """One row per plan (business unit) for one fiscal year, quarter, fiscal calendar (the
    plans' ``fy_start_month``) and currency."""
    generated = generated or datetime(1980, 1, 1)
    name = "Rollup"
    label = f"{quarter} FY{fiscal_year}"
    months = quarter_month_labels(fiscal_year, fy_start_month, quarter)
    calendar = calendar_note(fiscal_year, fy_start_month, quarter)
    money, pct = st.MONEY, st.PERCENT_STYLE
    sh = SheetBuilder(name, cursor=4)
    sh.text(1, 1, f"{label} rollup: {scenario}, amounts in {currency}", st.TITLE_STYLE)
    sh.text(2, 1, f"{len(lines)} plan{'s' if len(lines) != 1 else ''} in {currency}"
                  + (f" · {len(failed)} not included (errors below)" if failed else "")
                  + f" · {months[0]} – {months[-1]}, fiscal years from "
                  f"{MONTH_NAMES[fy_start_month - 1]} · amounts in other currencies and "
                  "quarters of other fiscal calendars are never added here", st.SUBTITLE_STYLE)
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
        ["Months", calendar],
        ["Currencies", "Amounts in different currencies are never added up: a batch with "
                       "several currencies has one rollup per fiscal year and currency."],
    ]
    about.next_block("rollup", facts, [st.KEY_STYLE, st.WRAP_STYLE], title="Rollup")
    for i in (9, 10, 11):  # the long facts wrap in a column 60 characters wide
        about.layout.row_heights[4 + i] = max(47.0, 15.0 * -(-len(str(facts[i][1])) // 55) + 2)
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
                     a["plan_to_date"] if reported else na(),
                     a["actual"] if reported else na(), a["variance"] if reported else na(),
                     a["variance_pct"] if reported else na(), a["forecast"],
                     a["fiscal_year_plan"], a["actual_to_date"], a["fiscal_year_forecast"],
                     a["variance_at_completion"]])
    sums = totals["actuals"]
    n = len(rows)
    rows.append([f"Total ({n} plan{'s' if n != 1 else ''} with actuals)", "", "", sums["plan"],
                 sums["plan_to_date"], sums["actual"], sums["variance"], sums["variance_pct"],
                 sums["forecast"],
                 sums["fiscal_year_plan"], sums["actual_to_date"],
                 sums["fiscal_year_forecast"], sums["variance_at_completion"]])
    sh.next_block(
        "actuals", rows,
        [st.TEXT_STYLE, st.TEXT_STYLE, st.CENTER_STYLE, money, money, money, signed,
         st.SIGNED_PERCENT_STYLE, money, money, money, money, signed],
        header=ACTUALS_HEADER,
        title=f"Plan vs actual ({label}) and the fiscal year's forecast",
        row_kinds={n: "total"})
    missing = [line.file for line in lines if line.actuals is None]
    note = (f"Without actuals (plan only): {', '.join(missing)}. " if missing else "")
    sh.text(sh.cursor - 1, 1, note + "Budget to date is the plan of the months reported; "
            "variance compares the months reported with it. " + FORECAST_RULE, st.NOTE_STYLE)
    sh.cursor += 1

