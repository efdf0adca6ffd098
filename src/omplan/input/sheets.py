"""The plan's small table sheets -> model objects: Roles, Systems, Rates, Allocation, Billing,
Contracts and Profile (each function: the sheet's table and the reading so far -> its value)."""

from __future__ import annotations

import difflib
import math

from omplan.core.model import (
    ACTIVITIES,
    DEFAULT_BILLING,
    PROFILE_FACTORS,
    Allocation,
    Contract,
    Rate,
    Role,
)
from omplan.input.reading import Reading, check_role
from omplan.input.schema import FACTOR_ALIASES, find_sheet_table, sheet_spec
from omplan.input.tables import (
    Collector,
    Row,
    SheetGrid,
    Table,
    currency_code,
    describe,
    is_blank,
    norm_header,
    parse_yes_no,
)

__all__ = [
    "SHARE_TOLERANCE", "read_allocation", "read_billing", "read_contracts", "read_currency",
    "read_profile", "read_profile_table", "read_rates", "read_roles", "read_systems",
]

SHARE_TOLERANCE = 0.001


def read_systems(table: Table, reading: Reading) -> dict[str, str] | None:
    """The optional Systems sheet: name -> cell; None when it lists none."""
    out = reading.out
    systems: dict[str, str] = {}
    for row in reading.rows(table):
        name = row.get("System")
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


def read_roles(table: Table, reading: Reading) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for row in reading.rows(table):
        role = row.get("Role")
        level = row.get("Level")
        if role is None:
            continue
        if role in roles:
            reading.out.error("duplicate", f"role '{role}' is listed twice (first at "
                              f"{roles[role].location})", row.ref("Role"))
            continue
        roles[role] = Role(role, level or "", row.ref("Role"))
    return roles


def read_rates(table: Table, reading: Reading) -> dict[tuple[str, str], Rate]:
    """The Rates rows; ``reading.bad_rates`` gets the (role, sourcing) of rows whose cost or
    currency is reported wrong."""
    out, known, currency = reading.out, reading.known_roles, reading.currency
    rates: dict[tuple[str, str], Rate] = {}
    for row in reading.rows(table):
        role = row.get("Role")
        sourcing = row.get("Sourcing")
        cost = row.get("Monthly cost")
        code = read_currency(row, currency)
        if not check_role(row, role, known, out) or sourcing is None:
            if role is not None:
                reading.bad_rate_roles.add(role)
            continue
        assert role is not None
        if cost is None or code is None:
            reading.bad_rates.add((role, sourcing))
            reading.bad_rate_roles.add(role)
            continue
        key = (role, sourcing)
        if key in rates:
            out.error("duplicate", f"rate for ({role}, {sourcing}) is given twice (first at "
                      f"{rates[key].location})", row.ref("Role"))
            continue
        rates[key] = Rate(role, sourcing, cost, row.ref("Monthly cost"), *code)
    return rates


def read_currency(row: Row, plan_currency: str | None) -> tuple[str, str] | None:
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


def read_allocation(table: Table, reading: Reading) -> dict[str, Allocation]:
    out, known, grid = reading.out, reading.known_roles, table.grid
    allocation: dict[str, Allocation] = {}
    present = [a for a in ACTIVITIES if a in table.cols]
    _warn_misspelt_activities(table, present, out)
    for row in reading.rows(table):
        role = row.get("Role")
        shares: dict[str, float] = {}
        blank = True
        bad = False
        percent_at = ""  # the first share above 1: a percent typed as a number
        for activity in present:
            if not is_blank(row.raw(activity)) or (row.r, table.cols[activity]) in grid.special:
                blank = False
            share = row.get(activity)
            if share is None:
                bad = True
            elif share:
                shares[activity] = share
                if share > 1 and not percent_at:
                    percent_at = row.ref(activity)
        if not check_role(row, role, known, out):
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


def read_billing(table: Table, reading: Reading) -> dict[str, str]:
    billing = dict(DEFAULT_BILLING)
    seen: dict[str, str] = {}
    for row in reading.rows(table):
        activity = row.get("Activity")
        basis = row.get("Basis")
        if activity is None or basis is None:
            continue
        if activity in seen:
            reading.out.error("duplicate", f"billing basis for {activity} is given twice (first "
                              f"at {seen[activity]})", row.ref("Activity"))
            continue
        seen[activity] = row.ref("Activity")
        if basis:
            billing[activity] = basis
    return billing


def read_contracts(table: Table, reading: Reading) -> dict[str, Contract]:
    contracts: dict[str, Contract] = {}
    for row in reading.rows(table):
        vendor = row.get("Vendor")
        hours = row.get("Emergency response SLA hours")
        days = row.get("Permanent fix SLA days")
        if vendor is None:
            continue
        reading.names.vendor(vendor, row.ref("Vendor"))
        key = vendor.casefold()
        if key in contracts:
            reading.out.error("duplicate", f"vendor '{vendor}' has two contract rows (first at "
                              f"{contracts[key].location})", row.ref("Vendor"))
            continue
        contracts[key] = Contract(
            vendor,
            None if hours is None or math.isnan(hours) else hours,
            None if days is None or math.isnan(days) else days,
            row.ref("Vendor"),
        )
    return contracts


def read_profile_table(table: Table, reading: Reading) -> dict[str, bool]:
    out = reading.out
    profile: dict[str, bool] = {}
    seen: dict[str, str] = {}
    for row in reading.rows(table):
        text = row.text("Factor", "Factor")  # matched to a factor like a header, below
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


def read_profile(grid: SheetGrid | None, out: Collector) -> dict[str, bool]:
    """A Profile sheet on its own (the custom functions' profile table): factor -> applies."""
    if grid is None:
        return {}
    table = find_sheet_table(grid, sheet_spec("Profile"), out)
    return {} if table is None else read_profile_table(table, Reading(out))
