"""The Risks sheet -> three-point drivers (:class:`~omplan.core.model.RiskDriver`) plus located
findings.

:func:`read_risks` takes the sheet's grid and the names a driver may apply to
(:class:`RiskTargets`, built from a parsed plan with :meth:`RiskTargets.of_plan` or from the
parts the reader has); it never raises and reports every bad cell at once. ``Driver`` and
``Distribution`` match like enumerated values; ``Applies to`` is matched ignoring case against
the plan's own names (a near miss gets a "did you mean") and echoed as the plan spells it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omplan.core.findings import Finding
from omplan.core.model import (
    ALL_TARGETS,
    DISTRIBUTIONS,
    ESCALATION_DRIVER,
    FTE_DRIVER,
    FX_DRIVER,
    IN_HOUSE,
    OFFSHORE,
    OTHER_COSTS,
    OTHER_COSTS_DRIVER,
    OUTSOURCE,
    PERT,
    RATE_DRIVER,
    RISK_DRIVERS,
    SOURCINGS,
    TRANSITION_DRIVER,
    TRIANGULAR,
    UNIFORM,
    VENDOR_OVERHEAD_DRIVER,
    Contract,
    CostLine,
    FxRate,
    Plan,
    RiskDriver,
    ScenarioChange,
    StaffingLine,
    resolve_vendor,
)
from omplan.input.tables import (
    Collector,
    Row,
    SheetGrid,
    damerau_levenshtein,
    find_table,
    norm_enum,
    rows,
)

__all__ = ["COLUMNS", "DRIVER_ALIASES", "DISTRIBUTION_ALIASES", "OPTIONAL_COLUMNS",
           "RiskTargets", "applies_to_choices", "read_risks"]

SHEET = "Risks"
COLUMNS = ("Driver", "Applies to", "Low", "Likely", "High")
OPTIONAL_COLUMNS = ("Distribution",)

DRIVER_ALIASES = {
    **{norm_enum(d): d for d in RISK_DRIVERS},
    "rates": RATE_DRIVER, "othercost": OTHER_COSTS_DRIVER, "other": OTHER_COSTS_DRIVER,
    "exchangerate": FX_DRIVER, "vendormanagement": VENDOR_OVERHEAD_DRIVER,
}
DISTRIBUTION_ALIASES = {
    **{norm_enum(d): d for d in DISTRIBUTIONS},
    "betapert": PERT, "triangle": TRIANGULAR, "tri": TRIANGULAR, "flat": UNIFORM,
}
_SOURCING_ALIASES = {
    "inhouse": IN_HOUSE, "internal": IN_HOUSE, "outsource": OUTSOURCE,
    "outsourced": OUTSOURCE, "offshore": OFFSHORE, "offshored": OFFSHORE,
}
#: A factor from this value up is a percent typed as a number (130 for 1.3), as on the
#: Scenarios sheet: an error with the hint.
PERCENT_FACTOR = 10.0
#: Drivers whose values are factors, and whether 0 is allowed.
_FACTOR_DRIVERS = {RATE_DRIVER: False, FTE_DRIVER: False, FX_DRIVER: False,
                   OTHER_COSTS_DRIVER: True, TRANSITION_DRIVER: True}
#: What ``Applies to`` may name, per driver, in words (messages and the docs).
TARGET_WORDS = {
    RATE_DRIVER: "a sourcing (In-house, Outsource, Offshore), a vendor name or *",
    FTE_DRIVER: "a system or *",
    FX_DRIVER: "a currency of the FX sheet",
    OTHER_COSTS_DRIVER: "a system or *",
    TRANSITION_DRIVER: "*",
    ESCALATION_DRIVER: "a sourcing (In-house, Outsource, Offshore) or Other costs",
    VENDOR_OVERHEAD_DRIVER: "*",
}


@dataclass(frozen=True, slots=True)
class RiskTargets:
    """The names a Risks row may apply to, each as the plan spells it (first spelling).

    None for a kind means it is not known (its sheet had errors): such names are accepted
    as typed, so that only real problems are reported.
    """

    systems: tuple[str, ...] | None = ()
    vendors: tuple[str, ...] | None = ()
    currencies: tuple[str, ...] | None = ()
    #: systems that have Costs rows (an Other costs row for another system changes nothing)
    cost_systems: tuple[str, ...] | None = ()

    @classmethod
    def from_parts(cls, staffing: Sequence[StaffingLine] | None,
                   costs: Sequence[CostLine] | None,
                   contracts: Iterable[Contract] | None,
                   changes: Sequence[ScenarioChange] | None,
                   fx: Sequence[FxRate] | None) -> RiskTargets:
        """The targets from the reader's parts (None: that sheet had errors)."""
        systems = None
        if staffing is not None and costs is not None:
            systems = _first_spellings([x.system for x in staffing] + [c.system for c in costs])
        vendors = None
        if staffing is not None and contracts is not None and changes is not None:
            vendors = _first_spellings(
                [resolve_vendor(x.sourcing, x.vendor) for x in staffing]
                + [str(c.value) for c in changes if c.change == "vendor" and c.value]
                + [f"{s} vendor" for s in (OUTSOURCE, OFFSHORE)]
                + [c.vendor for c in contracts])
        currencies = None if fx is None else _first_spellings([r.currency for r in fx])
        cost_systems = None if costs is None else _first_spellings([c.system for c in costs])
        return cls(systems, vendors, currencies, cost_systems)

    @classmethod
    def of_plan(cls, plan: Plan) -> RiskTargets:
        """The targets of a parsed plan."""
        return cls.from_parts(plan.staffing, plan.costs, plan.contracts.values(),
                              plan.scenario_changes, plan.fx)


def _first_spellings(names: Iterable[str]) -> tuple[str, ...]:
    """Distinct non-blank names ignoring case, each as first spelt."""
    seen: dict[str, str] = {}
    for name in names:
        if name:
            seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


def applies_to_choices(targets: RiskTargets) -> tuple[str, ...]:
    """Every value ``Applies to`` may take in this plan (for a drop-down): ``*``, the
    sourcings, Other costs, then the plan's systems, vendors and FX currencies."""
    names = [ALL_TARGETS, *SOURCINGS, OTHER_COSTS]
    for group in (targets.systems, targets.vendors, targets.currencies):
        names += list(group or ())
    return tuple(dict.fromkeys(names))


def read_risks(grid: SheetGrid | None, targets: RiskTargets
               ) -> tuple[list[RiskDriver], list[Finding]]:
    """The Risks sheet's drivers in sheet order and its findings (every problem, located).

    No sheet (``grid`` None) gives no drivers and no findings. A row with an error is left out;
    the caller treats any error finding as an input error of the plan.
    """
    out = Collector()
    if grid is None:
        return [], []
    table = find_table(grid, COLUMNS, OPTIONAL_COLUMNS, out)
    if table is None:
        return [], out.findings
    first_col = min(table.cols.values())
    drivers: list[RiskDriver] = []
    seen: dict[tuple[str, str], str] = {}
    for row in rows(table, out):
        location = grid.ref(row.r, first_col)
        driver = row.choice("Driver", "Driver", DRIVER_ALIASES, RISK_DRIVERS)
        distribution = (row.choice("Distribution", "Distribution", DISTRIBUTION_ALIASES,
                                   DISTRIBUTIONS, required=False)
                        if "Distribution" in table.cols else "")
        target = _read_target(row, driver, targets) if driver is not None else None
        values = _read_values(row, driver) if driver is not None else None
        if driver is None or distribution is None or target is None or values is None:
            continue
        key = (driver, target.casefold())
        if key in seen:
            out.error("duplicate", f"{driver} for {target} is given twice (first at "
                      f"{seen[key]}): keep one row", location)
            continue
        seen[key] = location
        drivers.append(RiskDriver(driver, target, *values, distribution or PERT, location))
    return drivers, out.findings


def _read_target(row: Row, driver: str, targets: RiskTargets) -> str | None:
    """``Applies to`` of a row checked against its driver: the target as the plan spells it,
    or None (and a located error)."""
    blank_is_all = driver in (TRANSITION_DRIVER, VENDOR_OVERHEAD_DRIVER)
    text = row.text("Applies to", "Applies to", required=not blank_is_all)
    if text is None:
        return None
    text = text or ALL_TARGETS
    where = row.ref("Applies to")
    wanted = TARGET_WORDS[driver]
    sourcing = _SOURCING_ALIASES.get(norm_enum(text))
    if text == ALL_TARGETS:
        if driver in (FX_DRIVER, ESCALATION_DRIVER):
            row.out.error("bad-target", f"Applies to of {driver} must be {wanted}, not *: one "
                          "row per target", where)
            return None
        return ALL_TARGETS
    if driver in (TRANSITION_DRIVER, VENDOR_OVERHEAD_DRIVER):
        row.out.error("bad-target", f"Applies to of {driver} must be * (it is one plan-wide "
                      f"setting), got '{text}'", where)
        return None
    if driver == ESCALATION_DRIVER:
        if sourcing is not None:
            return sourcing
        if norm_enum(text) in ("othercosts", "othercost", "other"):
            return OTHER_COSTS
        _unknown(row, driver, text, [*SOURCINGS, OTHER_COSTS], wanted)
        return None
    if driver == RATE_DRIVER:
        if sourcing is not None:
            return sourcing
        return _match(row, driver, text, targets.vendors, "vendor", wanted)
    if driver == FX_DRIVER:
        return _match(row, driver, text, targets.currencies, "currency", wanted,
                      missing="is not on the FX sheet")
    found = _match(row, driver, text, targets.systems, "system", wanted)  # FTE, Other costs
    if found is not None and driver == OTHER_COSTS_DRIVER and targets.cost_systems is not None \
            and found.casefold() not in {s.casefold() for s in targets.cost_systems}:
        row.out.warning("no-match", f"Other costs for {found}: the system has no Costs rows, "
                        "so this row changes nothing", where)
    return found


def _match(row: Row, driver: str, text: str, names: tuple[str, ...] | None, kind: str,
           wanted: str, missing: str = "is not in the plan") -> str | None:
    """``text`` as the plan spells it among ``names`` (ignoring case); None and an error with
    a "did you mean" when it is none of them. Unknown names (None) accept any text."""
    if names is None:
        return text
    for name in names:
        if name.casefold() == text.casefold():
            return name
    _unknown(row, driver, text, list(names), wanted, f"{kind} '{text}' {missing}")
    return None


def _unknown(row: Row, driver: str, text: str, names: list[str], wanted: str,
             what: str | None = None) -> None:
    """Record an unknown target, with the closest name as a hint."""
    close = _closest(text, names)
    hint = f": did you mean '{close}'?" if close else ""
    head = what or f"'{text}' is not one"
    row.out.error("unknown-target", f"Applies to of {driver}: {head}{hint} ({driver} applies "
                  f"to {wanted})", row.ref("Applies to"))


def _closest(text: str, names: list[str]) -> str | None:
    """The name ``text`` most likely misspells: fewest edits (a swap of two neighbours is
    one; 1 edit allowed for names under six letters, 2 above), else difflib's closest."""
    folded = {n.casefold(): n for n in names}
    wanted = text.casefold()
    limit = 1 if len(wanted) < 6 else 2
    scored = sorted((damerau_levenshtein(wanted, n, limit), i, n)
                    for i, n in enumerate(folded))
    if scored and scored[0][0] <= limit:
        return folded[scored[0][2]]
    close = difflib.get_close_matches(wanted, list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def _read_values(row: Row, driver: str) -> tuple[float, float, float] | None:
    """Low, Likely and High within the driver's bounds and in order; None on an error."""
    values: list[float | None] = []
    for column in ("Low", "Likely", "High"):
        what = f"{column} of {driver}"
        if driver in _FACTOR_DRIVERS:
            zero_ok = _FACTOR_DRIVERS[driver]
            value = row.number(column, f"{what} (a factor, 1 = as planned)",
                               strict=not zero_ok, blank=None)
            if value is not None and value >= PERCENT_FACTOR:
                row.out.error("percent-number", f"{what} is a factor (0.9 = 90 % of the plan's "
                              f"value, 1.3 = 130 %), got {value:g}: it looks like a percent "
                              f"number; enter {value / 100:g} (or format the cell as a "
                              f"percentage and type {value:g} %)", row.ref(column))
                value = None
        elif driver == ESCALATION_DRIVER:
            value = row.number(column, f"{what} (an annual rate)", minimum=-1, strict=True,
                               blank=None)
            if value is not None and value > 1:
                row.out.error("percent-number", f"{what} is an annual rate (0.03 = 3 % a year), "
                              f"got {value:g}: it looks like a percent number; enter "
                              f"{value / 100:g} or format the cell as a percentage and type "
                              f"{value:g} %", row.ref(column))
                value = None
        else:  # Vendor overhead: a fraction
            value = row.number(column, f"{what} (a fraction)", blank=None, fraction=True)
        values.append(value)
    low, likely, high = values
    if low is None or likely is None or high is None:
        return None
    if likely < low:
        row.out.error("bad-order", f"Likely of {driver} ({likely:g}) is below Low ({low:g}): "
                      "Low ≤ Likely ≤ High", row.ref("Likely"))
        return None
    if high < likely:
        row.out.error("bad-order", f"High of {driver} ({high:g}) is below Likely ({likely:g}): "
                      "Low ≤ Likely ≤ High", row.ref("High"))
        return None
    return low, likely, high
