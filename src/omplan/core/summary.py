"""Ledger -> figures: totals, shares, band status per scenario and quarter, as typed values.

Every figure is a group-by of the ledger; nothing is recomputed another way. The report
layouts read these dataclasses; the JSON summary of spec §6 is one rendering of them
(:meth:`PlanFigures.to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status, kind_totals, pivot
from omplan.core.model import ACTIVITIES, FIXED_FEE, QUARTERS, SOURCINGS, Plan


def billing_split(plan: Plan, external_by_activity: Mapping[str, float]) -> dict[str, float]:
    """External labour by billing basis: ``{"fixed_fee": …, "separate_estimate": …}``."""
    fixed = sum(float(v) for a, v in external_by_activity.items()
                if plan.billing[str(a)] == FIXED_FEE)
    separate = sum(float(v) for a, v in external_by_activity.items()
                   if plan.billing[str(a)] != FIXED_FEE)
    return {"fixed_fee": fixed, "separate_estimate": separate}


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """Operation, maintenance and total of a period, with the share and its band status."""

    label: str
    total: float
    operation: float
    maintenance: float
    operation_share: float | None
    band_status: str

    def to_json(self) -> dict[str, Any]:
        return {"quarter": self.label, "total": self.total, "operation": self.operation,
                "maintenance": self.maintenance, "operation_share": self.operation_share,
                "band_status": self.band_status}


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
        }


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

    @property
    def baseline(self) -> ScenarioFigures:
        return self.scenarios[0]

    def to_json(self) -> dict[str, Any]:
        """The JSON summary of spec §6 (same keys, same order, full float precision)."""
        return {"plan": self.plan, "currency": self.currency, "fiscal_year": self.fiscal_year,
                "band": {"low": self.band_low, "high": self.band_high},
                "target_operation_share": self.target_operation_share,
                "errors": [f.as_dict() for f in self.errors],
                "scenarios": [s.to_json() for s in self.scenarios]}


def scenario_quarters(evaluation: Evaluation, scenario: str) -> list[PeriodFigures]:
    """The ``quarters`` of :func:`scenario_figures` alone (the quarterly budgets need only
    these): the same group-bys, without the rest of the scenario's figures."""
    led = evaluation.ledger
    return _quarters(led[led["scenario"] == scenario], evaluation.plan.settings)


def _quarters(led: Any, st: Any) -> list[PeriodFigures]:
    quarters = []
    per_q = kind_totals(led, "quarter")
    for quarter in QUARTERS:
        row = per_q.loc[quarter]
        q_share, q_status = band_status(row["operation"], row["total"], st.band_low, st.band_high)
        quarters.append(PeriodFigures(quarter, float(row["total"]), float(row["operation"]),
                                      float(row["maintenance"]), q_share, q_status))
    return quarters


def scenario_figures(evaluation: Evaluation, scenario: str,
                     extra_findings: list[Finding] | None = None) -> ScenarioFigures:
    """One scenario's figures, each a group-by of its ledger rows."""
    plan = evaluation.plan
    st = plan.settings
    led = evaluation.ledger
    led = led[led["scenario"] == scenario]
    year = kind_totals(led).iloc[0]
    share, status = band_status(year["operation"], year["total"], st.band_low, st.band_high)
    components = pivot(led, "component")
    labour = led[led["component"] == "labour"]
    by_sourcing = pivot(labour, "sourcing")
    by_activity = pivot(led, "activity")
    external = labour[labour["sourcing"] != "In-house"].groupby("activity", observed=False)[
        "amount"].sum()
    quarters = _quarters(led, st)
    return ScenarioFigures(
        name=scenario,
        total=float(year["total"]),
        operation=float(year["operation"]),
        maintenance=float(year["maintenance"]),
        operation_share=share,
        band_status=status,
        components={c: float(components.get(c, 0.0)) for c in components.index},
        by_sourcing={s: float(by_sourcing.get(s, 0.0)) for s in SOURCINGS},
        by_activity={a: float(by_activity.get(a, 0.0)) for a in ACTIVITIES},
        billing=billing_split(plan, external),
        quarters=quarters,
        findings=[*(extra_findings or []), *evaluation.scenario_findings.get(scenario, [])],
    )


def plan_figures(plan: Plan | None, findings: list[Finding],
                 evaluation: Evaluation | None = None, source_name: str = "") -> PlanFigures:
    """The figures of a run; with errors, ``errors`` lists them and there are no scenarios."""
    errors = [f for f in findings if f.severity == "error"]
    if evaluation is not None:
        errors += evaluation.errors
    if plan is None:
        stem = Path(source_name).stem if source_name else ""
        return PlanFigures(stem, None, None, None, None, None, errors)
    st = plan.settings
    figures = PlanFigures(st.plan_name, st.currency, st.fiscal_year, st.band_low, st.band_high,
                          plan.target_operation_share(), errors)
    if errors or evaluation is None:
        return figures
    by_scenario = input_findings_by_scenario(plan, [f for f in findings
                                                    if f.severity != "error"])
    for name in evaluation.scenarios:
        figures.scenarios.append(scenario_figures(evaluation, name, by_scenario.get(name)))
    return figures


def input_findings_by_scenario(plan: Plan, findings: list[Finding]) -> dict[str, list[Finding]]:
    """Input warnings by the scenario they concern: one on a Scenarios row goes with that
    row's scenario; the rest belong to the plan as entered, reported with the Baseline."""
    row_scenario: dict[int, str] = {}
    for change in plan.scenario_changes:
        row = _row_of(change.location)
        if row is not None:
            row_scenario.setdefault(row, change.scenario)
    out: dict[str, list[Finding]] = {}
    for f in findings:
        name = plan.scenario_names[0]
        if f.location.casefold().startswith("scenarios!"):
            name = row_scenario.get(_row_of(f.location) or 0, name)
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
