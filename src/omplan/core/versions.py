"""Plan versions (spec §12): the fingerprint of a plan's inputs, the change log between two
versions, and the bridge between their figures by input category.

Pure: records in (:mod:`omplan.core.records`), figures of evaluations in, typed results out.
Reading two files, swapping their sheets and evaluating the plans in between is
:mod:`omplan.input.versions`; the terminal text, the JSON and the workbook render these types.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omplan.core.business import npv
from omplan.core.ledger import Evaluation, sum_by
from omplan.core.model import Plan
from omplan.core.records import SHEET_COLUMNS, SHEET_ORDER, Records, plan_records

# --------------------------------------------------------------------------- fingerprint

#: Names the canonical serialisation; a change to it is a change of every fingerprint.
FINGERPRINT_FORMAT = "omplan-inputs/1"


def canonical_value(value: Any) -> Any:
    """A value as the fingerprint and the change log compare it: every number a float (1 and
    1.0 are one value; -0.0 is 0.0), dates as ISO text, blank (None, '') as None."""
    kind = type(value)  # the common types first: this runs once per input cell
    if kind is str:
        return value or None
    if kind is float:
        return value if value != 0 else 0.0
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return 0.0 if number == 0 else number
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    return value


def canonical_bytes(records: Records) -> bytes:
    """The canonical serialisation: sheets by name, rows in sheet order, each row's columns by
    name, blank values left out, numbers as floats at full precision; UTF-8 JSON."""
    sheets: dict[str, list[dict[str, Any]]] = {}
    for sheet, rows in records.items():
        out = []
        for row in rows:
            values = {column: canonical_value(v) for column, v in row.items()}
            out.append({c: v for c, v in values.items() if v is not None})
        if out:
            sheets[sheet] = out
    document = {"format": FINGERPRINT_FORMAT, "sheets": sheets}
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def fingerprint(records: Records) -> str:
    """SHA-256 (hex) of :func:`canonical_bytes`: equal for two plans whose input tables hold
    the same values, whatever their formatting, column order or header case."""
    return hashlib.sha256(canonical_bytes(records)).hexdigest()


def plan_fingerprint(plan: Plan) -> str:
    """The fingerprint of a checked plan's inputs (its records: :func:`plan_records`)."""
    return fingerprint(plan_records(plan))


# --------------------------------------------------------------------------- change log

#: The key columns that match the rows of each sheet between two versions (spec §12). A sheet
#: not listed is matched by its whole row (a changed row is then removed and added).
SHEET_KEYS: dict[str, tuple[str, ...]] = {
    "Settings": ("Setting",),
    "Roles": ("Role",),
    "Rates": ("Role", "Sourcing"),
    "Allocation": ("Role",),
    "Staffing": ("System", "Role", "Sourcing", "Vendor"),
    "Costs": ("System", "Item", "Activity"),
    "Billing": ("Activity",),
    "Contracts": ("Vendor",),
    "Profile": ("Factor",),
    "Systems": ("System",),
    "Scenarios": ("Scenario", "Role", "System", "Change", "From"),
    "Escalation": ("Applies to", "Vendor"),
    "FX": ("Currency", "Fiscal year"),
    "Actuals": ("Month", "System", "Activity", "Currency", "Item"),
    "Risks": ("Driver", "Applies to"),
    "Options": ("Role", "System", "Sourcing", "Vendor"),
    "TBM": ("Activity", "Component", "Sourcing", "Level"),
}

ADDED, REMOVED = "added", "removed"


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log: a changed value (``column``, ``old``, ``new``) or a row
    added or removed (``change``)."""

    sheet: str
    key: tuple[Any, ...]
    column: str | None = None
    old: Any = None
    new: Any = None
    change: str | None = None

    def to_json(self) -> dict[str, Any]:
        key = [_json_value(v) for v in self.key]
        if self.change is not None:
            return {"sheet": self.sheet, "key": key, "change": self.change}
        return {"sheet": self.sheet, "key": key, "column": self.column,
                "old": _json_value(self.old), "new": _json_value(self.new)}


def _json_value(value: Any) -> Any:
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sheet_order(sheets: set[str]) -> list[str]:
    return [s for s in SHEET_ORDER if s in sheets] + sorted(sheets - set(SHEET_ORDER))


def _columns(sheet: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The sheet's columns in its reading order, then any others by name."""
    known = SHEET_COLUMNS.get(sheet, ())
    seen = {c for row in rows for c in row}
    return [c for c in known if c in seen] + sorted(seen - set(known))


def _match_key(row: Mapping[str, Any], key_columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(canonical_value(row.get(c)) for c in key_columns)


def _shown_key(row: Mapping[str, Any], key_columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in key_columns)


def change_log(old: Records, new: Records) -> list[Change]:
    """The differences between two versions' input tables, sheet by sheet (in reading order).

    Rows are matched by the sheet's key (:data:`SHEET_KEYS`); a key that occurs n times is
    matched by occurrence (the first with the first). For each sheet: the changed values of
    matched rows (in NEW's row order, columns in reading order), then the rows removed (in
    OLD's order), then the rows added (in NEW's order). Values compare as normalised."""
    out: list[Change] = []
    for sheet in _sheet_order(set(old) | set(new)):
        old_rows, new_rows = list(old.get(sheet, ())), list(new.get(sheet, ()))
        keys = SHEET_KEYS.get(sheet) or tuple(_columns(sheet, old_rows + new_rows))
        waiting: dict[tuple[Any, ...], list[int]] = {}
        for i, row in enumerate(old_rows):
            waiting.setdefault(_match_key(row, keys), []).append(i)
        matched: set[int] = set()
        added: list[Change] = []
        for row in new_rows:
            queue = waiting.get(_match_key(row, keys))
            if not queue:
                added.append(Change(sheet, _shown_key(row, keys), change=ADDED))
                continue
            i = queue.pop(0)
            matched.add(i)
            before = old_rows[i]
            for column in _columns(sheet, [before, row]):
                if column in keys:
                    continue
                a, b = before.get(column), row.get(column)
                if (a != b or type(a) is not type(b)) and canonical_value(a) != canonical_value(b):
                    out.append(Change(sheet, _shown_key(row, keys), column, a, b))
        out += [Change(sheet, _shown_key(row, keys), change=REMOVED)
                for i, row in enumerate(old_rows) if i not in matched]
        out += added
    return out


# --------------------------------------------------------------------------- bridge

#: The bridge's input categories in their fixed order, each with its sheets (spec §12).
BRIDGE_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Settings", ("Settings",)),
    ("FX", ("FX",)),
    ("Escalation", ("Escalation",)),
    ("Rates", ("Rates",)),
    ("Roles and Allocation", ("Roles", "Allocation")),
    ("Staffing", ("Staffing",)),
    ("Costs, Billing, Contracts, Profile and Systems",
     ("Costs", "Billing", "Contracts", "Profile", "Systems")),
    ("Scenarios", ("Scenarios",)),
)
#: Every sheet the bridge swaps; the others (Actuals, Risks, Options, TBM) change no figure of
#: the plan and stay out of the plans in between.
BRIDGE_SHEETS: tuple[str, ...] = tuple(s for _, sheets in BRIDGE_CATEGORIES for s in sheets)


@dataclass(frozen=True, slots=True)
class ScenarioAmounts:
    """A scenario's horizon figures the bridge follows (or their change over a step)."""

    total: float
    npv_cost: float

    def to_json(self) -> dict[str, float]:
        return {"total": self.total, "npv_cost": self.npv_cost}


#: scenario -> its figures in one plan
Figures = Mapping[str, ScenarioAmounts]


@dataclass(frozen=True, slots=True)
class BridgeStep:
    """The change of every compared scenario's figures when ``categories`` are taken from NEW
    (more than one category when the plan in between was not valid)."""

    categories: tuple[str, ...]
    scenarios: dict[str, ScenarioAmounts]

    @property
    def label(self) -> str:
        return " + ".join(self.categories)

    def to_json(self) -> dict[str, Any]:
        return {"categories": list(self.categories),
                "scenarios": {name: a.to_json() for name, a in self.scenarios.items()}}


def telescope(categories: Sequence[str], figures: Sequence[Figures | None],
              scenarios: Sequence[str]) -> list[BridgeStep]:
    """The steps of a bridge from the figures of P_0 … P_m (``figures[j]`` after category j;
    None where P_j is not a valid plan, in which case category j joins the next step).

    Each step is figure(P_j) − figure(P_i) for consecutive valid plans i < j, so the steps of a
    scenario add up to figure(P_m) − figure(P_0): every value in between appears once with +
    and once with − (and each difference is exact in floating point when the two figures are
    within a factor of two of each other, as consecutive versions' totals are)."""
    if len(figures) != len(categories) + 1:
        raise ValueError("need the figures of P_0 and of one plan per category")
    if figures[0] is None or figures[-1] is None:
        raise ValueError("OLD and NEW must both be valid plans")
    steps: list[BridgeStep] = []
    last: Figures = figures[0]
    pending: list[str] = []
    for category, current in zip(categories, figures[1:], strict=True):
        pending.append(category)
        if current is None:
            continue
        steps.append(BridgeStep(tuple(pending), {
            name: ScenarioAmounts(current[name].total - last[name].total,
                                  current[name].npv_cost - last[name].npv_cost)
            for name in scenarios}))
        last, pending = current, []
    return steps


def bridge_amounts(evaluation: Evaluation,
                   fiscal_years: tuple[int, int] | None = None) -> dict[str, ScenarioAmounts]:
    """Every scenario's total and NPV of cost from an evaluated plan's ledger.

    Without ``fiscal_years``: the horizon figures, bit for bit those of the JSON summary (the
    same group-bys of the ledger). With ``(first, last)``: the quarters of those fiscal years
    only, the NPV discounted to the start of ``first`` (end-of-quarter discounting at the plan's
    own discount rate), for comparing plans whose horizons differ."""
    plan = evaluation.plan
    ledger = evaluation.ledger
    names = evaluation.scenarios
    rate = plan.settings.discount_rate
    kinds = list(ledger["kind"].cat.categories)
    op, mt = kinds.index("operation"), kinds.index("maintenance")
    per_q = sum_by(ledger, ["scenario", "quarter", "kind"])
    per_q = per_q[:, :, op] + per_q[:, :, mt]
    if fiscal_years is None:
        per_kind = sum_by(ledger, ["scenario", "kind"])
        return {name: ScenarioAmounts(float(per_kind[i, op] + per_kind[i, mt]),
                                      npv(per_q[i], rate)) for i, name in enumerate(names)}
    first = plan.settings.fiscal_year
    a, b = 4 * (fiscal_years[0] - first), 4 * (fiscal_years[1] - first + 1)
    if a < 0 or b > per_q.shape[1]:
        raise ValueError(f"fiscal years {fiscal_years} are outside the plan's horizon")
    return {name: ScenarioAmounts(math.fsum(per_q[i, a:b].tolist()), npv(per_q[i, a:b], rate))
            for i, name in enumerate(names)}


@dataclass
class VersionBridge:
    """The bridge from OLD's figures to NEW's, step by input category, per compared scenario.

    ``steps`` is empty when the plans cannot be compared (different currencies, or no fiscal
    year in common); ``notes`` says plainly what is not compared and why."""

    steps: list[BridgeStep]
    scenarios: list[str]
    old: dict[str, ScenarioAmounts]
    new: dict[str, ScenarioAmounts]
    currency: str | None
    fiscal_years: tuple[int, int] | None
    #: True when both plans cover the same fiscal years: the figures are then exactly the
    #: horizon figures of each plan's JSON summary
    whole_horizon: bool = True
    notes: list[str] = field(default_factory=list)
    #: plans in between OLD and NEW that were read and evaluated (categories whose sheets are
    #: the same in both versions, and the plan after the last changed one, need none)
    plans_evaluated: int = 0

    def change(self, scenario: str) -> ScenarioAmounts:
        """NEW − OLD of one scenario: what its steps add up to."""
        a, b = self.old[scenario], self.new[scenario]
        return ScenarioAmounts(b.total - a.total, b.npv_cost - a.npv_cost)

    def to_json(self) -> list[dict[str, Any]]:
        """The ``bridge`` of spec §12's JSON: one entry per step."""
        return [step.to_json() for step in self.steps]

    def scope_json(self) -> dict[str, Any]:
        """What the bridge covers: currency, fiscal years, each scenario's figures in OLD and
        NEW, and what is not compared."""
        years = list(range(self.fiscal_years[0], self.fiscal_years[1] + 1)) \
            if self.fiscal_years else []
        return {"currency": self.currency, "fiscal_years": years,
                "whole_horizon": self.whole_horizon,
                "scenarios": {name: {"old": self.old[name].to_json(),
                                     "new": self.new[name].to_json(),
                                     "change": self.change(name).to_json()}
                              for name in self.scenarios},
                "notes": list(self.notes)}


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class VersionSide:
    """One of the two plans compared: its file name and the fingerprint of its inputs."""

    file: str
    fingerprint: str

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "fingerprint": self.fingerprint}


@dataclass
class PlanComparison:
    """``omplan diff OLD NEW``: fingerprints, the change log and the bridge."""

    old: VersionSide
    new: VersionSide
    changes: list[Change]
    bridge: VersionBridge

    @property
    def same_inputs(self) -> bool:
        return self.old.fingerprint == self.new.fingerprint

    def to_json(self) -> dict[str, Any]:
        """The JSON of spec §12 (``old``, ``new``, ``same_inputs``, ``changes``, ``bridge``),
        plus ``bridge_scope``: the currency, fiscal years and per-scenario figures the bridge
        covers, and notes on what could not be compared."""
        return {"old": self.old.to_json(), "new": self.new.to_json(),
                "same_inputs": self.same_inputs,
                "changes": [c.to_json() for c in self.changes],
                "bridge": self.bridge.to_json(),
                "bridge_scope": self.bridge.scope_json()}


__all__ = [
    "ADDED", "BRIDGE_CATEGORIES", "BRIDGE_SHEETS", "Change", "FINGERPRINT_FORMAT", "REMOVED",
    "SHEET_KEYS", "BridgeStep", "Figures", "PlanComparison", "ScenarioAmounts", "VersionBridge",
    "VersionSide", "bridge_amounts", "canonical_bytes", "canonical_value", "change_log",
    "fingerprint", "plan_fingerprint", "telescope",
]
