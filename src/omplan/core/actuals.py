"""Actual spend against the budget: plan vs actual by month, quarter, activity and system, and
each fiscal year's forecast (actual to date plus the plan of the months still to come).

The budget is the ledger of the ``budget_scenario`` (Baseline unless the Settings say
otherwise); a month's plan for a system and activity is its quarter's amount ÷ 3, every
component included. The actual rows form their own ledger (:func:`actuals_ledger`) beside the
plan's, so no planned figure changes; every figure here is a group-by of those two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import band_status
from omplan.core.model import ACTIVITIES, ACTIVITY_KIND, Kind, Plan

__all__ = [
    "ACTUAL", "ACTUALS_CODES", "ActualsFigures", "MonthActual", "QuarterActual", "Variance",
    "YearForecast", "actuals_figures", "actuals_ledger", "month_label", "over_budget",
]

#: The ``component`` of every actual row (the plan ledger's components are the cost kinds).
ACTUAL = "actual"
#: Findings about actual spend: they go with the budget scenario's figures.
ACTUALS_CODES = frozenset({"actuals-unplanned", "over-budget", "actuals-replaced"})


@dataclass(frozen=True, slots=True)
class Variance:
    """Plan and actual of one group; ``variance`` > 0 is over budget."""

    plan: float
    actual: float

    @property
    def variance(self) -> float:
        return self.actual - self.plan

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "actual": self.actual, "variance": self.variance}


@dataclass(frozen=True, slots=True)
class MonthActual:
    """One fiscal month through the latest actual: ``month`` is ``YYYY-MM``."""

    index: int
    month: str
    fiscal_year: int
    quarter: str
    plan: float
    actual: float

    @property
    def variance(self) -> float:
        return self.actual - self.plan

    def to_json(self) -> dict[str, Any]:
        return {"month": self.month, "fiscal_year": self.fiscal_year, "quarter": self.quarter,
                "plan": self.plan, "actual": self.actual, "variance": self.variance}


@dataclass(frozen=True, slots=True)
class QuarterActual:
    """A quarter with at least one month through the latest actual; its plan counts only
    those months (``months`` of 3; ``complete`` when all three)."""

    index: int
    fiscal_year: int
    quarter: str
    months: int
    plan: float
    actual: float
    operation_actual: float
    operation_share_actual: float | None
    band_status_actual: str

    @property
    def complete(self) -> bool:
        return self.months == 3

    @property
    def variance(self) -> float:
        return self.actual - self.plan

    @property
    def variance_pct(self) -> float | None:
        return None if self.plan == 0 else self.variance / self.plan

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year} {self.quarter}"

    def to_json(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "quarter": self.quarter,
                "complete": self.complete, "plan": self.plan, "actual": self.actual,
                "variance": self.variance, "variance_pct": self.variance_pct,
                "operation_share_actual": self.operation_share_actual,
                "band_status_actual": self.band_status_actual}


@dataclass(frozen=True, slots=True)
class YearForecast:
    """A fiscal year of the horizon: its budget, actual to date and forecast at completion."""

    fiscal_year: int
    plan: float
    actual_to_date: float
    forecast: float

    @property
    def variance_at_completion(self) -> float:
        return self.forecast - self.plan

    def to_json(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "plan": self.plan,
                "actual_to_date": self.actual_to_date, "forecast": self.forecast,
                "variance_at_completion": self.variance_at_completion}


@dataclass(frozen=True, slots=True)
class ActualsFigures:
    """Plan vs actual through the latest month with an actual row (``through``), and the
    ``over-budget`` findings of its quarters."""

    budget_scenario: str
    through: str
    months: list[MonthActual]
    quarters: list[QuarterActual]
    by_activity: dict[str, Variance]
    by_system: dict[str, Variance]
    years: list[YearForecast]
    findings: list[Finding] = field(default_factory=list)
    #: where the actual rows came from: the Actuals sheet, or the file given with --actuals
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON ``actuals`` object: keys in the documented order, full float precision."""
        return {"budget_scenario": self.budget_scenario, "through": self.through,
                "months": [m.to_json() for m in self.months],
                "quarters": [q.to_json() for q in self.quarters],
                "by_activity": {a: v.to_json() for a, v in self.by_activity.items()},
                "by_system": {s: v.to_json() for s, v in self.by_system.items()},
                "years": [y.to_json() for y in self.years]}


def month_label(plan: Plan, index: int) -> str:
    """``2027-04``: the calendar month of fiscal month index ``index``."""
    year, month = plan.horizon.month_of(index)
    return f"{year}-{month:02d}"


def actuals_ledger(plan: Plan, ledger: pd.DataFrame | None = None) -> pd.DataFrame:
    """The actual rows in the plan ledger's shape: ``scenario`` (the budget scenario),
    ``system``, ``quarter`` (the ledger's period labels, code = quarter index k), ``activity``,
    ``kind``, ``component`` (``"actual"``), the fiscal ``month`` index and ``amount`` in the
    plan's currency (foreign amounts converted at their fiscal year's FX rate).

    Systems keep the ledger's categories, with systems the plan does not budget after them.
    Raises ValueError for a foreign currency without a rate (the readers report it first).
    """
    lines = plan.actuals
    horizon = plan.horizon
    month = np.fromiter((x.month for x in lines), dtype=np.int64, count=len(lines))
    amount = np.fromiter((x.amount for x in lines), dtype=float, count=len(lines))
    currency = pd.Series([x.currency for x in lines], dtype=object)
    fiscal_year = horizon.first_fiscal_year + month // 12
    foreign = np.flatnonzero(currency.to_numpy() != "")
    if len(foreign):
        codes, pairs = pd.factorize(pd.MultiIndex.from_arrays(
            [currency.to_numpy()[foreign], fiscal_year[foreign]]))
        rates = [plan.fx_rate(c, int(y)) for c, y in pairs]
        if any(r is None for r in rates):
            missing = ", ".join(f"{c} in FY{y}" for (c, y), r in zip(pairs, rates, strict=True)
                                if r is None)
            raise ValueError(f"no FX rate for {missing}")
        amount[foreign] *= np.array(rates, dtype=float)[codes]
    systems = [x.system for x in lines]
    planned = list(ledger["system"].cat.categories) if ledger is not None else []
    known = set(planned)
    extra = [s for s in dict.fromkeys(systems) if s not in known]
    activities = [x.activity for x in lines]
    kinds = [ACTIVITY_KIND[a].value for a in ACTIVITIES]
    kind_of = dict(zip(ACTIVITIES, kinds, strict=True))
    n = len(lines)
    return pd.DataFrame({
        "scenario": pd.Categorical([plan.settings.budget_scenario] * n,
                                   categories=plan.scenario_names),
        "system": pd.Categorical(systems, categories=[*planned, *extra]),
        "quarter": pd.Categorical.from_codes(month // 3, categories=list(horizon.labels)),
        "activity": pd.Categorical(activities, categories=list(ACTIVITIES)),
        "kind": pd.Categorical([kind_of[a] for a in activities],
                               categories=[Kind.OPERATION.value, Kind.MAINTENANCE.value]),
        "component": pd.Categorical([ACTUAL] * n, categories=[ACTUAL]),
        "month": month,
        "amount": amount,
    })


def actuals_figures(plan: Plan, ledger: pd.DataFrame) -> ActualsFigures | None:
    """Plan vs actual of the budget scenario's ``ledger`` rows and the plan's actual rows;
    None when there are none. Raises ValueError when the budget scenario is not one of the
    plan's or a foreign amount has no FX rate (the readers report both at their cells)."""
    if not plan.actuals:
        return None
    st = plan.settings
    if st.budget_scenario not in plan.scenario_names:  # the reader reports it at its cell
        raise ValueError(f"budget_scenario '{st.budget_scenario}' is not a scenario of the "
                         f"plan (known: {', '.join(plan.scenario_names)})")
    horizon = plan.horizon
    n_q = len(horizon)
    actual = actuals_ledger(plan, ledger)
    through = int(actual["month"].max())
    # months of each quarter k through ``through`` (0 to 3)
    counted = np.clip(through - 3 * np.arange(n_q) + 1, 0, 3)

    budget = ledger[ledger["scenario"] == st.budget_scenario]
    planned = (budget.groupby(["quarter", "system", "activity", "kind"], observed=True)
               ["amount"].sum().reset_index())
    k = planned["quarter"].cat.codes.to_numpy().astype(np.int64)
    n = counted[k]
    whole = planned["amount"].to_numpy()
    # the plan of the counted months and of the months after them (a whole quarter exactly)
    planned["through"] = np.where(n == 3, whole, whole * n / 3)
    planned["after"] = np.where(n == 0, whole, whole * (3 - n) / 3)
    planned["k"] = k
    planned["year"] = horizon.first_fiscal_year + k // 4
    actual["k"] = actual["quarter"].cat.codes.to_numpy().astype(np.int64)
    actual["year"] = horizon.first_fiscal_year + actual["month"].to_numpy() // 12

    def by(frame: pd.DataFrame, key: str, column: str = "amount") -> pd.Series:
        return frame.groupby(key, observed=False)[column].sum()

    plan_k = by(planned, "k").reindex(range(n_q), fill_value=0.0)
    plan_through_k = by(planned, "k", "through").reindex(range(n_q), fill_value=0.0)
    actual_k = by(actual, "k").reindex(range(n_q), fill_value=0.0)
    operation_k = by(actual[actual["kind"] == Kind.OPERATION.value], "k").reindex(
        range(n_q), fill_value=0.0)
    actual_m = by(actual, "month").reindex(range(through + 1), fill_value=0.0)

    months = []
    for i in range(through + 1):
        period = horizon.periods[i // 3]
        months.append(MonthActual(i, month_label(plan, i), period.fiscal_year, period.name,
                                  float(plan_k[period.index]) / 3, float(actual_m[i])))
    quarters = []
    for period in horizon.periods[: through // 3 + 1]:
        q = period.index
        total, operation = float(actual_k[q]), float(operation_k[q])
        share, status = band_status(operation, total, st.band_low, st.band_high)
        quarters.append(QuarterActual(q, period.fiscal_year, period.name, int(counted[q]),
                                      float(plan_through_k[q]), total, operation, share, status))

    plan_a = by(planned, "activity", "through")
    actual_a = by(actual, "activity")
    by_activity = {a: Variance(float(plan_a.get(a, 0.0)), float(actual_a.get(a, 0.0)))
                   for a in ACTIVITIES}
    plan_s = by(planned, "system", "through")
    actual_s = by(actual, "system")
    by_system = {str(s): Variance(float(plan_s.get(s, 0.0)), float(actual_s.get(s, 0.0)))
                 for s in actual["system"].cat.categories}

    plan_y = by(planned, "year")
    after_y = by(planned, "year", "after")
    actual_y = by(actual, "year")
    years = []
    for fiscal_year in horizon.fiscal_years:
        to_date = float(actual_y.get(fiscal_year, 0.0))
        years.append(YearForecast(fiscal_year, float(plan_y.get(fiscal_year, 0.0)), to_date,
                                  to_date + float(after_y.get(fiscal_year, 0.0))))
    source = _source_of(plan.actuals[0].location)
    return ActualsFigures(st.budget_scenario, month_label(plan, through), months, quarters,
                          by_activity, by_system, years,
                          over_budget(quarters, plan, source), source)


def over_budget(quarters: list[QuarterActual], plan: Plan, source: str) -> list[Finding]:
    """``over-budget`` (warning) for each quarter whose variance exceeds
    ``variance_threshold`` × its plan; with a plan of 0, any actual spend above 0."""
    st = plan.settings
    out = []
    for q in quarters:
        part = "" if q.complete else f" ({q.months} of its 3 months so far)"
        if q.plan == 0:
            if q.actual > 0:
                out.append(Finding("warning", "over-budget", (
                    f"{q.label}{part}: actual spend {q.actual:,.0f} {st.currency} where the "
                    f"{st.budget_scenario} plan has nothing"), source))
        elif q.variance > st.variance_threshold * q.plan:
            pct = q.variance_pct or 0.0
            out.append(Finding("warning", "over-budget", (
                f"{q.label}{part}: actual spend {q.actual:,.0f} {st.currency} is "
                f"{q.variance:,.0f} ({pct:.1%}) over the {st.budget_scenario} plan of "
                f"{q.plan:,.0f}; the threshold is {st.variance_threshold:.0%}"), source))
    return out


def _source_of(location: str) -> str:
    """The sheet or file of a row's location: ``Actuals!B7`` -> ``Actuals``,
    ``gl.csv line 7`` -> ``gl.csv``."""
    if " line " in location:
        return location.rsplit(" line ", 1)[0]
    return location.rsplit("!", 1)[0] if "!" in location else location

