"""Ledger -> figures: totals, shares, band status and the JSON summary of spec §6.

Every figure is a group-by of the ledger; nothing is recomputed another way.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .engine import Evaluation
from .findings import Finding
from .model import ACTIVITIES, FIXED_FEE, QUARTERS, SOURCINGS, Plan


def band_status(
    operation: float, total: float, low: float, high: float
) -> tuple[float | None, str]:
    """(operation_share, band status) per spec §3.8; boundaries are within the band."""
    if total == 0:
        return None, "no-cost"
    share = operation / total
    if share < low:
        return share, "maintenance-heavy"
    if share > high:
        return share, "operation-heavy"
    return share, "within"


def pivot(ledger: pd.DataFrame, rows: str | list[str], cols: str | None = None,
          **where: Any) -> pd.DataFrame | pd.Series:
    """Sum of ``amount`` by ``rows`` (and ``cols``) over the ledger rows matching ``where``.

    Keeps every category (zeros included) so that tables always have the same shape.
    """
    frame = ledger
    for column, value in where.items():
        values = value if isinstance(value, list | tuple | set) else [value]
        frame = frame[frame[column].isin(values)]
    keys = [rows] if isinstance(rows, str) else list(rows)
    if cols is not None:
        keys.append(cols)
    grouped = frame.groupby(keys, observed=False)["amount"].sum()
    if cols is None:
        return grouped
    return grouped.unstack(cols, fill_value=0.0)


def kind_totals(ledger: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """operation, maintenance and total per ``by`` (or one row for the whole ledger)."""
    keys = ([by] if isinstance(by, str) else list(by)) if by else []
    if keys:
        frame = ledger.groupby([*keys, "kind"], observed=False)["amount"].sum().unstack("kind")
    else:
        frame = ledger.groupby("kind", observed=False)["amount"].sum().to_frame().T
    frame = frame.reindex(columns=["operation", "maintenance"], fill_value=0.0).fillna(0.0)
    frame["total"] = frame["operation"] + frame["maintenance"]
    return frame


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

