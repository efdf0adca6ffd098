"""Plan workbook -> typed :class:`Plan` plus located findings (spec §2).

The parsing works on plain grids of cell values so that every source (a file read with
python-calamine, a live xlwings book) gets the same checks and the same ``Sheet!A1`` messages.
Findings are collected, never raised: one pass reports every problem.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omplan.core.findings import FileProblem, Finding, cell_ref, column_letter, has_errors
from omplan.core.model import (
    ACTIVITIES,
    BASELINE,
    BASES,
    CHANGES,
    DEFAULT_BILLING,
    IN_HOUSE,
    LEVELS,
    OFFSHORE,
    OUTSOURCE,
    PROFILE_FACTORS,
    QUARTERS,
    SOURCINGS,
    Allocation,
    Contract,
    CostLine,
    Plan,
    Rate,
    Role,
    ScenarioChange,
    Settings,
    StaffingLine,
)
from omplan.core.settings import SETTING_KEYS, SETTINGS_BY_KEY, SettingSpec, month_number
from omplan.input.actuals import read_plan_actuals
from omplan.input.tables import (
    EXCEL_ERRORS,
    Collector,
    Row,
    SheetGrid,
    Table,
    describe,
    error_value_fragment,
    find_table,
    is_blank,
    looks_numeric,
    near_duplicates,
    norm_enum,
    norm_header,
    parse_yes_no,
    rows,
    split_ref,
)

__all__ = [
    "EXCEL_ERRORS", "OPTIONAL_SHEETS", "REQUIRED_SHEETS", "SheetGrid", "error_value_fragment",
    "grids_from_file", "load_plan", "norm_enum", "norm_header", "parse_plan", "parse_yes_no",
    "read_profile",
]

REQUIRED_SHEETS = ("Settings", "Roles", "Rates", "Allocation", "Staffing")
OPTIONAL_SHEETS = ("Costs", "Billing", "Contracts", "Profile", "Scenarios", "Systems")
SHARE_TOLERANCE = 0.001
#: Upper bounds of the amounts a plan may hold: far above any real plan, low enough that no
#: total can overflow (500 lines x 1e5 FTE x 3 x 1e9 x a factor below 10 stays finite). A
#: value above its bound is a typo (1e308 for a rate) and gets a located error.
MAX_MONTHLY_COST = 1e9
MAX_FTE = 1e5
MAX_COST = 1e12
#: A scenario factor from this value up is read as a percent typed as a number (90 for 0.9):
#: an error with the hint, since a hurried 90 would multiply a budget by 90.
PERCENT_FACTOR = 10.0
#: A factor above this (and below PERCENT_FACTOR) is allowed but warned about.
LARGE_FACTOR = 3.0


# --------------------------------------------------------------------------- aliases

SOURCING_ALIASES = {
    "inhouse": IN_HOUSE,
    "internal": IN_HOUSE,
    "outsource": OUTSOURCE,
    "outsourced": OUTSOURCE,
    "offshore": OFFSHORE,
    "offshored": OFFSHORE,
}
LEVEL_ALIASES = {norm_enum(level): level for level in LEVELS}
ACTIVITY_ALIASES = {norm_enum(a): a for a in ACTIVITIES}
BASIS_ALIASES = {norm_enum(b): b for b in BASES}
CHANGE_ALIASES = {norm_enum(c): c for c in CHANGES}
FACTOR_ALIASES = {norm_header(f): f for f in PROFILE_FACTORS}

# --------------------------------------------------------------------------- the plan


def parse_plan(
    grids: Mapping[str, SheetGrid], source_name: str = "plan"
) -> tuple[Plan | None, list[Finding]]:
    """Check and type the plan found in ``grids`` (sheet name -> grid). Plan is None on errors."""
    out = Collector()
    by_name = {norm_header(name): grid for name, grid in grids.items()}
    sheets: dict[str, SheetGrid] = {}
    for name in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS):
        grid = by_name.get(norm_header(name))
        if grid is not None:
            sheets[name] = grid
        elif name in REQUIRED_SHEETS:
            out.error("missing-sheet", f"required sheet '{name}' is missing", name)

    stem = Path(source_name).stem or "plan"
    settings = _read_settings(sheets.get("Settings"), stem, out)
    roles = _read_roles(sheets.get("Roles"), out)
    known_roles = set(roles) if roles is not None else None
    names = _Names(_read_systems(sheets.get("Systems"), out))
    bad_rates: set[tuple[str, str]] = set()
    rates = _read_rates(sheets.get("Rates"), known_roles, out, bad_rates)
    allocation = _read_allocation(sheets.get("Allocation"), known_roles, out)
    staffing = _read_staffing(sheets.get("Staffing"), known_roles, allocation, rates, out,
                              bad_rates, names)
    costs = _read_costs(sheets.get("Costs"), out, names)
    billing = _read_billing(sheets.get("Billing"), out)
    contracts = _read_contracts(sheets.get("Contracts"), out, names)
    profile = read_profile(sheets.get("Profile"), out)
    changes = _read_scenarios(sheets.get("Scenarios"), known_roles, staffing, out, names)
    names.warn_near_duplicates(out)
    # spend against the budget: the Actuals sheet, read by input/actuals.py
    actuals = read_plan_actuals(by_name.get("actuals"), settings, [], staffing, costs, out)

    if has_errors(out.findings) or settings is None or roles is None or rates is None \
            or allocation is None or staffing is None:
        return None, out.findings
    plan = Plan(
        settings=settings, roles=roles, rates=rates, allocation=allocation, staffing=staffing,
        costs=costs, billing=billing, contracts=contracts, profile=profile,
        scenario_changes=changes, actuals=actuals, source_name=source_name,
    )
    return plan, out.findings


def _setting_key(text: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(text).strip()).casefold()


def _read_settings(grid: SheetGrid | None, stem: str, out: Collector) -> Settings | None:
    if grid is None:
        return None
    table = find_table(grid, ("Setting", "Value"), (), out)
    if table is None:
        return None
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    value_refs: dict[str, str] = {}
    before = len(out.findings)
    for row in rows(table, out):
        key_text = row.text("Setting", "Setting name")
        if not key_text:
            continue
        key = _setting_key(key_text)
        spec = SETTINGS_BY_KEY.get(key)
        if spec is None:
            out.warning("unknown-setting", f"unknown setting '{key_text}' is ignored "
                        f"(known: {', '.join(SETTING_KEYS)})", row.ref("Setting"))
            continue
        if key in seen:
            out.error("duplicate", f"setting '{key}' is given twice (first at {seen[key]})",
                      row.ref("Setting"))
            continue
        seen[key] = row.ref("Setting")
        value_refs[key] = row.ref("Value")
        value = _read_setting(row, spec, out)
        if value is not None:
            values[key] = value
    if "fiscal_year" not in values and "fiscal_year" not in seen:  # the one required setting
        out.error("missing-setting", "setting fiscal_year is required (e.g. 2027): add a row "
                  "'fiscal_year' with the year", grid.ref(table.header_r, table.cols["Setting"]))
    if len(out.findings) > before and has_errors(out.findings[before:]):
        return None
    settings = Settings(plan_name=values.pop("plan_name", None) or stem, **values)
    if settings.band_low >= settings.band_high:
        where = value_refs.get("band_low", value_refs.get("band_high", ""))
        low, high = (f"{getattr(settings, key):g}" + ("" if key in values else ", the default")
                     for key in ("band_low", "band_high"))
        out.error("bad-band", f"band_low ({low}) must be below band_high ({high}): the band "
                  "is the range of the operation share, e.g. 0.40 to 0.60", where)
        return None
    return settings


def _read_setting(row: Row, spec: SettingSpec, out: Collector) -> Any:
    """The typed value of one Settings row by its schema entry; None when blank or wrong."""
    label = f"setting {spec.key}"
    if spec.kind == "text":
        return row.text("Value", label, required=False) or None
    if spec.kind == "currency":
        code = row.text("Value", label, required=False)
        if not code:
            return None
        if not re.fullmatch(r"[A-Za-z]{3}", code):
            out.error("bad-currency", f"currency must be a three-letter ISO 4217 code "
                      f"such as USD or EUR, got '{code}'", row.ref("Value"))
            return None
        return code.upper()
    if spec.kind in ("integer", "month"):
        assert spec.minimum is not None and spec.maximum is not None
        lo, hi = int(spec.minimum), int(spec.maximum)
        raw = row.raw("Value")
        if spec.kind == "month" and isinstance(raw, str) and not is_blank(raw) \
                and not looks_numeric(raw):
            month = month_number(raw)
            if month is None and not row.special("Value", label):
                out.error("not-a-number", f"{label} must be a month, 1 to 12 or a name such as "
                          f"April or Apr, got {describe(raw)}", row.ref("Value"))
            return month
        number = row.number("Value", label, minimum=lo,
                            blank=None if spec.required else math.nan)
        if number is None or math.isnan(number):
            return None
        if not number.is_integer() or number > hi:
            out.error("out-of-range", f"{label} must be a whole number from {lo} to {hi}, "
                      f"got {number:g}", row.ref("Value"))
            return None
        return int(number)
    number = row.number("Value", label, blank=math.nan, fraction=spec.kind == "fraction")
    if number is None or math.isnan(number):
        return None
    if spec.maximum is not None and number > spec.maximum:
        out.error("out-of-range", f"{label} must be a number from {spec.minimum:g} to "
                  f"{spec.maximum:g}, got {number:g}", row.ref("Value"))
        return None
    return number


@dataclass
class _Names:
    """System and vendor names as typed, with the cell of each name's first use.

    ``known`` holds the Systems sheet (name -> cell) when it lists any system: then every
    system used elsewhere must be on it. Without it, names that look alike are warned about.
    """

    known: dict[str, str] | None
    systems: dict[str, str] = field(default_factory=dict)
    vendors: dict[str, str] = field(default_factory=dict)
    contract_vendors: set[str] = field(default_factory=set)

    def system(self, row: Row, name: str, out: Collector, column: str = "System") -> bool:
        """Record a system used at ``row``; False (and a located error) if the Systems sheet
        does not list it."""
        if self.known is not None and name not in self.known:
            close = difflib.get_close_matches(name, list(self.known), n=1, cutoff=0.75)
            hint = f": did you mean '{close[0]}'?" if close else \
                ": add it there, or correct the name"
            out.error("unknown-system", f"system '{name}' is not listed on the Systems "
                      f"sheet{hint}", row.ref(column))
            return False
        self.systems.setdefault(name, row.ref(column))
        return True

    def vendor(self, name: str, location: str, contract: bool = False) -> None:
        if name:
            self.vendors.setdefault(name, location)
            if contract:
                self.contract_vendors.add(name)

    def warn_near_duplicates(self, out: Collector) -> None:
        if self.known is None:
            for a, b in near_duplicates(list(self.systems)):
                out.warning("similar-name", f"systems '{b}' and '{a}' (at "
                            f"{self.systems[a]}) look like one system spelt two ways: each "
                            "spelling is a separate system with its own costs; use one spelling "
                            "(a Systems sheet listing your systems catches this as you type)",
                            self.systems[b])
        for a, b in near_duplicates(list(self.vendors)):
            if a.casefold() == b.casefold() and (a in self.contract_vendors
                                                 or b in self.contract_vendors):
                continue  # Contracts rows match vendors ignoring case
            out.warning("similar-name", f"vendors '{b}' and '{a}' (at {self.vendors[a]}) look "
                        "like one vendor spelt two ways: each spelling is a separate vendor "
                        "(contracts, SLAs and split-contract checks go by the name); use one "
                        "spelling", self.vendors[b])


def _read_systems(grid: SheetGrid | None, out: Collector) -> dict[str, str] | None:
    """The optional Systems sheet: name -> cell; None when the sheet is missing or lists none."""
    if grid is None:
        return None
    table = find_table(grid, ("System",), ("Description", "Owner"), out)
    if table is None:
        return None
    systems: dict[str, str] = {}
    for row in rows(table, out):
        name = row.text("System", "System")
        if name is None:
            continue
        if name == "*":
            out.error("unknown-value", "'*' means every system on the Scenarios sheet and "
                      "cannot be a system's name", row.ref("System"))
            continue
        if name in systems:
            out.error("duplicate", f"system '{name}' is listed twice (first at "
                      f"{systems[name]})", row.ref("System"))
            continue
        systems[name] = row.ref("System")
    return systems or None


def _read_roles(grid: SheetGrid | None, out: Collector) -> dict[str, Role] | None:
    if grid is None:
        return None
    table = find_table(grid, ("Role", "Level"), (), out)
    if table is None:
        return None
    roles: dict[str, Role] = {}
    for row in rows(table, out):
        role = row.text("Role", "Role")
        level = row.choice("Level", "Level", LEVEL_ALIASES, LEVELS)
        if role is None:
            continue
        if role in roles:
            out.error("duplicate", f"role '{role}' is listed twice (first at "
                      f"{roles[role].location})", row.ref("Role"))
            continue
        roles[role] = Role(role, level or "", row.ref("Role"))
    return roles


def _check_role(row: Row, role: str | None, known: set[str] | None, out: Collector) -> bool:
    if role is None:
        return False
    if known is not None and role not in known:
        out.error("unknown-role", f"role '{role}' is not listed on the Roles sheet",
                  row.ref("Role"))
        return False
    return True


def _read_rates(grid: SheetGrid | None, known: set[str] | None, out: Collector,
                bad: set[tuple[str, str]]) -> dict[tuple[str, str], Rate] | None:
    """The Rates rows; ``bad`` gets the (role, sourcing) of rows whose cost is reported wrong."""
    if grid is None:
        return None
    table = find_table(grid, ("Role", "Sourcing", "Monthly cost"), (), out)
    if table is None:
        return None
    rates: dict[tuple[str, str], Rate] = {}
    for row in rows(table, out):
        role = row.text("Role", "Role")
        sourcing = row.choice("Sourcing", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        cost = row.number("Monthly cost", "Monthly cost", strict=True, blank=None,
                          maximum=MAX_MONTHLY_COST)
        if not _check_role(row, role, known, out) or sourcing is None:
            continue
        assert role is not None
        if cost is None:
            bad.add((role, sourcing))
            continue
        key = (role, sourcing)
        if key in rates:
            out.error("duplicate", f"rate for ({role}, {sourcing}) is given twice (first at "
                      f"{rates[key].location})", row.ref("Role"))
            continue
        rates[key] = Rate(role, sourcing, cost, row.ref("Monthly cost"))
    return rates


def _read_allocation(grid: SheetGrid | None, known: set[str] | None,
                     out: Collector) -> dict[str, Allocation] | None:
    if grid is None:
        return None
    table = find_table(grid, ("Role",), ACTIVITIES, out)
    if table is None:
        return None
    allocation: dict[str, Allocation] = {}
    present = [a for a in ACTIVITIES if a in table.cols]
    _warn_misspelt_activities(table, present, out)
    for row in rows(table, out):
        role = row.text("Role", "Role")
        shares: dict[str, float] = {}
        blank = True
        bad = False
        percent_at = ""  # the first share above 1: a percent typed as a number
        for activity in present:
            if not is_blank(row.raw(activity)) or (row.r, table.cols[activity]) in grid.special:
                blank = False
            share = row.number(activity, f"{activity} share")
            if share is None:
                bad = True
            elif share:
                shares[activity] = share
                if share > 1 and not percent_at:
                    percent_at = row.ref(activity)
        if not _check_role(row, role, known, out):
            continue
        assert role is not None
        if role in allocation:
            out.error("duplicate", f"role '{role}' has two allocation rows (first at "
                      f"{allocation[role].location})", row.ref("Role"))
            continue
        if not bad and not blank:
            total = sum(shares.values())
            if abs(total - 1) > SHARE_TOLERANCE:
                if abs(total - 100) <= 100 * SHARE_TOLERANCE or percent_at:
                    message = (f"activity shares of '{role}' add up to {total:g}: they look like "
                               "percent numbers; enter fractions (0.25) or format the cells as "
                               "percentages (25 %)")
                    out.error("percent-number", message, percent_at or row.ref("Role"))
                else:
                    out.error("shares-not-one", f"activity shares of '{role}' add up to "
                              f"{total:.4g}, not 1 (100 %); leave every cell blank to split "
                              "pro rata", row.ref("Role"))
                bad = True
        allocation[role] = Allocation(role, None if blank else shares, row.ref("Role"))
    return allocation


def _warn_misspelt_activities(table: Table, present: list[str], out: Collector) -> None:
    """An unknown Allocation column that looks like a missing activity is probably a typo."""
    if table.header_r >= len(table.grid.rows):
        return
    missing = {norm_header(a): a for a in ACTIVITIES if a not in present}
    used = set(table.cols.values())
    for c, value in enumerate(table.grid.rows[table.header_r]):
        if c in used or is_blank(value):
            continue
        close = difflib.get_close_matches(norm_header(value), list(missing), n=1, cutoff=0.75)
        if close:
            out.warning("unknown-column", f"column '{str(value).strip()}' is not an activity and "
                        f"is ignored: did you mean '{missing[close[0]]}'?",
                        table.grid.ref(table.header_r, c))


def _read_quarters(row: Row, what: str,
                   maximum: float) -> tuple[float, float, float, float] | None:
    values = [row.number(q, f"{what} {q}", maximum=maximum) for q in QUARTERS]
    if any(v is None for v in values):
        return None
    return tuple(values)  # type: ignore[return-value]


def _read_staffing(grid: SheetGrid | None, known: set[str] | None,
                   allocation: dict[str, Allocation] | None,
                   rates: dict[tuple[str, str], Rate] | None,
                   out: Collector,
                   bad_rates: set[tuple[str, str]], names: _Names) -> list[StaffingLine] | None:
    if grid is None:
        return None
    table = find_table(grid, ("System", "Role", "Sourcing", *QUARTERS), ("Vendor",), out)
    if table is None:
        return None
    lines: list[StaffingLine] = []
    first: dict[tuple[str, str, str, str], str] = {}  # line key -> its first location
    for row in rows(table, out):
        system = row.text("System", "System")
        if system and not names.system(row, system, out):
            system = None
        role = row.text("Role", "Role")
        sourcing = row.choice("Sourcing", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        vendor = row.text("Vendor", "Vendor", required=False) if "Vendor" in table.cols else ""
        fte = _read_quarters(row, "FTE", MAX_FTE)
        role_ok = _check_role(row, role, known, out)
        if role_ok and allocation is not None and role not in allocation:
            out.error("no-allocation", f"role '{role}' has no row on the Allocation sheet",
                      row.ref("Role"))
        if (role_ok and sourcing and fte is not None and rates is not None
                and any(fte) and (role, sourcing) not in rates
                and (role, sourcing) not in bad_rates):  # that row is reported already
            out.error("missing-rate", f"no {sourcing} rate for role '{role}': add a row "
                      f"({role}, {sourcing}, monthly cost) to the Rates sheet",
                      row.ref("Sourcing"))
        if vendor:
            names.vendor(vendor, row.ref("Vendor"))
        if system is None or not role_ok or sourcing is None or fte is None:
            continue
        assert role is not None
        location = grid.ref(row.r, table.cols["System"])
        key = (system, role, sourcing, vendor or "")
        if key in first:
            what = ", ".join(k for k in key if k)
            out.warning("duplicate-line", f"Staffing line ({what}) is also at {first[key]}: "
                        "both rows are counted, so its cost counts twice; delete the copy, or "
                        "put the FTE of both in one row", location)
        first.setdefault(key, location)
        lines.append(StaffingLine(system, role, sourcing, vendor or "", fte, row.r, location))
    if not lines and not has_errors(out.findings):
        out.error("no-staffing", "the plan has no staffing yet: add one row per system, role "
                  "and sourcing with the FTE of each quarter", grid.name)
    return lines


def _read_costs(grid: SheetGrid | None, out: Collector, names: _Names) -> list[CostLine]:
    if grid is None:
        return []
    table = find_table(grid, ("System", "Item", "Activity", *QUARTERS), (), out)
    if table is None:
        return []
    costs = []
    for row in rows(table, out):
        system = row.text("System", "System")
        if system and not names.system(row, system, out):
            system = None
        item = row.text("Item", "Item", required=False)
        activity = row.choice("Activity", "Activity", ACTIVITY_ALIASES, ACTIVITIES)
        amounts = _read_quarters(row, "Cost", MAX_COST)
        if system is not None and activity is not None and amounts is not None:
            costs.append(CostLine(system, item or "", activity, amounts,
                                  grid.ref(row.r, table.cols["System"])))
    return costs


def _read_billing(grid: SheetGrid | None, out: Collector) -> dict[str, str]:
    billing = dict(DEFAULT_BILLING)
    if grid is None:
        return billing
    table = find_table(grid, ("Activity", "Basis"), (), out)
    if table is None:
        return billing
    seen: dict[str, str] = {}
    for row in rows(table, out):
        activity = row.choice("Activity", "Activity", ACTIVITY_ALIASES, ACTIVITIES)
        basis = row.choice("Basis", "Basis", BASIS_ALIASES, BASES, required=False)
        if activity is None or basis is None:
            continue
        if activity in seen:
            out.error("duplicate", f"billing basis for {activity} is given twice (first at "
                      f"{seen[activity]})", row.ref("Activity"))
            continue
        seen[activity] = row.ref("Activity")
        if basis:
            billing[activity] = basis
    return billing


def _read_contracts(grid: SheetGrid | None, out: Collector,
                    names: _Names) -> dict[str, Contract]:
    if grid is None:
        return {}
    emergency, permanent = "Emergency response SLA hours", "Permanent fix SLA days"
    table = find_table(grid, ("Vendor",), (emergency, permanent), out)
    if table is None:
        return {}
    contracts: dict[str, Contract] = {}
    for row in rows(table, out):
        vendor = row.text("Vendor", "Vendor")
        hours = row.number(emergency, "Emergency response SLA (hours)", strict=True, blank=math.nan)
        days = row.number(permanent, "Permanent fix SLA (business days)", strict=True,
                          blank=math.nan)
        if vendor is None:
            continue
        names.vendor(vendor, row.ref("Vendor"), contract=True)
        key = vendor.casefold()
        if key in contracts:
            out.error("duplicate", f"vendor '{vendor}' has two contract rows (first at "
                      f"{contracts[key].location})", row.ref("Vendor"))
            continue
        contracts[key] = Contract(
            vendor,
            None if hours is None or math.isnan(hours) else hours,
            None if days is None or math.isnan(days) else days,
            row.ref("Vendor"),
        )
    return contracts


def read_profile(grid: SheetGrid | None, out: Collector) -> dict[str, bool]:
    if grid is None:
        return {}
    table = find_table(grid, ("Factor",), ("Applies",), out)
    if table is None:
        return {}
    profile: dict[str, bool] = {}
    seen: dict[str, str] = {}
    for row in rows(table, out):
        text = row.text("Factor", "Factor")
        if text is None:
            continue
        factor = FACTOR_ALIASES.get(norm_header(text))
        if factor is None:
            out.error("unknown-value", f"unknown profile factor '{text}' (known: "
                      f"{', '.join(PROFILE_FACTORS)})", row.ref("Factor"))
            continue
        if factor in seen:
            out.error("duplicate", f"profile factor '{factor}' is listed twice (first at "
                      f"{seen[factor]})", row.ref("Factor"))
            continue
        seen[factor] = row.ref("Factor")
        if row.special("Applies", f"Applies of '{factor}'"):
            continue
        applies = parse_yes_no(row.raw("Applies"))
        if applies is None:
            out.error("unknown-value", f"Applies must be yes or no, got "
                      f"{describe(row.raw('Applies'))}", row.ref("Applies"))
            continue
        profile[factor] = applies
    return profile


def _read_scenarios(grid: SheetGrid | None, known: set[str] | None,
                    staffing: list[StaffingLine] | None,
                    out: Collector, names: _Names) -> list[ScenarioChange]:
    if grid is None:
        return []
    table = find_table(grid, ("Scenario", "Role", "System", "Change", "Value"), (), out)
    if table is None:
        return []
    systems = {line.system for line in staffing or []}
    changes: list[ScenarioChange] = []
    for row in rows(table, out):
        name = row.text("Scenario", "Scenario name")
        if name is not None and name.casefold() == BASELINE.casefold():
            out.error("baseline-redefined", "'Baseline' is the plan as entered and cannot be "
                      "redefined: give this scenario another name", row.ref("Scenario"))
            name = None
        role = row.text("Role", "Role (a role or *)")
        if role not in (None, "*") and not _check_role(row, role, known, out):
            role = None
        system = row.text("System", "System (a system or *)")
        if system and system != "*" and names.known is not None \
                and not names.system(row, system, out):
            system = None
        change = row.choice("Change", "Change", CHANGE_ALIASES, CHANGES)
        value: str | float | None = None
        if change == "sourcing":
            value = row.choice("Value", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        elif change == "vendor":
            value = row.text("Value", "Vendor", required=False)
            if value:
                names.vendor(value, row.ref("Value"))
        elif change in ("fte_factor", "rate_factor"):
            value = row.number("Value", change, strict=change == "rate_factor", blank=None)
            if value is not None:
                value = _check_factor(row, name, change, value, out)
        if name is None or role is None or system is None or change is None or value is None:
            continue
        if system != "*" and staffing is not None and system not in systems:
            close = difflib.get_close_matches(system, sorted(systems), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.warning("no-match", f"scenario '{name}': system '{system}' has no staffing "
                        f"lines{hint}, so this scenario row changes nothing", row.ref("System"))
        changes.append(ScenarioChange(name, role, system, change, value, row.ref("Scenario")))
    return changes


def _check_factor(row: Row, scenario: str | None, change: str, value: float,
                  out: Collector) -> float | None:
    """A scenario factor: from PERCENT_FACTOR up it is a percent typed as a number (an error
    with the hint), above LARGE_FACTOR a warning; the value, or None when it is an error."""
    what = "FTE" if change == "fte_factor" else "rate"
    if value >= PERCENT_FACTOR:
        out.error("percent-number", f"{change} is a factor (0.9 = 90 % of the {what}, 1.05 = "
                  f"105 %), got {value:g}: it looks like a percent number; enter "
                  f"{value / 100:g} (or format the cell as a percentage and type {value:g} %)",
                  row.ref("Value"))
        return None
    if value > LARGE_FACTOR:
        label = f"scenario '{scenario}': " if scenario else ""
        out.warning("large-factor", f"{label}{change} {value:g} multiplies the {what} of the "
                    f"matching lines by {value:g}: check it is meant (1.1 = +10 %)",
                    row.ref("Value"))
    return value


# --------------------------------------------------------------------------- files


#: Bounds of a sheet read from a file: columns kept (far more than any plan table needs) and
#: the extent up to which python-calamine reads a sheet as one dense grid.
MAX_READ_COLUMNS = 100
DENSE_READ_CELLS = 2_000_000
MAX_READ_ROWS = 1_048_576  # Excel's grid


def grids_from_file(path: str | os.PathLike[str]) -> dict[str, SheetGrid]:
    """Read the input sheets' values with python-calamine after the package safety scan.

    Raises :class:`FileProblem` for file-level problems (not a workbook, encrypted, bomb, ...).
    """
    return read_grids(path)[0]


def read_grids(path: str | os.PathLike[str], sheets: Collection[str] | None = None
               ) -> tuple[dict[str, SheetGrid], list[Finding]]:
    """The input sheets' values (or those of ``sheets``) and warnings about cells left out.

    Only the sheets omplan reads are touched. A sheet whose cells stay within
    ``DENSE_READ_CELLS`` is read by python-calamine as one grid; a larger one (a stray value
    far out, say at XFD1048576) is streamed cell by cell, keeping the first
    ``MAX_READ_COLUMNS`` columns, so memory and time follow the cells, not the extent.
    """
    from python_calamine import CalamineWorkbook

    from omplan.input.package import read_sheet_sparse, scan_workbook

    scan = scan_workbook(path) if sheets is None else scan_workbook(path, sheets)
    file_name = Path(path).name
    special: dict[str, dict[tuple[int, int], tuple[str, str] | str]] = {}
    for cell in scan.special_cells:
        try:
            r, c = split_ref(cell.ref)
        except ValueError:
            raise FileProblem(f"'{file_name}' is damaged (sheet '{cell.sheet}' has a cell with "
                              f"the malformed reference '{cell.ref}'); open it in Excel and "
                              "save a fresh .xlsx.", "damaged") from None
        if cell.kind == "error":
            problem = ("error-value", error_value_fragment(cell.value))
        else:
            problem = ("no-cached-value", (
                f"has a formula (={cell.value}) but no saved value: the file was probably "
                "written by a program that does not calculate formulas (such as openpyxl); "
                "open it in Excel or LibreOffice and save it, or run: soffice --headless "
                f"--convert-to xlsx --outdir calculated '{file_name}', so the values are stored"))
        special.setdefault(norm_header(cell.sheet), {})[(r - 1, c - 1)] = problem
    findings: list[Finding] = []
    try:
        workbook = CalamineWorkbook.from_path(os.fspath(path))
        grids = {}
        for name in workbook.sheet_names:
            if name not in scan.sheet_parts:
                continue  # not a sheet omplan reads: never parsed
            last_row, last_col = scan.extents.get(name, (0, 0))
            if last_col <= MAX_READ_COLUMNS and last_row * last_col <= DENSE_READ_CELLS:
                rows: list[list[Any]] = workbook.get_sheet_by_name(name).to_python(
                    skip_empty_area=False)
            else:
                sparse = read_sheet_sparse(path, scan, name, MAX_READ_COLUMNS, MAX_READ_ROWS)
                rows = sparse.rows
                if sparse.ignored:
                    where = cell_ref(name, *split_ref(sparse.first_ignored))
                    beyond = (f"beyond column {column_letter(MAX_READ_COLUMNS)}, outside any "
                              "table omplan reads")
                    findings.append(Finding("warning", "cells-ignored", (
                        f"the value at {where} lies {beyond}, and is ignored; delete it if it "
                        "is stray") if sparse.ignored == 1 else (
                        f"{sparse.ignored:,} values, the first at {where}, lie {beyond}, and "
                        "are ignored; delete them if they are stray"), where))
            grids[name] = SheetGrid(name, rows, special=special.get(norm_header(name), {}))
    except FileProblem:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged parts
        raise FileProblem(f"'{file_name}' could not be read as a workbook ({exc}); open it "
                          "in Excel and save it again as .xlsx.", "damaged") from None
    return grids, findings


def load_plan(path: str | os.PathLike[str],
              read: Callable[[str | os.PathLike[str]], Mapping[str, SheetGrid]] = grids_from_file,
              ) -> tuple[Plan | None, list[Finding]]:
    """Read a plan workbook: the plan (None on errors) and every finding, never raising."""
    extra: list[Finding] = []
    try:
        grids: Mapping[str, SheetGrid]
        if read is grids_from_file:
            grids, extra = read_grids(path)
        else:
            grids = read(path)
    except FileProblem as problem:
        return None, [problem.as_finding()]
    plan, findings = parse_plan(grids, Path(path).name)
    return plan, extra + findings
