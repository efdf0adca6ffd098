"""The ledger: its columns, the engine's result that holds it, and the group-bys every figure uses.

One row per scenario, system, quarter, role, sourcing, vendor, activity, kind and cost component,
with its amount; every figure omplan reports is a group-by of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.model import ACTIVITIES, BASELINE, COMPONENTS, QUARTERS, Plan
from omplan.core.scenarios import ScenarioLines

#: Ledger columns; every column but ``amount`` is categorical. Blank role/sourcing/vendor
#: ('') marks plan-level money: coordination and other (non-labour) costs.
LEDGER_COLUMNS = (
    "scenario", "system", "quarter", "role", "level", "sourcing", "vendor",
    "activity", "kind", "component", "amount",
)


@dataclass
class Evaluation:
    """The engine's result: the ledger plus findings (plan-wide and per scenario)."""

    plan: Plan
    ledger: pd.DataFrame
    errors: list[Finding] = field(default_factory=list)
    scenario_findings: dict[str, list[Finding]] = field(default_factory=dict)
    #: the engine's arrays behind the ledger (line FTE and rates for the business case)
    arrays: EngineArrays | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def scenarios(self) -> list[str]:
        return self.plan.scenario_names


class Parties(NamedTuple):
    """Per (key, quarter) row: system-quarter id, vendor code, non-pro-rata operation and
    maintenance labour, scenario, system, quarter; plus the split system-quarter ids."""

    ssq: np.ndarray
    vendor: np.ndarray
    op_labour: np.ndarray
    mt_labour: np.ndarray
    scenario: np.ndarray
    system: np.ndarray
    quarter: np.ndarray
    split_ssq: np.ndarray


@dataclass
class EngineArrays:
    """The engine's numbers before any DataFrame: one row per (ledger key, quarter).

    ``split`` holds each row's activity shares, so labour by activity is
    ``labour[:, None] * split`` (likewise vendor management and transition); coordination is
    per system-quarter (``scenario * n_systems + system) * 4 + quarter``) and activity.
    """

    plan: Plan
    names: list[str]
    systems: list[str]
    roles: list[str]
    vendors: list[str]
    lines: ScenarioLines
    scenario: np.ndarray
    system: np.ndarray
    quarter: np.ndarray
    role: np.ndarray
    sourcing: np.ndarray
    vendor: np.ndarray
    labour: np.ndarray  # (K,) per row, before the activity split
    vendor_management: np.ndarray  # (K,)
    transition: np.ndarray  # (K,)
    split: np.ndarray  # (K, 8)
    coordination: np.ndarray  # (n_scenarios * n_systems * 4, 8)
    parties: Parties
    errors: list[Finding] = field(default_factory=list)
    #: effective monthly rate of each stacked line (rate × rate factor; 0 where none)
    line_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))


def empty_ledger(scenarios: list[str] | None = None) -> pd.DataFrame:
    cats = {"scenario": scenarios or [BASELINE], "quarter": list(QUARTERS),
            "activity": list(ACTIVITIES), "kind": ["operation", "maintenance"],
            "component": list(COMPONENTS)}
    data = {c: pd.Categorical([], categories=cats.get(c, [""])) for c in LEDGER_COLUMNS[:-1]}
    return pd.DataFrame({**data, "amount": np.array([], dtype=float)})


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
