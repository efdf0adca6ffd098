"""Ledger -> figures: totals, shares, band status per scenario and quarter, as typed values.

Every figure is a group-by of the ledger; nothing is recomputed another way. The report
layouts read these dataclasses; the JSON summary of spec §6 is one rendering of them
(:meth:`PlanFigures.to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omplan.core.actuals import ACTUALS_CODES, ActualsFigures, actuals_figures
from omplan.core.business import (
    BusinessCase,
    Candidate,
    HorizonFigures,
    horizon_figures,
    line_arrays,
    recommend,
)
from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status
from omplan.core.model import ACTIVITIES, FIXED_FEE, SOURCINGS, Plan
from omplan.core.sums import LedgerSums


def billing_split(plan: Plan, external_by_activity: Mapping[str, float]) -> dict[str, float]:
    """External labour by billing basis: ``{"fixed_fee": …, "separate_estimate": …}``."""
    fixed = sum(float(v) for a, v in external_by_activity.items()
                if plan.billing[str(a)] == FIXED_FEE)
    separate = sum(float(v) for a, v in external_by_activity.items()
                   if plan.billing[str(a)] != FIXED_FEE)
    return {"fixed_fee": fixed, "separate_estimate": separate}


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """Operation, maintenance and total of a quarter, with the share, its band status and
    the scenario's FTE in it."""

    label: str
    total: float
    operation: float
    maintenance: float
    operation_share: float | None
    band_status: str
    fiscal_year: int = 0
    fte: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "quarter": self.label, "fte": self.fte,
                "total": self.total, "operation": self.operation,
                "maintenance": self.maintenance, "operation_share": self.operation_share,
                "band_status": self.band_status}


@dataclass(frozen=True, slots=True)
class YearFigures:
    """A fiscal year of a scenario: totals, share and band status, mean FTE, components."""

    fiscal_year: int
    total: float
    operation: float
    maintenance: float
    operation_share: float | None
    band_status: str
    fte: float
    components: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "total": self.total,
                "operation": self.operation, "maintenance": self.maintenance,
                "operation_share": self.operation_share, "band_status": self.band_status,
                "fte": self.fte, "components": dict(self.components)}


@dataclass(frozen=True, slots=True)
class ScenarioFigures:
    """One scenario's figures for the year: totals, breakdowns, quarters and findings."""

    name: str
    total: float
    operation: float
    maintenance: float
    operation_share: float | None
    band_status: str
    components: dict[str, float]
    by_sourcing: dict[str, float]
    by_activity: dict[str, float]
    billing: dict[str, float]
    quarters: list[PeriodFigures]
    findings: list[Finding]
    npv_cost: float = 0.0
    years: list[YearFigures] = field(default_factory=list)
    business_case: BusinessCase | None = None
    not_recommended: str | None = None

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "total": self.total, "operation": self.operation,
            "maintenance": self.maintenance, "operation_share": self.operation_share,
            "band_status": self.band_status, "components": dict(self.components),
            "by_sourcing": dict(self.by_sourcing), "by_activity": dict(self.by_activity),
            "billing": dict(self.billing), "quarters": [q.to_json() for q in self.quarters],
            "findings": [f.as_dict() for f in self.findings],
            "npv_cost": self.npv_cost, "years": [y.to_json() for y in self.years],
            "business_case": self._case_json(), "not_recommended": self.not_recommended,
        }

    def _case_json(self) -> dict[str, Any] | None:
        case = self.business_case
        if case is None:
            return None
        quarter = None
        if case.payback_quarter is not None:
            q = self.quarters[case.payback_quarter]
            quarter = {"fiscal_year": q.fiscal_year, "quarter": q.label}
        return {"savings": case.savings, "npv_savings": case.npv_savings,
                "one_off": case.one_off, "run_rate_savings": case.run_rate_savings,
                "payback_months": case.payback_months, "payback_quarter": quarter,
                "payback_from_change_months": case.payback_from_change_months,
                "bridge": dict(case.bridge)}


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """Everything the JSON summary says: plan facts, errors, and every scenario's figures."""

    plan: str
    currency: str | None
    fiscal_year: int | None
    band_low: float | None
    band_high: float | None
    target_operation_share: float | None
    errors: list[Finding] = field(default_factory=list)
    scenarios: list[ScenarioFigures] = field(default_factory=list)
    horizon_years: int | None = None
    discount_rate: float | None = None
    recommended: str | None = None
    #: plan vs actual of the budget scenario; None without actual rows
    actuals: ActualsFigures | None = None

    @property
    def baseline(self) -> ScenarioFigures:
        return self.scenarios[0]

    def to_json(self) -> dict[str, Any]:
        """The JSON summary of spec §6 (same keys, same order, full float precision)."""
        return {"plan": self.plan, "currency": self.currency, "fiscal_year": self.fiscal_year,
                "band": {"low": self.band_low, "high": self.band_high},
                "target_operation_share": self.target_operation_share,
                "horizon": {"first_fiscal_year": self.fiscal_year, "years": self.horizon_years},
                "discount_rate": self.discount_rate, "recommended": self.recommended,
                "errors": [f.as_dict() for f in self.errors],
                "scenarios": [s.to_json() for s in self.scenarios],
                "actuals": self.actuals.to_json() if self.actuals is not None else None}


def scenario_quarters(evaluation: Evaluation, scenario: str,
                      sums: LedgerSums | None = None) -> list[PeriodFigures]:
    """The ``quarters`` of :func:`scenario_figures` alone: the same group-bys, without the
    rest of the scenario's figures."""
    k = evaluation.scenarios.index(scenario)
    sums = sums if sums is not None else LedgerSums(evaluation.ledger)
    fte = line_arrays(evaluation).of(k)[0].sum(axis=0)
    return _quarters(sums.by(["quarter", "kind"]).scenario[k], evaluation.plan, fte)


def _quarters(per_quarter: Any, plan: Plan, fte: Any) -> list[PeriodFigures]:
    """The scenario's figures of every quarter of the horizon (``per_quarter``: its operation
    and maintenance in each), with its FTE in each."""
    st = plan.settings
    quarters = []
    for period in plan.horizon.periods:
        operation, maintenance = (float(x) for x in per_quarter[period.index])
        total = operation + maintenance
        q_share, q_status = band_status(operation, total, st.band_low, st.band_high)
        quarters.append(PeriodFigures(period.name, total, operation, maintenance, q_share,
                                      q_status, period.fiscal_year, float(fte[period.index])))
    return quarters


def scenario_figures(evaluation: Evaluation, scenario: str,
                     extra_findings: list[Finding] | None = None,
                     horizon: HorizonFigures | None = None,
                     sums: LedgerSums | None = None) -> ScenarioFigures:
    """One scenario's figures, each a group-by of its ledger rows (``horizon``: the
    per-quarter figures and business cases of :func:`horizon_figures`; ``sums``: the ledger's
    group sums; both computed if not given)."""
    plan = evaluation.plan
    st = plan.settings
    k = evaluation.scenarios.index(scenario)
    sums = sums if sums is not None else LedgerSums(evaluation.ledger)
    horizon = horizon if horizon is not None else horizon_figures(evaluation, sums)
    operation, maintenance = (float(x) for x in sums.by(["kind"]).scenario[k])
    total = operation + maintenance
    share, status = band_status(operation, total, st.band_low, st.band_high)
    categories = sums.ledger["component"].cat.categories
    scenario_components = {str(c): float(v) for c, v in
                           zip(categories, sums.by(["component"]).scenario[k], strict=True)}
    sourcing = list(sums.ledger["sourcing"].cat.categories)
    labour_by_sourcing = sums.by(["sourcing"], "labour").scenario[k]
    by_activity = sums.by(["activity"]).scenario[k]
    external = dict(zip(ACTIVITIES, (float(x) for x in
                                     sums.by(["activity"], "external labour").scenario[k]),
                        strict=True))
    quarters = _quarters(sums.by(["quarter", "kind"]).scenario[k], plan,
                         horizon.fte[scenario])
    per_q_comp = (sums.by(["quarter", "component"]).scenario[k]
                  if plan.horizon.years > 1 else None)
    years = []
    for y, fiscal_year in enumerate(plan.horizon.fiscal_years):
        in_year = quarters[4 * y: 4 * y + 4]
        if per_q_comp is None:  # one fiscal year: the scenario's own components
            y_comp = dict(scenario_components)
        else:
            y_comp = {str(c): float(per_q_comp[4 * y: 4 * y + 4, j].sum())
                      for j, c in enumerate(categories)}
        op = float(sum(q.operation for q in in_year))
        mt = float(sum(q.maintenance for q in in_year))
        y_share, y_status = band_status(op, op + mt, st.band_low, st.band_high)
        years.append(YearFigures(fiscal_year, float(sum(q.total for q in in_year)), op, mt,
                                 y_share, y_status, float(sum(q.fte for q in in_year)) / 4,
                                 y_comp))
    return ScenarioFigures(
        name=scenario,
        total=total,
        operation=operation,
        maintenance=maintenance,
        operation_share=share,
        band_status=status,
        components=scenario_components,
        by_sourcing={s: float(labour_by_sourcing[sourcing.index(s)]) if s in sourcing else 0.0
                     for s in SOURCINGS},
        by_activity={a: float(v) for a, v in zip(ACTIVITIES, by_activity, strict=True)},
        billing=billing_split(plan, external),
        quarters=quarters,
        findings=[*(extra_findings or []), *evaluation.scenario_findings.get(scenario, [])],
        npv_cost=horizon.npv_cost[scenario],
        years=years,
        business_case=horizon.cases.get(scenario),
    )


def plan_figures(plan: Plan | None, findings: list[Finding],
                 evaluation: Evaluation | None = None, source_name: str = "") -> PlanFigures:
    """The figures of a run; with errors, ``errors`` lists them and there are no scenarios.

    Each call computes them: a run computes them once and hands them to the JSON, the terminal
    and the report (``source_name`` only names a plan that could not be read)."""
    errors = [f for f in findings if f.severity == "error"]
    if evaluation is not None:
        errors += evaluation.errors
    if plan is None:
        stem = Path(source_name).stem if source_name else ""
        return PlanFigures(stem, None, None, None, None, None, errors)
    st = plan.settings
    figures = PlanFigures(st.plan_name, st.currency, st.fiscal_year, st.band_low, st.band_high,
                          plan.target_operation_share(), errors,
                          horizon_years=plan.horizon.years, discount_rate=st.discount_rate)
    if errors or evaluation is None:
        return figures
    by_scenario = input_findings_by_scenario(plan, [f for f in findings
                                                    if f.severity != "error"])
    try:
        actuals = actuals_figures(plan, evaluation.ledger)
    except ValueError as problem:  # no such budget scenario, or no FX rate (readers check)
        return replace(figures, errors=[Finding("error", "bad-actuals", str(problem))])
    if actuals is not None:
        by_scenario.setdefault(st.budget_scenario, []).extend(actuals.findings)
    sums = LedgerSums(evaluation.ledger)
    # the groupings whose groups are long runs of ledger rows, in one pass together; the
    # activities of all rows and of external labour, in another
    sums.by_each([("kind", None), ("component", None), ("sourcing", "labour")])
    sums.by_each([(None, None), (None, "external labour")], label=["activity"])
    horizon = horizon_figures(evaluation, sums)
    scenarios = [scenario_figures(evaluation, name, by_scenario.get(name), horizon, sums)
                 for name in evaluation.scenarios]
    candidates = [Candidate(s.name, s.npv_cost,
                            tuple(y.fiscal_year for y in s.years if y.band_status != "within"),
                            any(f.code == "pmo-outsourced" for f in s.findings))
                  for s in scenarios]
    best, reasons = recommend(candidates, st.currency)
    figures.scenarios.extend(replace(s, not_recommended=reasons.get(s.name)) for s in scenarios)
    return replace(figures, recommended=best, actuals=actuals)


def input_findings_by_scenario(plan: Plan, findings: list[Finding]) -> dict[str, list[Finding]]:
    """Input warnings by the scenario they concern: one on a Scenarios row goes with that
    row's scenario; the rest belong to the plan as entered, reported with the Baseline."""
    row_scenario: dict[int, str] = {}
    budget = plan.settings.budget_scenario  # findings about actual spend go with the budget
    for change in plan.scenario_changes:
        row = _row_of(change.location)
        if row is not None:
            row_scenario.setdefault(row, change.scenario)
    out: dict[str, list[Finding]] = {}
    names = plan.scenario_names
    budget_known = budget in names
    for f in findings:
        name = names[0]
        if f.location.casefold().startswith("scenarios!"):
            name = row_scenario.get(_row_of(f.location) or 0, name)
        elif f.code in ACTUALS_CODES and budget_known:
            name = budget
        out.setdefault(name, []).append(f)
    return out


def _row_of(location: str) -> int | None:
    """The row number of ``Sheet!B12`` (12), or None."""
    digits = location.rsplit("!", 1)[-1].lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ").lstrip("$")
    return int(digits) if digits.isdigit() else None


def scenario_summary(evaluation: Evaluation, scenario: str) -> dict[str, Any]:
    """The JSON object of one scenario (spec §6)."""
    return scenario_figures(evaluation, scenario).to_json()


def summary_json(plan: Plan | None, findings: list[Finding],
                 evaluation: Evaluation | None = None, source_name: str = "") -> dict[str, Any]:
    """The JSON summary of spec §6; with errors, ``errors`` lists them and ``scenarios`` is []."""
    return plan_figures(plan, findings, evaluation, source_name).to_json()
