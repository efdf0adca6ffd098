"""The quarterly budget workbook as layout data (pure: no files, no openpyxl): one scenario's
quarter of a plan, phased over its three calendar months, with plan against actual where the
plan has actual spend. Budget (headline figures and sign-off, comparisons, the tables of
:mod:`omplan.report.budget_tables`), Ledger, Checks and About.

Every figure is a group-by of the engine's ledger or one of the run's quarter figures (the
JSON's ``quarters``); what a budget is of and the monthly phasing are in
:mod:`omplan.report.budget_quarter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status
from omplan.core.model import Plan
from omplan.core.periods import Period, fiscal_year_span
from omplan.core.summary import PeriodFigures, PlanFigures, scenario_quarters
from omplan.report import styles as st
from omplan.report.actuals import FORECAST_RULE, ScenarioActuals, pct, scenario_actuals
from omplan.report.budget_quarter import (
    FY_CONVENTION,
    MONTH_SPLIT,
    NOT_AVAILABLE,
    SIGN_OFF,
    STATUSES,
    VALUES_NOTE,
    BudgetQuarter,
    QuarterContext,
    cell,
    difference,
    na,
    period_of,
)
from omplan.report.budget_tables import (
    breakdown_blocks,
    fte_block,
    plan_by_month_block,
    plan_vs_actual_blocks,
    year_to_date_block,
)
from omplan.report.builder import SheetBuilder
from omplan.report.common import checks_sheet, ledger_sheet, provenance_rows, settings_rows
from omplan.report.errors import ReportError
from omplan.report.layout import (
    Block,
    ConditionalFormat,
    PrintSetup,
    Ref,
    ReportLayout,
    SourceInfo,
    Styled,
    Validation,
)

__all__ = ["build_quarter_layout", "no_actuals_note", "quarter_actuals", "quarter_figures"]


def quarter_figures(evaluation: Evaluation, scenario: str) -> list[PeriodFigures]:
    """Every quarter of a scenario over the horizon, exactly as the JSON summary's
    ``quarters``."""
    return scenario_quarters(evaluation, scenario)


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


def no_actuals_note(stem: str = "") -> str:
    """What a budget without actual spend says, and how to add it."""
    beside = f"{stem}.actuals.xlsx or {stem}.actuals.csv" if stem else \
        "<plan>.actuals.xlsx or <plan>.actuals.csv"
    return ("No actual spend for this plan: the budget shows the plan only. Put an Actuals "
            f"sheet in the plan, or a file {beside} beside it, to see actual, variance and "
            "forecast.")


def build_quarter_layout(evaluation: Evaluation, scenario: str, quarter: int | str, *,
                         input_findings: Sequence[Finding] = (),
                         source: SourceInfo | None = None,
                         generated: datetime | None = None, version: str = "",
                         generated_note: str = "",
                         quarters: Sequence[PeriodFigures] | None = None,
                         actuals: ScenarioActuals | None = None,
                         figures: PlanFigures | None = None) -> ReportLayout:
    """The quarterly budget workbook of ``scenario`` and ``quarter`` (see :func:`period_of`):
    Budget, Ledger, Checks, About. ``quarters`` are the scenario's quarter figures over the
    horizon (else those of ``figures``, the run's figures, else computed) and ``actuals`` the
    plan's actuals against the scenario (computed when not given). With actual rows the
    Budget shows actual, variance and forecast; without, the plan only.

    Raises :class:`~omplan.report.errors.ReportError` for a plan with errors or a scenario or
    quarter it does not have."""
    if not evaluation.ok:
        raise ReportError("the plan has errors: there are no figures to report")
    plan = evaluation.plan
    if scenario not in plan.scenario_names:
        raise ReportError(f"the plan has no scenario {scenario!r}")
    if quarters is None and figures is not None:
        quarters = next(s.quarters for s in figures.scenarios if s.name == scenario)
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
        actuals = scenario_actuals(evaluation, scenario,
                                   figures.actuals if figures is not None else None)
    q = BudgetQuarter(plan, ctx, period, quarters, led_s, led_y, led_q, actuals)
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


def _budget_sheet(q: BudgetQuarter, stem: str) -> SheetBuilder:
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
        plan_vs_actual_blocks(sh, q)
    else:
        plan_by_month_block(sh, q)
    fte_block(sh, q)
    breakdown_blocks(sh, q)
    year_to_date_block(sh, q)
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


def _status_line(q: BudgetQuarter, stem: str) -> str:
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
        n = len(reported)
        first = f"first {n} month{'s' if n > 1 else ''}"
        state = (f"{rest} not reported yet: the variance compares the months reported with "
                 f"their plan (plan to date), the comparisons with other quarters take their "
                 f"{first}, and the forecast takes the plan for the rest")
    else:
        state = f"no month of {q.ctx.label} is reported yet: the forecast is the plan"
    budget = q.plan.settings.budget_scenario
    other = (f" Actuals are compared with this budget's scenario, {q.ctx.scenario} (the "
             f"plan's budget_scenario is {budget})." if budget != q.ctx.scenario else "")
    return f"Actuals through {through}{source}; {state}.{other}"


def _summary_blocks(sh: SheetBuilder, q: BudgetQuarter) -> None:
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
                rows.append([label, plan_total, None, None, None, None, plan_total, 0.0,
                             Styled(None, st.INPUT_STYLE)])
                continue
            # the plan of the months reported (the JSON's quarters), beside their actuals
            plan_to_date = sum(x.plan for x in reported)
            actual = sum(x.actual for x in reported)
            variance = sum(x.variance for x in reported)
            forecast = plan_total + variance
            if whole_year:  # the core's actual to date and forecast, as the JSON has them
                year = a.figures.years[q.period.year_index]
                actual, forecast = year.actual_to_date, year.forecast
            rows.append([label, plan_total, plan_to_date, actual, variance,
                         pct(variance, plan_to_date), forecast, forecast - plan_total,
                         Styled(None, st.INPUT_STYLE)])
        header = (f"Budget ({ctx.currency})", "Plan", "Plan to date", "Actual", "Variance",
                  "Variance %", "Forecast", "Variance at completion", "Notes")
        styles = [st.KEY_STYLE, money, money, money, signed, st.SIGNED_PERCENT_STYLE, money,
                  signed, st.INPUT_STYLE]
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


def _comparison_block(sh: SheetBuilder, q: BudgetQuarter) -> None:
    """This quarter against the previous one and the same quarter of the previous year. A
    partly reported quarter is compared month for month: its first n months (the months
    reported) against the first n months of the others, plan and actual alike."""
    a = q.actuals
    others = [q.k - 1, q.k - 4]
    n = q.months_reported if q.partial else 3

    def values(k: int) -> dict[str, float | None]:
        fig = q.figures(k)
        if fig is None:
            return {}
        part = n / 3  # the plan's months are even thirds of its quarter
        out: dict[str, float | None] = {
            "Plan": fig.total, "Operation": fig.operation * part if n < 3 else fig.operation,
            "Maintenance": fig.maintenance * part if n < 3 else fig.maintenance,
            "Operation share": fig.operation_share, "FTE": fig.fte}
        if a is None:
            return out
        qa = a.quarter(k)
        if n == 3:
            out["Actual"] = qa.actual if qa is not None else None
            out["Variance"] = qa.variance if qa is not None else None
            return out
        plan: float = fig.total * part
        actual: float | None = None
        if k == q.k and qa is not None:  # the months reported, as the JSON's quarter has them
            plan, actual = qa.plan, qa.actual
        elif (first := q.first_months(k, n)) is not None:
            plan, actual = first
        out["Plan"], out["Actual"] = plan, actual
        out["Variance"] = None if actual is None else actual - plan
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
        row: list[Any] = [key, cell(now.get(key), value_style)]
        for other in before:
            if not other:
                row += [na(), na(), na()]
                continue
            was = other.get(key)
            if share:
                change = (NOT_AVAILABLE if now.get(key) is None or was is None
                          else st.points_vs(now.get(key), was or 0.0))
                row += [cell(was, value_style), cell(change, change_style), na()]
                continue
            change, change_pct = difference(now.get(key), was)
            row += [cell(was, value_style), cell(change, change_style),
                    cell(change_pct, st.SIGNED_PERCENT_STYLE)]
        rows.append(row)
    prev, last = (q.label(k) for k in others)
    cur = q.ctx.currency
    if n < 3:  # say which months: the first n of each quarter
        first = f"first {n} month{'s' if n > 1 else ''}"
        heads = [f"{q.label(k)} ({q.months_label(k, n)})" for k in (q.k, *others)]
        header: tuple[str, ...] = (f"{first.capitalize()} ({cur})", heads[0], heads[1],
                                   "Change", "Change %", heads[2], "Change", "Change %")
        assert a is not None
        title = (f"Against the previous quarter ({prev}) and the same quarter last year "
                 f"({last}), the {first} of each: {q.ctx.label} is reported through "
                 f"{a.through_label(q.plan.horizon)}")
    else:
        header = (f"Against ({cur})", q.ctx.label, prev, "Change", "Change %", last,
                  "Change", "Change %")
        title = (f"Against the previous quarter ({prev}) and the same quarter last year "
                 f"({last})")
    sh.next_block(
        "comparison", rows,
        [st.KEY_STYLE, money, money, signed, st.SIGNED_PERCENT_STYLE, money, signed,
         st.SIGNED_PERCENT_STYLE],
        header=header, title=title)


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
