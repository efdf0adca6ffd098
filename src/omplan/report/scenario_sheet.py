"""A scenario's sheet of the report: activity by quarter with operation and maintenance
subtotals, cost by role level, sourcing and system, cost components, FTE by role level and
sourcing, the billing boundary and the scenario's findings, over the plan's horizon (a column per
quarter, then per fiscal year and the total).

Every amount is a group-by of the ledger (:class:`ScenarioFacts`, computed once for every
scenario) or one of the scenario's typed figures, so the sheets, the JSON and the Ledger agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.ledger import Evaluation, band_status
from omplan.core.model import (
    ACTIVITIES,
    COMPONENT_TABLE,
    COMPONENTS,
    FIXED_FEE,
    LEVEL_GUIDANCE,
    LEVELS,
    MAINTENANCE_ACTIVITIES,
    OPERATION_ACTIVITIES,
    SEPARATE_ESTIMATE,
    SOURCINGS,
    Plan,
    level_label,
)
from omplan.core.periods import quarter_labels
from omplan.core.summary import PlanFigures, ScenarioFigures, billing_split
from omplan.core.sums import LedgerSums
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import ChartSpec, ConditionalFormat, PrintSetup, Ref, SeriesSpec, Styled

__all__ = ["COMPONENT_LABELS", "NO_ROLE", "NO_SOURCING", "ScenarioFacts", "TimeAxis",
           "scenario_sheet", "years_text"]

#: Each cost component as the report names it (the component table's labels).
COMPONENT_LABELS = {c.name: c.label for c in COMPONENT_TABLE}


NO_ROLE = NO_SOURCING = "Coordination and other costs"


def _f(value: Any) -> float:
    return float(value)


def _share(operation: float, total: float) -> float | None:
    return None if total == 0 else operation / total


class ScenarioFacts:
    """Ledger group-bys shared by every scenario sheet, computed once for all scenarios (one
    pass over the ledger each, :class:`~omplan.core.sums.LedgerSums`, the same sums as the
    group-bys of the whole ledger), held as dicts: hundreds of scalar lookups per sheet cost
    microseconds here.

    ``(scenario, key)`` -> value, or -> {quarter label: value} for the ``*_quarter`` tables,
    or -> {"operation", "maintenance", "total"} for ``level``, ``sourcing`` and ``system``;
    ``fte_level`` and ``fte_sourcing``: ``(scenario, key, quarter)`` -> the FTE of labour rows.
    """

    def __init__(self, evaluation: Evaluation) -> None:
        led = evaluation.ledger
        sums = LedgerSums(led)
        self._names = sums.categories("scenario")
        self._quarters = sums.categories("quarter")
        activities = sums.categories("activity")
        self.activity_quarter = self._by_quarter(sums.by(["activity", "quarter"]).whole,
                                                 activities)
        self.activity_year = self._by(sums.by(["activity"]).whole, activities)
        self.level = self._kinds(sums.by(["level", "kind"]).whole, sums.categories("level"))
        sourcing = sums.categories("sourcing")
        self.sourcing = self._kinds(sums.by(["sourcing", "kind"]).whole, sourcing)
        self.sourcing_labour = self._by(sums.by(["sourcing"], "labour").whole, sourcing)
        self.systems = sums.categories("system")
        self.system = self._kinds(sums.by(["system", "kind"]).whole, self.systems)
        self.component_quarter = self._by_quarter(sums.by(["component", "quarter"]).whole,
                                                  sums.categories("component"))
        external = sums.by(["activity", "quarter"], "outsourced labour").whole
        self._external = dict(zip(self._names, external, strict=True))
        self.external_quarter = self._by_quarter(external, activities)
        self.external_year = self._by(sums.by(["activity"], "outsourced labour").whole,
                                      activities)
        # FTE of labour rows (0 on every other row), by level and sourcing per quarter
        fte = LedgerSums(led, "fte")
        self.fte_level = self._per_quarter(fte.by(["level", "quarter"]).whole,
                                           sums.categories("level"))
        self.fte_sourcing = self._per_quarter(fte.by(["sourcing", "quarter"]).whole, sourcing)

    def rows(self, table: dict[Any, Any]) -> dict[Any, Any]:
        """``table`` itself (its rows are dicts already)."""
        return table

    def external_in_quarter(self, scenario: str, quarter: str) -> pd.Series:
        """External labour of ``scenario`` in ``quarter`` by activity, in activity order."""
        column = self._external[scenario][:, self._quarters.index(quarter)]
        return pd.Series(column, index=list(ACTIVITIES), copy=True)

    def _by(self, sums: np.ndarray, keys: Sequence[str]) -> dict[tuple[str, str], float]:
        return {(name, key): v for name, row in zip(self._names, sums.tolist(), strict=True)
                for key, v in zip(keys, row, strict=True)}

    def _by_quarter(self, sums: np.ndarray, keys: Sequence[str]
                    ) -> dict[tuple[str, str], dict[str, float]]:
        return {(name, key): dict(zip(self._quarters, values, strict=True))
                for name, rows in zip(self._names, sums.tolist(), strict=True)
                for key, values in zip(keys, rows, strict=True)}

    def _per_quarter(self, sums: np.ndarray, keys: Sequence[str]
                     ) -> dict[tuple[str, str, str], float]:
        return {(name, key, q): v for name, rows in zip(self._names, sums.tolist(), strict=True)
                for key, values in zip(keys, rows, strict=True)
                for q, v in zip(self._quarters, values, strict=True)}

    def _kinds(self, sums: np.ndarray, keys: Sequence[str]
               ) -> dict[tuple[str, str], dict[str, float]]:
        """(operation, maintenance) sums -> the rows of ``kind_totals``: total = their sum."""
        return {(name, key): {"operation": op, "maintenance": mt, "total": op + mt}
                for name, rows in zip(self._names, sums.tolist(), strict=True)
                for key, (op, mt) in zip(keys, rows, strict=True)}


class TimeAxis:
    """The time columns of a scenario sheet's tables: one per quarter of the horizon (headed
    ``Q1 (Jan–Mar)`` for one year, as before; ``FY2027 Q1`` … , the ledger's labels, for
    several), then, for several years, one total per fiscal year, then the total."""

    def __init__(self, plan: Plan) -> None:
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


def scenario_sheet(plan: Plan, sc: ScenarioFigures, sheet_name: str, facts: ScenarioFacts,
                    summary: PlanFigures) -> SheetBuilder:
    s = plan.settings
    name = sc.name
    currency = s.currency
    low, high = s.band_low, s.band_high
    target = plan.target_operation_share()
    axis = TimeAxis(plan)
    labels = axis.labels
    sh = SheetBuilder(sheet_name, cursor=4)
    sh.text(1, 1, f"{name}: {s.plan_name}", st.TITLE_STYLE)
    share = sc.operation_share
    share_text = "–" if share is None else f"{share:.1%}"
    period = years_text(plan)
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

    def kind_rows(frame: dict[Any, Any], keys: Sequence[Any], labels: Sequence[str],
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
    eq = {q: facts.external_in_quarter(name, q) for q in labels}
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


def years_text(plan: Plan) -> str:
    """``Fiscal year 2027``, or ``Fiscal years 2027–2029 (3 years)`` for a longer horizon."""
    horizon = plan.horizon
    if horizon.years == 1:
        return f"Fiscal year {horizon.first_fiscal_year}"
    last = horizon.fiscal_years[-1]
    return f"Fiscal years {horizon.first_fiscal_year}–{last} ({horizon.years} years)"
