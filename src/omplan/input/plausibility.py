"""Checks of magnitudes that pass every bound but are almost surely typed wrong: an FX rate
entered the market's way round (PLN per EUR where the FX sheet asks for EUR per PLN), and a
rate with a zero too many or too few (75,000 for 7,500). Both are warnings, located at the
cell to correct, with the value that was likely meant; the thresholds are in docs/decisions.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from omplan.core.model import FxRate, Rate, Role
from omplan.input.tables import Collector

__all__ = [
    "FX_BAND", "FX_SANITY_RATIO", "OUTLIER_OWN_SOURCING", "OUTLIER_ROLE", "OUTLIER_SOURCING",
    "plan_currency_rate", "warn_inverted_fx", "warn_rate_outliers",
]

#: A foreign rate converted at a correct FX rate comes to between a third and three times the
#: same role's plan-currency rates (offshore work about half, an onshore vendor 1.1-1.3 times,
#: a contractor from a dearer market two to three times). An FX row that puts the typical
#: foreign rate outside that band while its reciprocal puts it inside is the wrong way round.
FX_BAND = 3.0
#: Beyond this many times (or below one over it) the FX rate is wrong whatever its reciprocal
#: gives: warned about as suspicious.
FX_SANITY_RATIO = 20.0

#: A rate at least this many times the median of the other rates of its sourcing (and at
#: least OUTLIER_ROLE times each other sourcing's rate of its role) has a zero too many; at
#: most one over it, a zero too few.
OUTLIER_SOURCING = 5.0
OUTLIER_ROLE = 3.0
#: For a role with one sourcing only, the sourcing's median alone must be this far off.
OUTLIER_OWN_SOURCING = 8.0


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def _domestic_reference(rate: Rate, rates: Mapping[tuple[str, str], Rate],
                        roles: Mapping[str, Role] | None) -> float | None:
    """What a foreign rate is compared with: the median of its role's plan-currency rates,
    else of the plan-currency rates of roles of its level; None when there are none."""
    own = [r.monthly_cost for r in rates.values() if r.role == rate.role and not r.currency]
    if not own and roles is not None and rate.role in roles:
        level = roles[rate.role].level
        own = [r.monthly_cost for r in rates.values() if not r.currency
               and r.role in roles and roles[r.role].level == level]
    return _median(own) if own else None


def _times(ratio: float) -> str:
    """'11.4' or '3,099': how many times, to three figures or so."""
    return f"{ratio:,.1f}" if ratio < 100 else f"{ratio:,.0f}"


def _money(amount: float) -> str:
    return f"{amount:,.0f}" if amount >= 100 else f"{amount:,.4g}"


def warn_inverted_fx(rates: Mapping[tuple[str, str], Rate] | None,
                     roles: Mapping[str, Role] | None, fx: Sequence[FxRate],
                     plan_currency: str | None, out: Collector) -> set[str]:
    """Warn at each FX row that puts its currency's Rates rows far from the same roles'
    plan-currency rates: the wrong way round when the reciprocal puts them in line (the
    message gives it), suspicious when they are 20 times off either way. Returns the
    currencies warned about (their rates are not checked as outliers again)."""
    if not rates or not fx or not plan_currency:
        return set()
    warned: set[str] = set()
    references = {key: _domestic_reference(rate, rates, roles)
                  for key, rate in rates.items() if rate.currency}
    for row in fx:
        pairs = []  # (converted / reference, the Rates row, reference)
        for key, rate in rates.items():
            if rate.currency == row.currency:
                reference = references[key]
                if reference:
                    pairs.append((rate.monthly_cost * row.rate / reference, rate, reference))
        if not pairs:
            continue
        pairs.sort(key=lambda pair: pair[0])
        ratio, rate, reference = pairs[len(pairs) // 2]  # the typical one
        if 1 / FX_BAND <= ratio <= FX_BAND:
            continue
        flipped = ratio / row.rate ** 2  # the same rate at the reciprocal FX rate
        inverted = 1 / FX_BAND <= flipped <= FX_BAND and abs(math.log(flipped)) < abs(
            math.log(ratio))
        if not inverted and 1 / FX_SANITY_RATIO <= ratio <= FX_SANITY_RATIO:
            continue
        warned.add(row.currency)
        code, plan = row.currency, plan_currency
        side = "above" if ratio > 1 else "below"
        times = ratio if ratio > 1 else 1 / ratio
        converted = rate.monthly_cost * row.rate
        example = (f"the {rate.sourcing} rate of '{rate.role}' ({_money(rate.monthly_cost)} "
                   f"{code}, {rate.location}) comes to {_money(converted)} {plan} a month, "
                   f"{_times(times)} times {side} the same role's {_money(reference)} {plan}")
        if inverted:
            many = "rates come" if len(pairs) > 1 else "rate comes"
            out.warning("fx-suspicious", (
                f"at {row.rate:g} {plan} for one {code}, the {code} {many} to {_times(times)} "
                f"times {side} the same roles' {plan} rates: {example}. The rate looks the "
                f"wrong way round: the FX sheet asks for {plan} per one {code}; for "
                f"{row.rate:g} {code} per {plan}, enter 1/{row.rate:g} = {1 / row.rate:.4g}, "
                f"which puts the {code} rates at {flipped:.2g} times the {plan} ones"),
                row.location)
        else:
            out.warning("fx-suspicious", (
                f"at {row.rate:g} {plan} for one {code}, {example}: check the rate; the FX "
                f"sheet asks for {plan} per one {code} (for {row.rate:g} {code} per {plan}, "
                f"enter {1 / row.rate:.6g})"), row.location)
    return warned


def plan_currency_rate(rate: Rate, fx: Sequence[FxRate], first_year: int | None) -> float | None:
    """A Rates row's monthly cost in plan currency at the FX rate of the plan's first fiscal
    year (its own row, else the all-years row); None when there is none."""
    if not rate.currency:
        return rate.monthly_cost
    fallback = None
    for row in fx:
        if row.currency == rate.currency:
            if row.fiscal_year is not None and row.fiscal_year == first_year:
                return rate.monthly_cost * row.rate
            if row.fiscal_year is None:
                fallback = rate.monthly_cost * row.rate
    return fallback


def warn_rate_outliers(rates: Mapping[tuple[str, str], Rate] | None, fx: Sequence[FxRate],
                       first_year: int | None, plan_currency: str, skip: set[str],
                       out: Collector) -> None:
    """Warn at each Rates cell with a zero too many (or too few): far from the median of its
    sourcing's other rates and from its role's other sourcings, in plan currency. Rates in
    the currencies of ``skip`` (an FX row already warned about) are left out."""
    if not rates:
        return
    converted = {key: plan_currency_rate(rate, fx, first_year) for key, rate in rates.items()
                 if rate.currency not in skip}
    known = {key: value for key, value in converted.items() if value}
    for key, value in known.items():
        rate = rates[key]
        same_sourcing = [v for k, v in known.items() if k[1] == rate.sourcing and k != key]
        same_role = [(v, rates[k]) for k, v in known.items() if k[0] == rate.role and k != key]
        median = _median(same_sourcing) if len(same_sourcing) >= 2 else None
        high = value > (median or 0)
        by_sourcing = None if median is None else (value / median if high else median / value)
        if same_role:
            # compared with the nearest of the role's other rates
            other, other_rate = (max if high else min)(same_role, key=lambda pair: pair[0])
            by_role = value / other if high else other / value
            suspicious = (by_sourcing is not None and by_sourcing >= OUTLIER_SOURCING
                          and by_role >= OUTLIER_ROLE) or (by_sourcing is None
                                                           and by_role >= OUTLIER_OWN_SOURCING)
        else:
            by_role, other_rate = None, None
            suspicious = by_sourcing is not None and by_sourcing >= OUTLIER_OWN_SOURCING
        if not suspicious:
            continue
        times = by_sourcing if by_sourcing is not None else by_role
        assert times is not None
        power = 10 ** max(1, round(math.log10(times)))
        meant = rate.monthly_cost / power if high else rate.monthly_cost * power
        unit = rate.currency or plan_currency
        what = "a zero too many" if high else "a zero too few"
        if power > 10:
            what = "zeros too many" if high else "zeros too few"
        side = "above" if high else "below"
        reasons = []
        if by_sourcing is not None and median is not None:
            reasons.append(f"{_times(by_sourcing)} times {side} the median of the other "
                           f"{rate.sourcing} rates ({_money(median)} {plan_currency})")
        if by_role is not None and other_rate is not None:
            reasons.append(f"{_times(by_role)} times {side} its {other_rate.sourcing} rate "
                           f"({other_rate.location})")
        out.warning("rate-outlier", (
            f"the {rate.sourcing} rate of '{rate.role}', {_money(rate.monthly_cost)} {unit} a "
            f"month, is {' and '.join(reasons)}: {what}? If it is {_money(meant)}, correct "
            "the cell; if the rate is right, this warning can be ignored"), rate.location)
