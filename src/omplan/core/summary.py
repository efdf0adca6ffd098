"""Ledger -> figures: totals, shares, band status and the JSON summary of spec §6.

Every figure is a group-by of the ledger; nothing is recomputed another way.
"""

from __future__ import annotations

from typing import Any

from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, band_status, kind_totals, pivot
from omplan.core.model import ACTIVITIES, FIXED_FEE, QUARTERS, SOURCINGS, Plan


def scenario_summary(evaluation: Evaluation, scenario: str) -> dict[str, Any]:
    """The JSON object of one scenario (spec §6)."""
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
    basis = labour[labour["sourcing"] != "In-house"].groupby("activity", observed=False)[
        "amount"].sum()
    fixed = sum(float(v) for a, v in basis.items() if plan.billing[str(a)] == FIXED_FEE)
    separate = sum(float(v) for a, v in basis.items() if plan.billing[str(a)] != FIXED_FEE)
    quarters = []
    per_q = kind_totals(led, "quarter")
    for quarter in QUARTERS:
        row = per_q.loc[quarter]
        q_share, q_status = band_status(row["operation"], row["total"], st.band_low, st.band_high)
        quarters.append({"quarter": quarter, "total": float(row["total"]),
                         "operation": float(row["operation"]),
                         "maintenance": float(row["maintenance"]),
                         "operation_share": q_share, "band_status": q_status})
    return {
        "name": scenario,
        "total": float(year["total"]),
        "operation": float(year["operation"]),
        "maintenance": float(year["maintenance"]),
        "operation_share": share,
        "band_status": status,
        "components": {c: float(components.get(c, 0.0)) for c in components.index},
        "by_sourcing": {s: float(by_sourcing.get(s, 0.0)) for s in SOURCINGS},
        "by_activity": {a: float(by_activity.get(a, 0.0)) for a in ACTIVITIES},
        "billing": {"fixed_fee": fixed, "separate_estimate": separate},
        "quarters": quarters,
        "findings": [f.as_dict() for f in evaluation.scenario_findings.get(scenario, [])],
    }


def summary_json(plan: Plan | None, findings: list[Finding],
                 evaluation: Evaluation | None = None, source_name: str = "") -> dict[str, Any]:
    """The JSON summary of spec §6; with errors, ``errors`` lists them and ``scenarios`` is []."""
    errors = [f for f in findings if f.severity == "error"]
    if evaluation is not None:
        errors += evaluation.errors
    if plan is None:
        from pathlib import Path

        stem = Path(source_name).stem if source_name else ""
        head: dict[str, Any] = {"plan": stem, "currency": None, "fiscal_year": None,
                                "band": {"low": None, "high": None},
                                "target_operation_share": None}
    else:
        st = plan.settings
        head = {"plan": st.plan_name, "currency": st.currency, "fiscal_year": st.fiscal_year,
                "band": {"low": st.band_low, "high": st.band_high},
                "target_operation_share": plan.target_operation_share()}
    result = {**head, "errors": [f.as_dict() for f in errors], "scenarios": []}
    if errors or evaluation is None:
        return result
    plan_findings = [f for f in findings if f.severity != "error"]
    for name in evaluation.scenarios:
        item = scenario_summary(evaluation, name)
        if name == evaluation.scenarios[0] and plan_findings:
            # input warnings belong to the plan as entered, reported with the Baseline
            item["findings"] = [f.as_dict() for f in plan_findings] + item["findings"]
        result["scenarios"].append(item)
    return result

