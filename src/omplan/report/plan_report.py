"""The report workbook of a plan, assembled: Summary, Business case, Plan vs actual (with actual
spend), one sheet per scenario, Ledger, Checks and About, over the plan's whole horizon (up to
ten fiscal years).

Every figure is a group-by of the engine's ledger, through the run's typed figures
(:class:`~omplan.core.summary.PlanFigures`, computed once by the caller), so the report, the JSON
and the Ledger sheet agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    MAINTENANCE_FACTORS,
    OPERATION_FACTORS,
    Plan,
)
from omplan.core.summary import PlanFigures, plan_figures
from omplan.report import styles as st
from omplan.report.actuals import actuals_sheet
from omplan.report.builder import SheetBuilder
from omplan.report.business import business_sheet
from omplan.report.common import checks_sheet, ledger_sheet, provenance_rows, settings_rows
from omplan.report.errors import ReportError
from omplan.report.layout import (
    PrintSetup,
    ReportLayout,
    SourceInfo,
    Styled,
    check_ledger_size,
    check_limits,
    sheet_names,
)
from omplan.report.scenario_sheet import ScenarioFacts, scenario_sheet
from omplan.report.summary_sheet import summary_sheet

__all__ = ["SHEET_GUIDE", "build_report_layout"]


def build_report_layout(evaluation: Evaluation, *, input_findings: Sequence[Finding] = (),
                        source: SourceInfo | None = None, generated: datetime | None = None,
                        version: str = "", generated_note: str = "",
                        figures: PlanFigures | None = None) -> ReportLayout:
    """The report workbook of an evaluation as data: Summary, one sheet per scenario,
    Ledger, Checks and About (``figures``: the evaluation's, when the caller has them; else
    computed here). Raises :class:`~omplan.report.errors.ReportError` for a plan with errors
    and :class:`~omplan.report.errors.ReportTooLarge` before building anything too big."""
    if not evaluation.ok:
        raise ReportError("the plan has errors: there are no figures to report")
    check_ledger_size(evaluation)
    plan = evaluation.plan
    settings = plan.settings
    currency = settings.currency
    generated = generated or datetime(1980, 1, 1)
    source = source or SourceInfo(plan.source_name)
    summary = figures if figures is not None else plan_figures(plan, list(input_findings),
                                                                evaluation)
    names = sheet_names([s.name for s in summary.scenarios])
    facts = ScenarioFacts(evaluation)

    builders = [summary_sheet(plan, summary, names, currency, source),
                business_sheet(summary, currency)]
    # Plan vs actual: only when the plan has actuals
    actuals = actuals_sheet(evaluation, figures=summary.actuals)
    if actuals is not None:
        builders.append(actuals)
    for scenario in summary.scenarios:
        builders.append(scenario_sheet(plan, scenario, names[scenario.name], facts,
                                        summary))
    builders.append(_ledger_sheet(evaluation))
    builders.append(_checks_sheet(summary))
    builders.append(_about_sheet(plan, source, generated, version, generated_note, names))
    sheets = [b.finish(currency) for b in builders]
    check_limits(sheets)
    title = f"IT operation vs maintenance budget: {settings.plan_name}"
    return ReportLayout(sheets, st.report_styles(currency), dict(st.HIGHLIGHTS), title,
                        generated, scenario_sheets=names)


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


def _about_sheet(plan: Plan, source: SourceInfo, generated: datetime, version: str,
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
