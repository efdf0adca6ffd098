"""The report workbook of an evaluation: Summary, one sheet per scenario, Ledger, Checks, About.

Every figure is a group-by of the engine's ledger (via the typed figures of ``core.summary``),
so the report, the JSON and the Ledger sheet agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status, kind_totals, pivot
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    COMPONENT_TABLE,
    COMPONENTS,
    EXTERNAL_SOURCINGS,
    FIXED_FEE,
    LEVEL_GUIDANCE,
    LEVELS,
    MAINTENANCE_ACTIVITIES,
    MAINTENANCE_FACTORS,
    OPERATION_ACTIVITIES,
    OPERATION_FACTORS,
    SEPARATE_ESTIMATE,
    SOURCINGS,
    level_label,
)
from omplan.core.periods import MONTH_NAMES, quarter_labels
from omplan.core.summary import PlanFigures, ScenarioFigures, billing_split, plan_figures
from omplan.report import styles as st
from omplan.report.actuals import actuals_sheet
from omplan.report.builder import SheetBuilder
from omplan.report.business import business_sheet
from omplan.report.common import (
    checks_sheet,
    ledger_sheet,
    provenance_rows,
    settings_rows,
)
from omplan.report.layout import (
    ChartSpec,
    ConditionalFormat,
    PrintSetup,
    Ref,
    ReportLayout,
    SeriesSpec,
    SourceInfo,
    Styled,
    check_ledger_size,
    check_limits,
    sheet_names,
)

#: Each cost component as the report names it (the component table's labels).
COMPONENT_LABELS = {c.name: c.label for c in COMPONENT_TABLE}


NO_ROLE = NO_SOURCING = "Coordination and other costs"


def _f(value: Any) -> float:
    return float(value)


def _share(operation: float, total: float) -> float | None:
    return None if total == 0 else operation / total


def build_report_layout(evaluation: Evaluation, *, input_findings: Sequence[Finding] = (),
                        source: SourceInfo | None = None, generated: datetime | None = None,
                        version: str = "", generated_note: str = "",
                        figures: PlanFigures | None = None) -> ReportLayout:
    """The report workbook of an evaluation as data: Summary, one sheet per scenario,
    Ledger, Checks and About (``figures``: the evaluation's, when the caller has them).
    Raises ReportTooLarge before building anything too big."""
    if not evaluation.ok:
        raise ValueError("the plan has errors: there are no figures to report")
    check_ledger_size(evaluation)
    plan = evaluation.plan
    settings = plan.settings
    currency = settings.currency
    generated = generated or datetime(1980, 1, 1)
    source = source or SourceInfo(plan.source_name)
    summary = figures if figures is not None else plan_figures(plan, list(input_findings),
                                                                evaluation)
    names = sheet_names([s.name for s in summary.scenarios])
    facts = _Facts(evaluation)

    builders = [_summary_sheet(plan, summary, names, currency, source),
                business_sheet(summary, currency)]
    actuals = actuals_sheet(evaluation)  # Plan vs actual: only when the plan has actuals
    if actuals is not None:
        builders.append(actuals)
    for scenario in summary.scenarios:
        builders.append(_scenario_sheet(plan, scenario, names[scenario.name], facts,
                                        summary))
    builders.append(_ledger_sheet(evaluation))
    builders.append(_checks_sheet(summary))
    builders.append(_about_sheet(plan, source, generated, version, generated_note, names))
    sheets = [b.finish(currency) for b in builders]
    check_limits(sheets)
    title = f"IT operation vs maintenance budget: {settings.plan_name}"
    return ReportLayout(sheets, st.report_styles(currency), dict(st.HIGHLIGHTS), title,
                        generated, scenario_sheets=names)


class _Facts:
    """Ledger group-bys shared by every scenario sheet (computed once for all scenarios)."""

    def __init__(self, evaluation: Evaluation) -> None:
        led = evaluation.ledger
        self.activity_quarter = pivot(led, ["scenario", "activity"], "quarter")
        self.activity_year = pivot(led, ["scenario", "activity"])
        self.level = kind_totals(led, ["scenario", "level"])
        self.sourcing = kind_totals(led, ["scenario", "sourcing"])
        labour = led[led["component"] == "labour"]
        self.sourcing_labour = pivot(labour, ["scenario", "sourcing"])
        self.system = kind_totals(led, ["scenario", "system"])
        self.systems = [str(s) for s in led["system"].cat.categories]
        self.component_quarter = pivot(led, ["scenario", "component"], "quarter")
        external = labour[labour["sourcing"].isin(list(EXTERNAL_SOURCINGS))]
        self.external_quarter = pivot(external, ["scenario", "activity"], "quarter")
        self.external_year = pivot(external, ["scenario", "activity"])
        # FTE of labour rows (0 on every other row), by level and sourcing per quarter
        self.fte_level = _fte(led, "level")
        self.fte_sourcing = _fte(led, "sourcing")
        self._rows: dict[int, dict[Any, Any]] = {}

    def rows(self, frame: pd.DataFrame | pd.Series) -> dict[Any, Any]:
        """``frame``'s rows as a dict (index -> {column: value}, or value for a Series):
        hundreds of scalar lookups per sheet cost microseconds here, not ``.loc``'s."""
        found = self._rows.get(id(frame))
        if found is None:
            found = self._rows[id(frame)] = (frame.to_dict() if isinstance(frame, pd.Series)
                                             else frame.to_dict("index"))
        return found


def _fte(ledger: pd.DataFrame, by: str) -> pd.Series:
    """Sum of the ledger's ``fte`` by scenario, ``by`` and quarter (every category kept)."""
    return ledger.groupby(["scenario", by, "quarter"], observed=False)["fte"].sum()


def _plan_facts(plan, currency: str, source: SourceInfo) -> list[list[Any]]:
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


def _summary_sheet(plan, summary: PlanFigures, names: dict[str, str], currency: str,
                   source: SourceInfo) -> SheetBuilder:
    s = plan.settings
    target = plan.target_operation_share()
    forecast = _forecast_text(summary, currency)
    sh = SheetBuilder("Summary", cursor=5 if forecast else 4)
    sh.text(1, 1, f"IT operation vs maintenance budget: {s.plan_name}", st.TITLE_STYLE)
    totals = "" if plan.horizon.years == 1 else ", totals over the horizon"
    sh.text(2, 1, f"{_years_text(plan)} · amounts in {currency}{totals} · reference band "
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


class _Axis:
    """The time columns of a scenario sheet's tables: one per quarter of the horizon (headed
    ``Q1 (Jan–Mar)`` for one year, as before; ``FY2027 Q1`` … , the ledger's labels, for
    several), then, for several years, one total per fiscal year, then the total."""

    def __init__(self, plan) -> None:
        horizon = plan.horizon
        self.labels: tuple[str, ...] = horizon.labels  # the ledger's quarter categories
        self.fiscal_years = horizon.fiscal_years
        self.multi = horizon.years > 1
        if self.multi:
            self.quarter_headers = list(self.labels)
            self.total_headers = [*(f"FY{y}" for y in self.fiscal_years), "Total"]
            self.mean_headers = [*(f"FY{y} average" for y in self.fiscal_years), "Average"]
        else:
            self.quarter_headers = quarter_labels(plan.settings.fy_start_month)
            self.total_headers = ["FY"]
            self.mean_headers = ["FY average"]

    @property
    def n_quarters(self) -> int:
        return len(self.labels)

    @property
    def width(self) -> int:
        """Time columns: quarters, then the totals."""
        return self.n_quarters + len(self.total_headers)

    def sums(self, quarters: Sequence[float], total: float) -> list[float]:
        """A row's quarters, then its year totals (several years) and ``total``."""
        years = [sum(quarters[4 * y: 4 * y + 4]) for y in range(len(self.fiscal_years))]
        return [*quarters, *(years if self.multi else []), total]

    def means(self, quarters: Sequence[float]) -> list[float]:
        """FTE of a row: its quarters, then each year's mean (several years) and the mean over
        the horizon."""
        years = [sum(quarters[4 * y: 4 * y + 4]) / 4 for y in range(len(self.fiscal_years))]
        return [*quarters, *(years if self.multi else []), sum(quarters) / len(quarters)]


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


def _scenario_sheet(plan, sc: ScenarioFigures, sheet_name: str, facts: _Facts,
                    summary: PlanFigures) -> SheetBuilder:
    s = plan.settings
    name = sc.name
    currency = s.currency
    low, high = s.band_low, s.band_high
    target = plan.target_operation_share()
    axis = _Axis(plan)
    labels = axis.labels
    sh = SheetBuilder(sheet_name, cursor=4)
    sh.text(1, 1, f"{name}: {s.plan_name}", st.TITLE_STYLE)
    share = sc.operation_share
    share_text = "–" if share is None else f"{share:.1%}"
    period = _years_text(plan)
    sh.text(2, 1, f"{period} · amounts in {currency} · total "
                  f"{sc.total:,.0f} {currency} · operation share {share_text} "
                  f"({sc.band_status}; band {low:.0%}–{high:.0%}, target {target:.1%})",
            st.SUBTITLE_STYLE)
    money, pct = st.MONEY, st.PERCENT_STYLE
    q_money = [money] * axis.width
    time_headers = (*axis.quarter_headers, *axis.total_headers)

    # activity x quarter with kind subtotals, total, share and band status
    aq = facts.rows(facts.activity_quarter)
    ay = facts.rows(facts.activity_year)
    quarters = sc.quarters
    rows: list[list[Any]] = []
    kinds: dict[int, str] = {}
    for kind, acts in (("operation", OPERATION_ACTIVITIES),
                       ("maintenance", MAINTENANCE_ACTIVITIES)):
        for a in acts:
            rows.append([Styled(a, st.LABEL_STYLE),
                         *axis.sums([_f(aq[name, a][q]) for q in labels], _f(ay[name, a]))])
        kinds[len(rows)] = "subtotal"
        rows.append([kind.capitalize(), *axis.sums([getattr(q, kind) for q in quarters],
                                                   getattr(sc, kind))])
    kinds[len(rows)] = "total"
    totals = axis.sums([q.total for q in quarters], sc.total)
    rows.append(["Total", *totals])
    share_i = len(rows)
    # the shares and statuses of the quarters, the years and the horizon: the figures' own
    years = sc.years if axis.multi else []
    shares = [*(q.operation_share for q in quarters), *(y.operation_share for y in years),
              share]
    statuses = [*(q.band_status for q in quarters), *(y.band_status for y in years),
                sc.band_status]
    rows.append([Styled("Operation share", st.KEY_STYLE), *(Styled(v, pct) for v in shares)])
    rows.append([Styled("Band status", st.KEY_STYLE),
                 *(Styled(v, st.CENTER_STYLE) for v in statuses)])
    matrix = sh.next_block("activity_quarter", rows, [st.TEXT_STYLE, *q_money],
                           header=("Activity", *time_headers),
                           title="Cost by activity and quarter", row_kinds=kinds)
    sheet = sh.layout
    last = axis.width
    sheet.conditional_formats += [
        ConditionalFormat(matrix.ref(sheet_name, share_i, 1, share_i, last), "out of band",
                          outside=(low, high)),
        ConditionalFormat(matrix.ref(sheet_name, share_i + 1, 1, share_i + 1, last),
                          "out of band", equals=("operation-heavy", "maintenance-heavy")),
    ]
    op_i, mt_i = len(OPERATION_ACTIVITIES), len(ACTIVITIES) + 1
    colours = st.SERIES_COLOURS
    n_q = axis.n_quarters
    if axis.multi:  # a wide table: the chart goes below it, as wide as the quarters
        # columns B-I: on the first printed page, clear of column A (repeated on each page)
        anchor, end = (matrix.last_row + 2, 2), (matrix.last_row + 20, 10)
        sh.cursor = end[0] + 2
    else:
        anchor, end = (matrix.row, 9), (matrix.last_row + 1, 17)
    sheet.charts.append(ChartSpec(
        "quarters", "Operation vs maintenance by quarter",
        matrix.header_ref(sheet_name, 1, n_q),
        [SeriesSpec("Operation", matrix.ref(sheet_name, op_i, 1, op_i, n_q),
                    colours["operation"]),
         SeriesSpec("Maintenance", matrix.ref(sheet_name, mt_i, 1, mt_i, n_q),
                    colours["maintenance"])],
        anchor=anchor, stacked=True, y_title=currency, y_format="#,##0", y_min=0.0, end=end))

    year_cols = ("Operation", "Maintenance", "Total", "Share of total")
    total = sc.total

    def kind_rows(frame: pd.DataFrame, keys: Sequence[Any], labels: Sequence[str],
                  extra: Sequence[Any] | None = None) -> list[list[Any]]:
        out = []
        found = facts.rows(frame)
        for k, (key, label) in enumerate(zip(keys, labels, strict=True)):
            row = found.get((name, key))
            op = _f(row["operation"]) if row is not None else 0.0
            mt = _f(row["maintenance"]) if row is not None else 0.0
            tot = op + mt if row is None else _f(row["total"])
            out.append([label, op, mt, tot, _share(tot, total),
                        *([extra[k]] if extra is not None else [])])
        return out

    span = "" if not axis.multi else " over the horizon"
    # by role level (plan-level money has no role: its own row so the block adds up)
    keys = [*LEVELS, ""]
    level_labels = [*(level_label(lv) for lv in LEVELS), NO_ROLE]
    guidance = [*(LEVEL_GUIDANCE[lv] for lv in LEVELS), ""]
    rows = kind_rows(facts.level, keys, level_labels, guidance)
    rows.append(["Total", sc.operation, sc.maintenance, total, 1.0, ""])
    sh.next_block("by_level", rows, [st.TEXT_STYLE, money, money, money, pct, st.LABEL_STYLE],
                  header=("Role level", *year_cols, "Sourcing guidance"),
                  title=f"Cost by role level{span}", row_kinds={len(rows) - 1: "total"},
                  overflow=axis.multi)  # several years: column F is a quarter's too

    # by sourcing; 'of which labour' is the JSON's by_sourcing
    keys = [*SOURCINGS, ""]
    sourcing_labels = [*SOURCINGS, NO_SOURCING]
    labour = facts.sourcing_labour
    of_labour = [sc.by_sourcing.get(k, 0.0) if k else _f(labour.get((name, ""), 0.0))
                 for k in keys]
    rows = kind_rows(facts.sourcing, keys, sourcing_labels, of_labour)
    rows.append(["Total", sc.operation, sc.maintenance, total, 1.0,
                 sc.components["labour"]])
    sh.next_block("by_sourcing", rows, [st.TEXT_STYLE, money, money, money, pct, money],
                  header=("Sourcing", *year_cols, "of which labour"),
                  title=f"Cost by sourcing{span}", row_kinds={len(rows) - 1: "total"})

    # by system, with each system's own operation share against the band
    rows = []
    for system in facts.systems:
        row = kind_rows(facts.system, [system], [system])[0]
        sys_share, status = band_status(row[1], row[3], low, high)
        rows.append([system, row[1], row[2], row[3], sys_share, status])
    n_sys = len(rows)
    rows.append(["Total", sc.operation, sc.maintenance, total, share, sc.band_status])
    systems = sh.next_block(
        "by_system", rows, [st.TEXT_STYLE, money, money, money, pct, st.CENTER_STYLE],
        header=("System", "Operation", "Maintenance", "Total", "Operation share",
                "Band status"),
        title=f"Cost by system{span}", row_kinds={len(rows) - 1: "total"})
    if n_sys:
        sheet.conditional_formats += [
            ConditionalFormat(systems.ref(sheet_name, 0, 4, n_sys - 1, 4), "out of band",
                              outside=(low, high)),
            ConditionalFormat(systems.ref(sheet_name, 0, 5, n_sys - 1, 5), "out of band",
                              equals=("operation-heavy", "maintenance-heavy"))]

    # cost components by quarter (the JSON's components in the last column)
    cq = facts.rows(facts.component_quarter)
    rows = [[COMPONENT_LABELS[c], *axis.sums([_f(cq[name, c][q]) for q in labels],
                                             sc.components[c])] for c in COMPONENTS]
    rows.append(["Total", *totals])
    sh.next_block("components", rows, [st.TEXT_STYLE, *q_money],
                  header=("Cost component", *time_headers), title="Cost components",
                  row_kinds={len(rows) - 1: "total"})

    # staffing: FTE by role level and by sourcing, per quarter (the ledger's fte column)
    fte_styles = [st.TEXT_STYLE, *([st.FTE_STYLE] * axis.width)]
    fte_headers = (*axis.quarter_headers, *axis.mean_headers)
    for key, frame, row_keys, row_labels, title in (
            ("fte_level", facts.fte_level, LEVELS, [level_label(lv) for lv in LEVELS],
             "FTE by role level"),
            ("fte_sourcing", facts.fte_sourcing, SOURCINGS, list(SOURCINGS),
             "FTE by sourcing")):
        fte_q = [[_f(frame.get((name, k, q), 0.0)) for q in labels] for k in row_keys]
        rows = [[label, *axis.means(values)] for label, values in zip(row_labels, fte_q,
                                                                       strict=True)]
        sums = [sum(column) for column in zip(*fte_q, strict=True)]
        rows.append(["Total", *axis.means(sums)])
        sh.next_block(key, rows, fte_styles, header=(title.split(" by ")[1].capitalize(),
                                                     *fte_headers),
                      title=f"{title} (full-time equivalents; a year is the mean of its "
                            "quarters)", row_kinds={len(rows) - 1: "total"})

    # billing boundary over external labour (spec §3.9)
    eq = facts.external_quarter.loc[name]
    eqd, ey = facts.rows(facts.external_quarter), facts.rows(facts.external_year)
    rows = []
    for a in ACTIVITIES:
        rows.append([a, *axis.sums([_f(eqd[name, a][q]) for q in labels], _f(ey[name, a])),
                     plan.billing[a]])
    sub_kinds: dict[int, str] = {}
    splits = [billing_split(plan, eq[q]) for q in labels]
    for basis, key in ((FIXED_FEE, "fixed_fee"), (SEPARATE_ESTIMATE, "separate_estimate")):
        per_q = [split[key] for split in splits]
        sub_kinds[len(rows)] = "subtotal"
        rows.append([basis, *axis.sums(per_q, sc.billing[key]), ""])
    per_q = [_f(eq[q].sum()) for q in labels]
    sub_kinds[len(rows)] = "total"
    rows.append(["External labour",
                 *axis.sums(per_q, sc.billing["fixed_fee"] + sc.billing["separate_estimate"]),
                 ""])
    sh.next_block("billing", rows, [st.LABEL_STYLE, *q_money, st.LABEL_STYLE],
                  header=("Activity", *time_headers, "Billing basis"),
                  title="Billing boundary: external labour by basis", row_kinds=sub_kinds)

    # the scenario's findings, messages wrapped over four columns
    rows = [[f.code, f.severity, f.location, f.message] for f in sc.findings]
    if not rows:
        rows = [["none", "", "", "No findings for this scenario."]]
    block = sh.next_block("findings", rows, [st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE,
                                             st.WRAP_STYLE],
                          header=("Code", "Severity", "Location", "Message"),
                          title="Findings", span=4, gap=0)
    sh.wrap_rows(block, 3)
    sheet.freeze = (4, 2)
    if axis.multi:
        widths = {1: 30.0, **{c: 14.0 for c in range(2, axis.width + 2)},
                  axis.width + 2: 20.0}
        last_col = max(axis.width + 2, end[1] - 1)
        # a landscape page shows about 140 characters of columns at full size; column A is
        # repeated on each page, and money columns are about 15.5 characters wide
        chars = 15.5 * axis.width + widths[axis.width + 2]
        sheet.print_setup = PrintSetup(
            title_rows=(1, 2), area=Ref(sheet_name, 1, 1, block.last_row, last_col),
            pages_wide=max(1, math.ceil(chars / 140)), title_cols=(1, 1))
    else:
        widths = {1: 30.0, 2: 15.0, 3: 15.0, 4: 15.0, 5: 15.0, 6: 15.0, 7: 20.0, 8: 2.0}
        sheet.print_setup = PrintSetup(title_rows=(1, 2),
                                       area=Ref(sheet_name, 1, 1, block.last_row, 17))
    sheet.column_widths.update(widths)
    sheet.tab_colour = st.BLUE
    return sh


def _years_text(plan) -> str:
    """``Fiscal year 2027``, or ``Fiscal years 2027–2029 (3 years)`` for a longer horizon."""
    horizon = plan.horizon
    if horizon.years == 1:
        return f"Fiscal year {horizon.first_fiscal_year}"
    last = horizon.fiscal_years[-1]
    return f"Fiscal years {horizon.first_fiscal_year}–{last} ({horizon.years} years)"


def _ledger_sheet(evaluation: Evaluation) -> SheetBuilder:
    return ledger_sheet(evaluation.ledger, evaluation.plan.settings.currency)


def _checks_sheet(summary: PlanFigures) -> SheetBuilder:
    pairs = [(sc.name, f) for sc in summary.scenarios for f in sc.findings]
    return checks_sheet([f for _, f in pairs], [name for name, _ in pairs])


SHEET_GUIDE = (
    ("Summary", "Plan facts; one row per scenario: totals, operation share against the band "
                "and the target, change against Baseline, billing boundary, findings; for "
                "several fiscal years, the same per year; charts."),
    ("Business case", "Each scenario against Baseline: ranking by NPV of cost with the verdict "
                      "on each, cumulative savings by quarter, the bridge from Baseline (FTE, "
                      "rates, vendor management, coordination, transition, other) with "
                      "waterfalls, and figures per fiscal year."),
    ("<scenario>", "One sheet per scenario: activity × quarter with operation and maintenance "
                   "subtotals, by role level, sourcing and system, cost components, FTE by "
                   "role level and sourcing, billing boundary, findings and a quarterly "
                   "chart."),
    ("Plan vs actual", "Only when the plan has actuals: the budget scenario against actual "
                       "spend by month, quarter, activity and system, the operation share of "
                       "actual spend against the band, and each fiscal year's forecast."),
    ("Ledger", "Every amount of the report, one row per scenario, system, quarter, role, "
               "sourcing, vendor, activity and component, with the FTE of labour rows: filter "
               "it or pivot it to reproduce any figure."),
    ("Checks", "Every finding with its scenario, severity, code and location (Sheet!A1 of "
               "the plan workbook)."),
    ("About", "This sheet: version, input file and its SHA-256, settings used, generation "
              "time."),
)


def _about_sheet(plan, source: SourceInfo, generated: datetime, version: str,
                 generated_note: str, names: dict[str, str]) -> SheetBuilder:
    s = plan.settings
    sh = SheetBuilder("About", cursor=3)
    sh.text(1, 1, "About this report", st.TITLE_STYLE)
    rows = provenance_rows(version, source, generated)
    if generated_note:
        rows.append(["Generation time source", generated_note])
    rows.append(["Values", "Every cell holds a value (no formulas); amounts are sums of the "
                           "Ledger sheet, shares are operation / total."])
    sh.next_block("report", rows, [st.KEY_STYLE, st.VALUE_STYLE], title="Report", gap=1,
                  overflow=True)
    used = settings_rows(s, st.PERCENT_LEFT_STYLE)
    sh.next_block("settings", used, [st.KEY_STYLE, st.VALUE_STYLE],
                  header=("Setting", "Value"), title="Settings used", gap=1, overflow=True)
    profile: list[list[Any]] = [[f, "operation" if f in OPERATION_FACTORS else "maintenance",
                "yes" if plan.profile.get(f) else "no"]
               for f in (*OPERATION_FACTORS, *MAINTENANCE_FACTORS)]
    profile.append(["Target operation share", "",
                    Styled(plan.target_operation_share(), st.PERCENT_LEFT_STYLE)])
    sh.next_block("profile", profile, [st.KEY_STYLE, st.TEXT_STYLE, st.TEXT_STYLE],
                  header=("Situation factor", "Side", "Applies"), title="Profile", gap=1)
    billing = [[a, ACTIVITY_KIND[a].value, plan.billing[a]] for a in ACTIVITIES]
    sh.next_block("billing", billing, [st.KEY_STYLE, st.TEXT_STYLE, st.TEXT_STYLE],
                  header=("Activity", "Kind", "Billing basis"), title="Billing basis", gap=1)
    scen = [[scenario, sheet] for scenario, sheet in names.items()]
    sh.next_block("scenario_sheets", scen, [st.KEY_STYLE, st.TEXT_STYLE],
                  header=("Scenario", "Sheet"), title="Scenario sheets", gap=1, overflow=True)
    guide = [list(g) for g in SHEET_GUIDE]
    guide_block = sh.next_block("sheets", guide, [st.KEY_STYLE, st.WRAP_STYLE],
                                header=("Sheet", "What it shows"), title="Sheets", gap=0,
                                span=3)
    sh.wrap_rows(guide_block, 1)
    sheet = sh.layout
    sheet.column_widths = {1: 30.0, 2: 21.0, 3: 20.0, 4: 56.0}  # B: a date and time
    sheet.print_setup = PrintSetup(landscape=False)
    return sh
