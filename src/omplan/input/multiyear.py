"""The sheets of plans over several years and currencies: Escalation (how costs rise each
fiscal year) and FX (exchange rates per fiscal year), each with its check against the rest of
the plan."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from omplan.core.model import (
    IN_HOUSE,
    OFFSHORE,
    OTHER_COSTS,
    OUTSOURCE,
    Escalation,
    FxRate,
    ScenarioChange,
    StaffingLine,
    resolve_vendor,
    vendor_key,
)
from omplan.input.plausibility import warn_inverted_fx
from omplan.input.reading import Reading, horizon_text
from omplan.input.schema import MAX_FX_RATE
from omplan.input.tables import (
    Collector,
    Row,
    Table,
    as_float,
    currency_code,
    damerau_levenshtein,
    describe,
    is_blank,
    norm_enum,
)

__all__ = ["read_escalation", "read_fx"]


def read_escalation(table: Table, reading: Reading) -> list[Escalation]:
    """The optional Escalation sheet: a yearly rate per sourcing (and vendor) or other costs;
    a vendor no line can have is warned about."""
    out = reading.out
    vendor_cells: dict[str, str] = {}  # vendor -> its first Vendor cell
    escalation: list[Escalation] = []
    seen: dict[tuple[str, str], str] = {}
    for row in reading.rows(table):
        applies = row.get("Applies to")
        vendor = row.get("Vendor")
        rate = row.get("Annual rate")
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
    _warn_unmatched_escalation(escalation, vendor_cells, reading.staffing,
                               reading.get("Scenarios", []), out)
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
    keys = {vendor_key(v) for v in vendors}  # matched ignoring case, as the engine does
    for row in escalation:
        if row.vendor and vendor_key(row.vendor) not in keys:
            close = difflib.get_close_matches(row.vendor, sorted(vendors), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.warning("no-match", f"escalation for vendor '{row.vendor}': no Staffing line or "
                        f"scenario has this vendor{hint}, so the row changes nothing",
                        vendor_cells.get(row.vendor, row.location))


def read_fx(table: Table, reading: Reading) -> list[FxRate]:
    """The optional FX sheet: plan currency per unit of a foreign one, per fiscal year or for
    every year without a row of its own (blank Fiscal year); a rate that looks the wrong way
    round is warned about."""
    out, plan_currency, horizon = reading.out, reading.currency, reading.horizon
    fx: list[FxRate] = []
    seen: dict[tuple[str, int | None], str] = {}
    currency_cells: dict[str, str] = {}
    for row in reading.rows(table):
        text = row.text("Currency", "Currency")
        code = currency_code(text) if text else None
        if text and code is None:
            out.error("bad-currency", f"Currency must be a three-letter ISO 4217 code such as "
                      f"USD or EUR, got '{text}'", row.ref("Currency"))
        year_ok, fiscal_year = _read_fiscal_year(row)
        what = f"Rate ({plan_currency} for one {code})" if code and plan_currency else "Rate"
        rate = row.number("Rate", what, strict=True, blank=None, maximum=MAX_FX_RATE)
        if code is None or not year_ok or rate is None:
            if code is not None:
                reading.bad_fx.add(code)
            continue
        key = (code, fiscal_year)
        what = f"{code} in FY{fiscal_year}" if fiscal_year is not None else \
            f"{code} for every year (blank Fiscal year)"
        if key in seen:
            out.error("duplicate", f"FX rate for {what} is given twice (first at {seen[key]}): "
                      "keep one row", row.ref("Currency"))
            continue
        seen[key] = row.ref("Currency")
        currency_cells.setdefault(code, row.ref("Currency"))
        if code == plan_currency:
            out.warning("fx-plan-currency", f"FX row for {code}, the plan's own currency, is "
                        f"ignored: amounts in {code} need no conversion (rate 1)",
                        row.ref("Currency"))
            continue
        if horizon is not None and fiscal_year is not None \
                and fiscal_year not in horizon.fiscal_years:
            out.warning("fx-unused", f"FX rate for {what} is not used: the plan covers "
                        f"{horizon_text(horizon)}", row.ref("Fiscal year"))
            continue
        fx.append(FxRate(code, fiscal_year, rate, row.ref("Rate")))
    _check_misspelt_fx(fx, currency_cells, reading)
    reading.fx_warned = warn_inverted_fx(reading.rates, reading.values.get("Roles"), fx,
                                         plan_currency, out)
    return fx


def _check_misspelt_fx(fx: list[FxRate], currency_cells: Mapping[str, str],
                       reading: Reading) -> None:
    """An FX row for a currency that no Rates or Costs row uses, while a currency they use
    has no FX row and is one letter off, is a typo: an error at the FX row's Currency cell,
    which stands for the missing rates of the currency it was meant for."""
    used: dict[str, str] = {}  # currency of a Rates or Costs row -> its first Currency cell
    for rate in (reading.rates or {}).values():
        if rate.currency:
            used.setdefault(rate.currency, rate.currency_location or rate.location)
    for cost in reading.get("Costs", []):
        if cost.currency:
            used.setdefault(cost.currency, cost.currency_location or cost.location)
    given = {row.currency for row in fx}
    for row in fx:
        if row.currency in used:
            continue
        close = [code for code in used if code not in given
                 and damerau_levenshtein(code, row.currency, 1) <= 1]
        if close:
            reading.bad_fx.add(close[0])
            reading.out.error("bad-currency", f"FX rate for {row.currency}: no Rates or Costs "
                              f"row is in {row.currency}, and the {close[0]} amounts "
                              f"({used[close[0]]}) have no FX rate: did you mean {close[0]}?",
                              currency_cells[row.currency])


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
