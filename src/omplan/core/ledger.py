"""The ledger: its columns, the engine's result that holds it, and the group-bys every figure uses.

One row per scenario, system, period, role, sourcing, vendor, activity, kind and cost component,
with its amount (and, on labour rows, its FTE); every figure omplan reports is a group-by of it.
The ``quarter`` column holds the horizon's period labels: ``Q1``..``Q4`` for a one-year plan,
``FY2027 Q1``... for a longer one; a row's category code is its period index k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.model import ACTIVITIES, BASELINE, COMPONENTS, QUARTERS, Plan
from omplan.core.scenarios import ScenarioLines, Segments
from omplan.core.sums import group_sums

#: Ledger columns as the Ledger sheet shows them; every column but ``amount`` is categorical.
#: Blank role/sourcing/vendor ('') marks plan-level money: coordination and other
#: (non-labour) costs.
LEDGER_COLUMNS = (
    "scenario", "system", "quarter", "role", "level", "sourcing", "vendor",
    "activity", "kind", "component", "amount",
)
#: The ledger DataFrame's columns: the sheet's, then ``fte`` (float): the FTE of a labour row,
#: split by activity like its amount; 0 on every other row.
LEDGER_FRAME_COLUMNS = (*LEDGER_COLUMNS, "fte")


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
    """Per (key, period) row: system-period id, vendor code, non-pro-rata operation and
    maintenance labour, scenario, system, period; plus the split system-period ids."""

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
    """The engine's numbers before any DataFrame: one row per (ledger key, period k).

    A ledger key is (scenario, system, role, sourcing, vendor); its codes per row are
    ``scenario``, ``system``, ``quarter`` (the period k), ``role``, ``sourcing`` and ``vendor``
    (indexes into ``names``, ``systems``, the horizon's periods, ``roles``, :data:`SOURCINGS`
    and ``vendors``). Every component's money is in ``amounts``, keyed by its name in
    :data:`~omplan.core.model.COMPONENT_TABLE` and shaped by where it is booked:

    * ``row`` components (labour, vendor management, transition): ``(R,)`` per row, before
      the activity split; by activity it is ``amount(c)[:, None] * split``;
    * ``system`` components (coordination): ``(n_scenarios * n_systems * n_periods, 8)``, row
      ``(scenario * n_systems + system) * n_periods + k``, already split by activity;
    * ``cost`` components (other costs): ``(n_costs, n_periods)`` per Costs row (in
      ``plan.costs`` order), escalated and in the plan's currency, the same in every scenario.

    ``amount(name)`` reads one; ``labour``, ``vendor_management``, ``transition``,
    ``coordination`` and ``other_costs`` are shorthands for today's components.
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
    #: component name -> its money (see the class docstring for the shapes)
    amounts: dict[str, np.ndarray]
    split: np.ndarray  # (R, 8) each row's activity shares (pro-rata rows: their mix)
    parties: Parties
    errors: list[Finding] = field(default_factory=list)
    #: (N, K) effective monthly rate of each stacked line in each period: rate × rate factor ×
    #: escalation × FX (0 where none)
    line_rate: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    #: (R,) FTE per row, before the activity split
    fte: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: the stacked lines cut where a timed change moves them (one per line without one)
    segments: Segments | None = None
    n_periods: int = 4

    def amount(self, component: str) -> np.ndarray:
        """The money of ``component`` (a name of the component table)."""
        return self.amounts[component]

    @property
    def labour(self) -> np.ndarray:
        """(R,) labour per row."""
        return self.amounts["labour"]

    @property
    def vendor_management(self) -> np.ndarray:
        """(R,) vendor management per row."""
        return self.amounts["vendor_management"]

    @property
    def transition(self) -> np.ndarray:
        """(R,) transition per row."""
        return self.amounts["transition"]

    @property
    def coordination(self) -> np.ndarray:
        """(n_scenarios * n_systems * n_periods, 8) coordination per system-period."""
        return self.amounts["coordination"]

    @property
    def other_costs(self) -> np.ndarray:
        """(n_costs, n_periods) every Costs row per period."""
        return self.amounts["other"]


def empty_ledger(scenarios: list[str] | None = None,
                 periods: tuple[str, ...] | list[str] = QUARTERS) -> pd.DataFrame:
    """A ledger without rows (a plan with errors), with the columns and categories of one."""
    cats = {"scenario": scenarios or [BASELINE], "quarter": list(periods),
            "activity": list(ACTIVITIES), "kind": ["operation", "maintenance"],
            "component": list(COMPONENTS)}
    data = {c: pd.Categorical([], categories=cats.get(c, [""])) for c in LEDGER_COLUMNS[:-1]}
    return pd.DataFrame({**data, "amount": np.array([], dtype=float),
                         "fte": np.array([], dtype=float)})


def band_status(
    operation: float, total: float, low: float, high: float
) -> tuple[float | None, str]:
    """(operation_share, band status) per spec §3.8; boundaries are within the band."""
    if total == 0:
        return None, "no-cost"
    share = operation / total
    # an edge is inside the band; a share a rounding error off it (400 / 1,000 added up in
    # another order is 0.39999999999999997) is on the edge too
    if share < low - BAND_EDGE_TOLERANCE:
        return share, "maintenance-heavy"
    if share > high + BAND_EDGE_TOLERANCE:
        return share, "operation-heavy"
    return share, "within"


#: how far (as a fraction) a share may sit outside a band edge from floating-point rounding
#: alone and still count as on it
BAND_EDGE_TOLERANCE = 1e-9


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


def sum_by(ledger: pd.DataFrame, keys: Sequence[str],
           where: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``amount`` per combination of the categories of ``keys`` (rows matching
    ``where`` only): an array with one axis per key, in category order, 0 where no row.

    The sums are bit for bit those of ``ledger[where].groupby(keys, observed=False)
    ["amount"].sum()`` (the same rows, the same group ids, so pandas adds them the same way),
    grouped on one integer code (:func:`omplan.core.sums.group_sums`), which is much faster
    than several categorical keys.
    """
    shape = tuple(len(ledger[k].cat.categories) for k in keys)
    rows = None if where is None else np.flatnonzero(where)
    amount = ledger["amount"].to_numpy()
    if rows is not None:
        amount = amount[rows]
    code = np.zeros(len(amount), dtype=np.intp)
    for k, size in zip(keys, shape, strict=True):
        codes = ledger[k].cat.codes.to_numpy()
        code *= size
        code += codes if rows is None else codes[rows]
    return group_sums(amount, code, int(np.prod(shape))).reshape(shape)


def is_category(ledger: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Rows whose ``column`` is ``value`` (a boolean array; all False if not a category)."""
    series = ledger[column]
    categories = list(series.cat.categories)
    if value not in categories:
        return np.zeros(len(ledger), dtype=bool)
    return np.asarray(series.cat.codes.to_numpy() == categories.index(value))


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
