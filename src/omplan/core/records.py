"""A plan's input tables as canonical records: sheet -> rows ``{column: value}`` in sheet order.

The values are those the reader normalised (``in house`` is ``In-house``, 1 and 1.0 are one
number, a header's case and a column's place do not matter), without cell locations. The
fingerprint and the change log of plan versions (:mod:`omplan.core.versions`) are computed from
these records only, so one function per sheet below is the single place that says what a sheet
holds. When the input schema provides its own normalised records per sheet, they replace the
functions of :data:`SHEET_RECORDS` one for one.

Conventions: numbers are ``float`` (``int`` where the reader types a whole number: a fiscal
year, a setting such as ``horizon_years``); a blank cell is left out of its record (so a new
optional column that a plan leaves blank changes nothing); booleans stay booleans. A sheet with
no rows has no records and is left out altogether: a plan without a Risks sheet has the same
records whether or not omplan knows that sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omplan.core.model import ACTIVITIES, Plan

#: One input row: column name -> normalised value (blank cells left out).
Record = dict[str, Any]
#: A plan's input tables: sheet name -> its records in sheet order.
Records = Mapping[str, Sequence[Mapping[str, Any]]]

#: The columns of each sheet in the order a reader meets them (change log entries follow it;
#: columns not listed, such as ``FY2028 Q3`` overrides, come after, in name order).
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {
    "Settings": ("Setting", "Value"),
    "Roles": ("Role", "Level"),
    "Rates": ("Role", "Sourcing", "Monthly cost", "Currency"),
    "Allocation": ("Role", *ACTIVITIES),
    "Staffing": ("System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"),
    "Costs": ("System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4", "Currency"),
    "Billing": ("Activity", "Basis"),
    "Contracts": ("Vendor", "Emergency response SLA hours", "Permanent fix SLA days", "Max FTE"),
    "Profile": ("Factor", "Applies"),
    "Systems": ("System",),
    "Scenarios": ("Scenario", "Role", "System", "Change", "Value", "From"),
    "Escalation": ("Applies to", "Vendor", "Annual rate"),
    "FX": ("Currency", "Fiscal year", "Rate"),
    "Actuals": ("Month", "System", "Activity", "Amount", "Currency", "Item"),
    "Risks": ("Driver", "Applies to", "Low", "Likely", "High", "Distribution"),
    "Options": ("Role", "System", "Sourcing", "Vendor"),
    "TBM": ("Activity", "Component", "Sourcing", "Level", "Cost pool", "Cost sub-pool", "Tower",
            "Sub-tower"),
}
#: Sheets in the order the change log lists them (others after, by name).
SHEET_ORDER: tuple[str, ...] = tuple(SHEET_COLUMNS)


def _row(pairs: Sequence[tuple[str, Any]]) -> Record:
    """A record of (column, value) pairs with the blank values (None, '') left out."""
    return {name: value for name, value in pairs if value is not None and value != ""}


def settings_records(plan: Plan) -> list[Record]:
    """One record per setting the Settings sheet names, in sheet order, with the value used
    (a blank Value cell gives the default). A blank ``plan_name`` (the file name) is left blank,
    so that saving a plan under another name keeps its records."""
    stem = Path(plan.source_name).stem
    out = []
    for key in plan.setting_cells:
        value = getattr(plan.settings, key, None)
        if key == "plan_name" and value == stem:
            value = None
        out.append(_row([("Setting", key), ("Value", value)]))
    return out


def roles_records(plan: Plan) -> list[Record]:
    return [_row([("Role", r.role), ("Level", r.level)]) for r in plan.roles.values()]


def rates_records(plan: Plan) -> list[Record]:
    return [_row([("Role", r.role), ("Sourcing", r.sourcing), ("Monthly cost", r.monthly_cost),
                  ("Currency", r.currency)]) for r in plan.rates.values()]


def allocation_records(plan: Plan) -> list[Record]:
    """A role and its non-zero shares; a pro-rata role has no share at all."""
    out = []
    for a in plan.allocation.values():
        shares = a.shares or {}
        out.append(_row([("Role", a.role), *((act, shares.get(act)) for act in ACTIVITIES
                                              if shares.get(act))]))
    return out


def _quarter_columns(values: Sequence[float], labels: Sequence[str]) -> list[tuple[str, float]]:
    """A Staffing or Costs row's values per period as the sheet can hold them: Q1–Q4 (the
    first fiscal year's) and a ``FY<year> Q<n>`` column for every later quarter that differs.

    The reader repeats Q1–Q4 over the horizon and lets FY columns override single quarters;
    this is the one canonical way back, so that two sheets giving the same quarters give the
    same record, and raising ``horizon_years`` changes no row."""
    out = [(f"Q{q + 1}", float(values[q])) for q in range(min(4, len(values)))]
    for k in range(4, len(values)):
        if values[k] != values[k % 4]:
            out.append((labels[k], float(values[k])))
    return out


def staffing_records(plan: Plan) -> list[Record]:
    labels = [p.label for p in plan.horizon.periods]
    return [_row([("System", x.system), ("Role", x.role), ("Sourcing", x.sourcing),
                  ("Vendor", x.vendor), *_quarter_columns(x.fte, labels)])
            for x in plan.staffing]


def costs_records(plan: Plan) -> list[Record]:
    labels = [p.label for p in plan.horizon.periods]
    return [_row([("System", c.system), ("Item", c.item), ("Activity", c.activity),
                  *_quarter_columns(c.amounts, labels), ("Currency", c.currency)])
            for c in plan.costs]


def billing_records(plan: Plan) -> list[Record]:
    """Every activity with its basis (the defaults where the sheet says nothing): a Billing
    sheet that states the defaults is the same input as none."""
    return [_row([("Activity", a), ("Basis", plan.billing[a])]) for a in ACTIVITIES]


def contracts_records(plan: Plan) -> list[Record]:
    return [_row([("Vendor", c.vendor), ("Emergency response SLA hours", c.emergency_sla_hours),
                  ("Permanent fix SLA days", c.permanent_fix_sla_days),
                  ("Max FTE", getattr(c, "max_fte", None))])
            for c in plan.contracts.values()]


def profile_records(plan: Plan) -> list[Record]:
    return [_row([("Factor", f), ("Applies", applies)]) for f, applies in plan.profile.items()]


def systems_records(plan: Plan) -> list[Record]:
    return [_row([("System", name)]) for name in plan.systems]


def scenarios_records(plan: Plan) -> list[Record]:
    """Scenarios rows; From is the quarter's label (``FY2028 Q3``), blank from the start."""
    periods = plan.horizon.periods
    out = []
    for c in plan.scenario_changes:
        value = float(c.value) if isinstance(c.value, int | float) else c.value
        start = periods[c.start].label if 0 < c.start < len(periods) else None
        out.append(_row([("Scenario", c.scenario), ("Role", c.role), ("System", c.system),
                         ("Change", c.change), ("Value", value), ("From", start)]))
    return out


def escalation_records(plan: Plan) -> list[Record]:
    return [_row([("Applies to", e.applies_to), ("Vendor", e.vendor),
                  ("Annual rate", e.annual_rate)]) for e in plan.escalation]


def fx_records(plan: Plan) -> list[Record]:
    return [_row([("Currency", f.currency), ("Fiscal year", f.fiscal_year), ("Rate", f.rate)])
            for f in plan.fx]


def actuals_records(plan: Plan) -> list[Record]:
    """Actual spend as the reader keeps it (rows of one month, system, activity and currency
    added up); Month is the calendar month ``YYYY-MM``."""
    horizon = plan.horizon
    out = []
    for a in plan.actuals:
        year, month = horizon.month_of(a.month)
        out.append(_row([("Month", f"{year:04d}-{month:02d}"), ("System", a.system),
                         ("Activity", a.activity), ("Amount", a.amount),
                         ("Currency", a.currency), ("Item", a.item)]))
    return out


#: sheet -> the function giving its records. Sheets the plan model does not keep yet (Risks,
#: Options, TBM) join here with one function each; a plan without them is unaffected.
SHEET_RECORDS: tuple[tuple[str, Callable[[Plan], list[Record]]], ...] = (
    ("Settings", settings_records),
    ("Roles", roles_records),
    ("Rates", rates_records),
    ("Allocation", allocation_records),
    ("Staffing", staffing_records),
    ("Costs", costs_records),
    ("Billing", billing_records),
    ("Contracts", contracts_records),
    ("Profile", profile_records),
    ("Systems", systems_records),
    ("Scenarios", scenarios_records),
    ("Escalation", escalation_records),
    ("FX", fx_records),
    ("Actuals", actuals_records),
)


def plan_records(plan: Plan) -> dict[str, list[Record]]:
    """Every input table of ``plan`` as canonical records; sheets without rows left out."""
    out = {}
    for sheet, read in SHEET_RECORDS:
        rows = read(plan)
        if rows:
            out[sheet] = rows
    return out


__all__ = ["Record", "Records", "SHEET_COLUMNS", "SHEET_ORDER", "SHEET_RECORDS", "plan_records"]
