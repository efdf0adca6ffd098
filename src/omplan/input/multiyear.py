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
    Rate,
    ScenarioChange,
    StaffingLine,
    resolve_vendor,
)
from omplan.input.reading import Reading, horizon_text
from omplan.input.schema import MAX_FX_RATE
from omplan.input.tables import (
    Collector,
    Row,
    Table,
    as_float,
    currency_code,
    describe,
    is_blank,
    norm_enum,
)

__all__ = ["FX_SANITY_RATIO", "read_escalation", "read_fx"]


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
    for row in escalation:
        if row.vendor and row.vendor not in vendors:
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
                        f"{horizon_text(horizon)}", row.ref("Fiscal year"))
            continue
        fx.append(FxRate(code, fiscal_year, rate, row.ref("Rate")))
    _warn_inverted_fx(reading.rates, fx, plan_currency, out)
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
