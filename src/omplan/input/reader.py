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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omplan.core.findings import FileProblem, Finding, cell_ref, column_letter, has_errors
from omplan.core.model import (
    ACTIVITIES,
    BASELINE,
    BASES,
    CHANGES,
    DEFAULT_BILLING,
    ESCALATION_TARGETS,
    IN_HOUSE,
    LEVELS,
    OFFSHORE,
    OTHER_COSTS,
    OUTSOURCE,
    PROFILE_FACTORS,
    QUARTERS,
    SOURCINGS,
    Allocation,
    Contract,
    CostLine,
    Escalation,
    FxRate,
    Plan,
    Rate,
    Role,
    ScenarioChange,
    Settings,
    StaffingLine,
    resolve_vendor,
)
from omplan.core.periods import Horizon
from omplan.core.settings import SETTING_KEYS, SETTINGS_BY_KEY, SettingSpec, month_number
from omplan.input.actuals import read_plan_actuals
from omplan.input.tables import (
    EXCEL_ERRORS,
    Collector,
    Row,
    SheetGrid,
    Table,
    as_float,
    currency_code,
    describe,
    error_value_fragment,
    find_table,
    is_blank,
    looks_numeric,
    near_duplicates,
    norm_enum,
    norm_header,
    parse_period,
    parse_yes_no,
    period_header,
    rows,
    split_ref,
)

__all__ = [
    "EXCEL_ERRORS", "OPTIONAL_SHEETS", "REQUIRED_SHEETS", "SheetGrid", "error_value_fragment",
    "grids_from_file", "load_plan", "norm_enum", "norm_header", "parse_plan", "parse_yes_no",
    "read_profile",
]

REQUIRED_SHEETS = ("Settings", "Roles", "Rates", "Allocation", "Staffing")
#: Actuals is read by omplan.input.actuals; the others here.
OPTIONAL_SHEETS = ("Costs", "Billing", "Contracts", "Profile", "Scenarios", "Systems",
                   "Escalation", "FX", "Actuals")
SHARE_TOLERANCE = 0.001
#: Upper bounds of the amounts a plan may hold: far above any real plan, low enough that no
#: total can overflow (500 lines x 1e5 FTE x 3 x 1e9 x a factor below 10 stays finite). A
#: value above its bound is a typo (1e308 for a rate) and gets a located error.
MAX_MONTHLY_COST = 1e9
MAX_FTE = 1e5
MAX_COST = 1e12
#: Plan currency for one unit of a foreign one: 1e6 covers any real pair (1 USD is about
#: 16,000 IDR) and keeps every converted total finite.
MAX_FX_RATE = 1e6
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
ESCALATION_ALIASES = {**SOURCING_ALIASES, "othercosts": OTHER_COSTS, "othercost": OTHER_COSTS,
                      "other": OTHER_COSTS}

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
    read = _read_settings(sheets.get("Settings"), stem, out)
    settings, horizon, currency = read.settings, read.horizon, read.currency
    roles = _read_roles(sheets.get("Roles"), out)
    known_roles = set(roles) if roles is not None else None
    names = _Names(_read_systems(sheets.get("Systems"), out))
    bad_rates: set[tuple[str, str]] = set()
    rates = _read_rates(sheets.get("Rates"), known_roles, out, bad_rates, currency)
    allocation = _read_allocation(sheets.get("Allocation"), known_roles, out)
    staffing = _read_staffing(sheets.get("Staffing"), known_roles, allocation, rates, out,
                              bad_rates, names, horizon)
    costs = _read_costs(sheets.get("Costs"), out, names, horizon, currency)
    billing = _read_billing(sheets.get("Billing"), out)
    contracts = _read_contracts(sheets.get("Contracts"), out, names)
    profile = read_profile(sheets.get("Profile"), out)
    scenario_names: dict[str, str] = {}
    changes = _read_scenarios(sheets.get("Scenarios"), known_roles, staffing, out, names,
                              horizon, scenario_names)
    vendor_cells: dict[str, str] = {}
    escalation = _read_escalation(sheets.get("Escalation"), out, vendor_cells)
    _warn_unmatched_escalation(escalation, vendor_cells, staffing, changes, out)
    fx = _read_fx(sheets.get("FX"), currency, horizon, out)
    _warn_inverted_fx(rates, fx, currency, out)
    budget = _check_budget_scenario(read.budget_scenario, read.refs.get("budget_scenario", ""),
                                    scenario_names, out)
    if settings is not None and budget is not None:
        settings = replace(settings, budget_scenario=budget)
    names.warn_near_duplicates(out)
    # spend against the budget: the Actuals sheet, read by input/actuals.py
    actuals = read_plan_actuals(sheets.get("Actuals"), settings, fx, staffing, costs, out)

    if has_errors(out.findings) or settings is None or roles is None or rates is None \
            or allocation is None or staffing is None:
        return None, out.findings
    plan = Plan(
        settings=settings, roles=roles, rates=rates, allocation=allocation, staffing=staffing,
        costs=costs, billing=billing, contracts=contracts, profile=profile,
        scenario_changes=changes, escalation=escalation, fx=fx, actuals=actuals,
        source_name=source_name, setting_cells=dict(read.refs),
        systems=list(names.known or ()),
    )
    return plan, out.findings


def _setting_key(text: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(text).strip()).casefold()


@dataclass
class _SettingsRead:
    """The Settings sheet as read: the settings (None on errors), and what the other sheets
    need from it even then, so that their own problems are still reported."""

    settings: Settings | None = None
    #: setting key -> its Value cell
    refs: dict[str, str] = field(default_factory=dict)
    #: the plan's horizon; None when fiscal_year, horizon_years or fy_start_month is wrong
    horizon: Horizon | None = None
    #: the plan's currency; None when the currency setting is wrong
    currency: str | None = None
    #: budget_scenario as typed (or its default)
    budget_scenario: str = SETTINGS_BY_KEY["budget_scenario"].default


def _read_settings(grid: SheetGrid | None, stem: str, out: Collector) -> _SettingsRead:
    read = _SettingsRead()
    if grid is None:
        return read
    table = find_table(grid, ("Setting", "Value"), (), out)
    if table is None:
        return read
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    value_refs = read.refs
    wrong: set[str] = set()  # keys whose value is reported wrong
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
        count = len(out.findings)
        value = _read_setting(row, spec, out)
        if has_errors(out.findings[count:]):
            wrong.add(key)
        elif value is not None:
            values[key] = value
    if "fiscal_year" not in values and "fiscal_year" not in seen:  # the one required setting
        out.error("missing-setting", "setting fiscal_year is required (e.g. 2027): add a row "
                  "'fiscal_year' with the year", grid.ref(table.header_r, table.cols["Setting"]))
    if "fiscal_year" in values and not wrong & {"horizon_years", "fy_start_month"}:
        default = Settings(plan_name=stem, fiscal_year=values["fiscal_year"])
        read.horizon = Horizon(values["fiscal_year"],
                               values.get("horizon_years", default.horizon_years),
                               values.get("fy_start_month", default.fy_start_month))
    if "currency" not in wrong:
        read.currency = values.get("currency", SETTINGS_BY_KEY["currency"].default)
    read.budget_scenario = values.get("budget_scenario", read.budget_scenario)
    if len(out.findings) > before and has_errors(out.findings[before:]):
        return read
    settings = Settings(plan_name=values.pop("plan_name", None) or stem, **values)
    if settings.band_low >= settings.band_high:
        where = value_refs.get("band_low", value_refs.get("band_high", ""))
        low, high = (f"{getattr(settings, key):g}" + ("" if key in values else ", the default")
                     for key in ("band_low", "band_high"))
        out.error("bad-band", f"band_low ({low}) must be below band_high ({high}): the band "
                  "is the range of the operation share, e.g. 0.40 to 0.60", where)
        return read
    read.settings = settings
    return read


def _read_setting(row: Row, spec: SettingSpec, out: Collector) -> Any:
    """The typed value of one Settings row by its schema entry; None when blank or wrong."""
    label = f"setting {spec.key}"
    if spec.kind == "text":
        return row.text("Value", label, required=False) or None
    if spec.kind == "currency":
        text = row.text("Value", label, required=False)
        if not text:
            return None
        code = currency_code(text)
        if code is None:
            out.error("bad-currency", f"currency must be a three-letter ISO 4217 code "
                      f"such as USD or EUR, got '{text}'", row.ref("Value"))
        return code
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
                bad: set[tuple[str, str]],
                plan_currency: str | None) -> dict[tuple[str, str], Rate] | None:
    """The Rates rows; ``bad`` gets the (role, sourcing) of rows whose cost or currency is
    reported wrong."""
    if grid is None:
        return None
    table = find_table(grid, ("Role", "Sourcing", "Monthly cost"), ("Currency",), out)
    if table is None:
        return None
    rates: dict[tuple[str, str], Rate] = {}
    for row in rows(table, out):
        role = row.text("Role", "Role")
        sourcing = row.choice("Sourcing", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        cost = row.number("Monthly cost", "Monthly cost", strict=True, blank=None,
                          maximum=MAX_MONTHLY_COST)
        currency = _read_currency(row, plan_currency)
        if not _check_role(row, role, known, out) or sourcing is None:
            continue
        assert role is not None
        if cost is None or currency is None:
            bad.add((role, sourcing))
            continue
        key = (role, sourcing)
        if key in rates:
            out.error("duplicate", f"rate for ({role}, {sourcing}) is given twice (first at "
                      f"{rates[key].location})", row.ref("Role"))
            continue
        rates[key] = Rate(role, sourcing, cost, row.ref("Monthly cost"), *currency)
    return rates


def _read_currency(row: Row, plan_currency: str | None) -> tuple[str, str] | None:
    """(ISO code, its cell) of a row's optional Currency cell: ('', ...) for a blank cell or
    the plan's own currency; None (and a located error) for a cell that holds no code."""
    if "Currency" not in row.cols:
        return "", ""
    text = row.text("Currency", "Currency", required=False)
    if text is None:
        return None
    code = currency_code(text) if text else ""
    if code is None:
        row.out.error("bad-currency", f"Currency must be a three-letter ISO 4217 code such as "
                      f"USD or EUR (blank = the plan's currency), got '{text}'",
                      row.ref("Currency"))
        return None
    return ("" if code == plan_currency else code), row.ref("Currency")


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


def _horizon_text(horizon: Horizon) -> str:
    """'FY2027 Q1 to FY2029 Q4 (horizon_years 3)'."""
    first, last = horizon.periods[0], horizon.periods[-1]
    return f"{first.label} to {last.label} (horizon_years {horizon.years})"


def _period_columns(table: Table, horizon: Horizon | None,
                    out: Collector) -> list[tuple[int, str]]:
    """The ``FY<year> Q<n>`` columns of a Staffing or Costs table, added to ``table.cols``
    under their label ('FY2028 Q3'): (period index k, label) of each. A header naming no
    quarter, a quarter twice or a quarter outside the horizon is an error at the header cell
    (and its column is not read). k is -1 when the horizon is unknown (Settings are wrong)."""
    grid = table.grid
    if table.header_r >= len(grid.rows):
        return []
    found: list[tuple[int, str]] = []
    used = set(table.cols.values())
    for c, value in enumerate(grid.rows[table.header_r]):
        parsed = period_header(value)
        if c in used or parsed is None:
            continue
        year, quarter = parsed
        ref = grid.ref(table.header_r, c)
        label = f"FY{year} Q{quarter}"
        text = " ".join(str(value).split())
        if not 1 <= quarter <= 4 or not 1000 <= year <= 9999:
            out.error("bad-period", f"column '{text}' names no quarter: write FY, the fiscal "
                      "year in full and Q1 to Q4, e.g. FY2028 Q3", ref)
            continue
        if label in table.cols:
            out.error("duplicate", f"column '{text}' repeats {label} (first at "
                      f"{grid.ref(table.header_r, table.cols[label])}): keep one of them", ref)
            continue
        k = -1
        if horizon is not None:
            period = horizon.period_of(year, quarter)
            if period is None:
                out.error("outside-horizon", f"column '{text}' names {label}, outside the plan, "
                          f"which covers {_horizon_text(horizon)}: correct the year, or raise "
                          "horizon_years on the Settings sheet", ref)
                continue
            k = period.index
        table.cols[label] = c
        found.append((k, label))
    return found


def _read_periods(row: Row, what: str, maximum: float, periods: int,
                  overrides: list[tuple[int, str]]) -> tuple[float, ...] | None:
    """A row's value per period of the horizon: the Q1-Q4 cells repeated every fiscal year,
    then each non-blank ``FY<year> Q<n>`` cell in its own period. None when a cell is wrong."""
    quarters = [row.number(q, f"{what} {q}", maximum=maximum) for q in QUARTERS]
    values = [quarters[k % 4] for k in range(periods)]
    ok = all(v is not None for v in quarters)
    for k, label in overrides:
        value = row.number(label, f"{what} {label}", maximum=maximum, blank=math.nan)
        if value is None:
            ok = False
        elif not math.isnan(value) and 0 <= k < periods:
            values[k] = value
    return tuple(values) if ok else None  # type: ignore[arg-type]


def _read_staffing(grid: SheetGrid | None, known: set[str] | None,
                   allocation: dict[str, Allocation] | None,
                   rates: dict[tuple[str, str], Rate] | None,
                   out: Collector,
                   bad_rates: set[tuple[str, str]], names: _Names,
                   horizon: Horizon | None) -> list[StaffingLine] | None:
    if grid is None:
        return None
    table = find_table(grid, ("System", "Role", "Sourcing", *QUARTERS), ("Vendor",), out)
    if table is None:
        return None
    overrides = _period_columns(table, horizon, out)
    periods = len(horizon) if horizon is not None else len(QUARTERS)
    lines: list[StaffingLine] = []
    first: dict[tuple[str, str, str, str], str] = {}  # line key -> its first location
    for row in rows(table, out):
        system = row.text("System", "System")
        if system and not names.system(row, system, out):
            system = None
        role = row.text("Role", "Role")
        sourcing = row.choice("Sourcing", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        vendor = row.text("Vendor", "Vendor", required=False) if "Vendor" in table.cols else ""
        fte = _read_periods(row, "FTE", MAX_FTE, periods, overrides)
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


def _read_costs(grid: SheetGrid | None, out: Collector, names: _Names,
                horizon: Horizon | None, plan_currency: str | None) -> list[CostLine]:
    if grid is None:
        return []
    table = find_table(grid, ("System", "Item", "Activity", *QUARTERS), ("Currency",), out)
    if table is None:
        return []
    overrides = _period_columns(table, horizon, out)
    periods = len(horizon) if horizon is not None else len(QUARTERS)
    costs = []
    for row in rows(table, out):
        system = row.text("System", "System")
        if system and not names.system(row, system, out):
            system = None
        item = row.text("Item", "Item", required=False)
        activity = row.choice("Activity", "Activity", ACTIVITY_ALIASES, ACTIVITIES)
        amounts = _read_periods(row, "Cost", MAX_COST, periods, overrides)
        currency = _read_currency(row, plan_currency)
        if system is not None and activity is not None and amounts is not None \
                and currency is not None:
            costs.append(CostLine(system, item or "", activity, amounts,
                                  grid.ref(row.r, table.cols["System"]), *currency))
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
                    out: Collector, names: _Names, horizon: Horizon | None,
                    scenario_names: dict[str, str]) -> list[ScenarioChange]:
    """The Scenarios rows; ``scenario_names`` gets every scenario name of the sheet (rows
    with other errors included) with the cell of its first row."""
    if grid is None:
        return []
    table = find_table(grid, ("Scenario", "Role", "System", "Change", "Value"), ("From",), out)
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
        if name:
            scenario_names.setdefault(name, row.ref("Scenario"))
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
        start = _read_from(row, horizon)
        if name is None or role is None or system is None or change is None or value is None \
                or start is None:
            continue
        if system != "*" and staffing is not None and system not in systems:
            close = difflib.get_close_matches(system, sorted(systems), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.warning("no-match", f"scenario '{name}': system '{system}' has no staffing "
                        f"lines{hint}, so this scenario row changes nothing", row.ref("System"))
        changes.append(ScenarioChange(name, role, system, change, value, row.ref("Scenario"),
                                      start))
    return changes


def _read_from(row: Row, horizon: Horizon | None) -> int | None:
    """The period index k from which a Scenarios row applies: its From cell, ``Q<n>`` (of the
    first fiscal year) or ``FY<year> Q<n>``; 0 when blank or absent; None on a located error."""
    if "From" not in row.cols or row.special("From", "From"):
        return 0 if "From" not in row.cols else None
    raw = row.raw("From")
    if is_blank(raw):
        return 0
    parsed = parse_period(raw)
    if parsed is None:
        first = f" (of FY{horizon.first_fiscal_year})" if horizon is not None else ""
        row.out.error("bad-period", f"From must be a quarter, Q1 to Q4{first} or FY<year> "
                      f"Q<n> such as FY2028 Q3 (blank = from the start), got {describe(raw)}",
                      row.ref("From"))
        return None
    if horizon is None:
        return 0  # the Settings are wrong (reported there): no period to check against
    year, quarter = parsed
    period = horizon.period_of(horizon.first_fiscal_year if year is None else year, quarter)
    if period is None:
        row.out.error("outside-horizon", f"From names FY{year} Q{quarter}, outside the plan, "
                      f"which covers {_horizon_text(horizon)}: correct the year, or raise "
                      "horizon_years on the Settings sheet", row.ref("From"))
        return None
    return period.index


def _check_budget_scenario(wanted: str, where: str, scenario_names: Mapping[str, str],
                           out: Collector) -> str | None:
    """The scenario budget_scenario names, as the plan spells it: Baseline (in any case), a
    scenario of the Scenarios sheet as typed, or in another case when only one matches; None
    (and an error at the setting) when it names none."""
    if wanted.casefold() == BASELINE.casefold():
        return BASELINE
    if wanted in scenario_names:
        return wanted
    same = [name for name in scenario_names if name.casefold() == wanted.casefold()]
    if len(same) == 1:
        return same[0]
    known = [BASELINE, *scenario_names]
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    hint = f": did you mean '{close[0]}'?" if close else ""
    out.error("unknown-scenario", f"budget_scenario '{wanted}' is not a scenario of the plan "
              f"(known: {', '.join(known)}){hint}", where)
    return None


def _read_escalation(grid: SheetGrid | None, out: Collector,
                     vendor_cells: dict[str, str]) -> list[Escalation]:
    """The optional Escalation sheet: a yearly rate per sourcing (and vendor) or other costs;
    ``vendor_cells`` gets each vendor named with the cell of its first Vendor cell."""
    if grid is None:
        return []
    table = find_table(grid, ("Applies to", "Annual rate"), ("Vendor",), out)
    if table is None:
        return []
    escalation: list[Escalation] = []
    seen: dict[tuple[str, str], str] = {}
    for row in rows(table, out):
        applies = row.choice("Applies to", "Applies to", ESCALATION_ALIASES, ESCALATION_TARGETS)
        vendor = row.text("Vendor", "Vendor", required=False) if "Vendor" in table.cols else ""
        rate = row.number("Annual rate", "Annual rate", minimum=-1, strict=True, blank=None)
        if rate is not None and rate > 1:
            out.error("percent-number", f"Annual rate is a fraction (0.03 = 3 % a year), got "
                      f"{rate:g}: it looks like a percent number; enter {rate / 100:g} or "
                      f"format the cell as a percentage and type {rate:g} %",
                      row.ref("Annual rate"))
            rate = None
        if vendor and applies in (IN_HOUSE, OTHER_COSTS):
            out.error("unexpected-vendor", f"Vendor may be filled only on Outsource or Offshore "
                      f"rows: {applies} has no vendor; clear the cell, or set Applies to to the "
                      "vendor's sourcing", row.ref("Vendor"))
            applies = None
        if applies is None or vendor is None or rate is None:
            continue
        key = (applies, vendor)
        if key in seen:
            what = f"{applies}, vendor '{vendor}'" if vendor else applies
            out.error("duplicate", f"escalation for {what} is given twice (first at "
                      f"{seen[key]}): keep one row", row.ref("Applies to"))
            continue
        seen[key] = row.ref("Applies to")
        if vendor:
            vendor_cells.setdefault(vendor, row.ref("Vendor"))
        escalation.append(Escalation(applies, vendor, rate, row.ref("Applies to")))
    return escalation


def _warn_unmatched_escalation(escalation: list[Escalation], vendor_cells: Mapping[str, str],
                               staffing: list[StaffingLine] | None,
                               changes: list[ScenarioChange], out: Collector) -> None:
    """An Escalation row naming a vendor no line can have changes nothing: probably a typo."""
    if staffing is None:
        return
    vendors = {resolve_vendor(line.sourcing, line.vendor) for line in staffing}
    vendors |= {f"{s} vendor" for s in (OUTSOURCE, OFFSHORE)}
    vendors |= {str(c.value) for c in changes if c.change == "vendor" and c.value}
    vendors.discard("")
    for row in escalation:
        if row.vendor and row.vendor not in vendors:
            close = difflib.get_close_matches(row.vendor, sorted(vendors), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.warning("no-match", f"escalation for vendor '{row.vendor}': no Staffing line or "
                        f"scenario has this vendor{hint}, so the row changes nothing",
                        vendor_cells.get(row.vendor, row.location))


def _read_fx(grid: SheetGrid | None, plan_currency: str | None, horizon: Horizon | None,
             out: Collector) -> list[FxRate]:
    """The optional FX sheet: plan currency per unit of a foreign one, per fiscal year or for
    every year without a row of its own (blank Fiscal year)."""
    if grid is None:
        return []
    table = find_table(grid, ("Currency", "Rate"), ("Fiscal year",), out)
    if table is None:
        return []
    fx: list[FxRate] = []
    seen: dict[tuple[str, int | None], str] = {}
    for row in rows(table, out):
        text = row.text("Currency", "Currency")
        code = currency_code(text) if text else None
        if text and code is None:
            out.error("bad-currency", f"Currency must be a three-letter ISO 4217 code such as "
                      f"USD or EUR, got '{text}'", row.ref("Currency"))
        year_ok, fiscal_year = _read_fiscal_year(row)
        what = f"Rate ({plan_currency} for one {code})" if code and plan_currency else "Rate"
        rate = row.number("Rate", what, strict=True, blank=None, maximum=MAX_FX_RATE)
        if code is None or not year_ok or rate is None:
            continue
        key = (code, fiscal_year)
        what = f"{code} in FY{fiscal_year}" if fiscal_year is not None else \
            f"{code} for every year (blank Fiscal year)"
        if key in seen:
            out.error("duplicate", f"FX rate for {what} is given twice (first at {seen[key]}): "
                      "keep one row", row.ref("Currency"))
            continue
        seen[key] = row.ref("Currency")
        if code == plan_currency:
            out.warning("fx-plan-currency", f"FX row for {code}, the plan's own currency, is "
                        f"ignored: amounts in {code} need no conversion (rate 1)",
                        row.ref("Currency"))
            continue
        if horizon is not None and fiscal_year is not None \
                and fiscal_year not in horizon.fiscal_years:
            out.warning("fx-unused", f"FX rate for {what} is not used: the plan covers "
                        f"{_horizon_text(horizon)}", row.ref("Fiscal year"))
            continue
        fx.append(FxRate(code, fiscal_year, rate, row.ref("Rate")))
    return fx


#: a foreign rate converted to more than this many times (or less than one over it) the
#: role's own plan-currency rates is almost surely an FX rate typed the wrong way round
FX_SANITY_RATIO = 20.0


def _warn_inverted_fx(rates: dict[tuple[str, str], Rate] | None, fx: list[FxRate],
                      plan_currency: str | None, out: Collector) -> None:
    """Warn once per FX row that turns a foreign Rates row into an amount 20 times above (or
    below) the same role's plan-currency rates: '82.57' typed for INR where the sheet asks
    for USD per one INR (0.0121) passes every bound, and multiplies offshore costs by 6,800."""
    if not rates or not fx or not plan_currency:
        return
    warned: set[str] = set()
    for rate in rates.values():
        if not rate.currency:
            continue
        own = sorted(r.monthly_cost for r in rates.values()
                     if r.role == rate.role and not r.currency)
        if not own:
            continue
        reference = own[len(own) // 2]
        for row in fx:
            if row.currency != rate.currency or row.location in warned:
                continue
            converted = rate.monthly_cost * row.rate
            ratio = converted / reference
            if 1 / FX_SANITY_RATIO <= ratio <= FX_SANITY_RATIO:
                continue
            warned.add(row.location)
            side = "above" if ratio > 1 else "below"
            times = ratio if ratio > 1 else 1 / ratio
            out.warning(
                "fx-suspicious",
                f"at {row.rate:g} {plan_currency} for one {row.currency}, the {rate.sourcing} "
                f"rate of '{rate.role}' ({rate.monthly_cost:,.0f} {row.currency}, "
                f"{rate.location}) comes to {converted:,.0f} {plan_currency} a month, "
                f"{times:,.0f} times {side} its {plan_currency} rate of {reference:,.0f}: "
                f"is the rate the wrong way round? The FX sheet asks for {plan_currency} per "
                f"one {row.currency} (for {row.rate:g} {row.currency} per {plan_currency}, "
                f"enter {1 / row.rate:.6g})", row.location)


def _read_fiscal_year(row: Row) -> tuple[bool, int | None]:
    """An FX row's Fiscal year as (ok, year): the year (2028, or text 'FY2028'); None when
    blank or absent (every year); ok False on a located error."""
    if "Fiscal year" not in row.cols:
        return True, None
    if row.special("Fiscal year", "Fiscal year"):
        return False, None
    raw = row.raw("Fiscal year")
    if is_blank(raw):
        return True, None
    number = as_float(raw)
    if number is None and isinstance(raw, str):
        match = re.fullmatch(r"(?:fy)?(\d{4})", norm_enum(raw))
        number = float(match[1]) if match else None
    if number is None or not number.is_integer() or not 1900 <= number <= 2200:
        row.out.error("bad-year", f"Fiscal year must be a year such as 2028 (blank = every "
                      f"year), got {describe(raw)}", row.ref("Fiscal year"))
        return False, None
    return True, int(number)


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
