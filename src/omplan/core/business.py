"""The business case of a scenario against Baseline (spec §8): savings, NPV, payback, bridge.

Pure functions over per-quarter amounts (quarter k = 0 … 4·years − 1 of the horizon) and
per-line FTE and rates; they know nothing of sheets or the ledger's layout, so the engine's
arrays, a test or a Monte Carlo loop can call them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omplan.core.engine import compute_arrays
from omplan.core.ledger import Evaluation
from omplan.core.model import BASELINE, BRIDGE_KEYS, COMPONENT_TABLE, COMPONENTS, Plan
from omplan.core.sums import LedgerSums

__all__ = ["BRIDGE_KEYS", "BusinessCase", "Candidate", "HorizonFigures", "LineArrays",
           "bridge_parts", "business_case", "discount_factors", "horizon_figures",
           "first_change_quarter", "labour_bridge", "line_arrays", "npv", "payback",
           "payback_from_change", "recommend"]

#: A cumulative saving within half a cent of zero counts as zero (payback).
CENT_TOLERANCE = 0.005


def discount_factors(n_quarters: int, discount_rate: float) -> np.ndarray:
    """End-of-quarter factors 1 / (1 + r)^((k + 1) / 4) for k = 0 … n − 1."""
    k = np.arange(n_quarters, dtype=float)
    return 1.0 / (1.0 + discount_rate) ** ((k + 1.0) / 4.0)


def npv(amounts: Sequence[float] | np.ndarray, discount_rate: float) -> float:
    """Σ_k amount_k / (1 + r)^((k + 1) / 4): money at the end of each quarter, discounted."""
    values = np.asarray(amounts, dtype=float)
    return float(values @ discount_factors(len(values), discount_rate))


def payback(savings: Sequence[float] | np.ndarray) -> tuple[int | None, int | None]:
    """(payback months, payback quarter index k) of quarterly savings.

    0 months (and no quarter) when the cumulative saving is never below zero; None (and no
    quarter) when it ends below zero; else 3 × (k + 1) for the earliest k from which the
    cumulative saving stays at or above zero. Amounts within half a cent of zero are zero.
    """
    cumulative = np.cumsum(np.asarray(savings, dtype=float))
    below = cumulative < -CENT_TOLERANCE
    if not below.any():
        return 0, None
    if below[-1]:
        return None, None
    k = int(np.flatnonzero(below)[-1]) + 1
    return 3 * (k + 1), k


def payback_from_change(payback_months: int | None, first_change: int) -> int | None:
    """Payback counted from the decision rather than from the plan's start: None when the
    scenario never pays back, else max(0, payback months − 3 × ``first_change``), the
    quarter index from which the first of the scenario's changes applies (spec §8, v3)."""
    if payback_months is None:
        return None
    return max(0, payback_months - 3 * first_change)


def first_change_quarter(plan: Plan, scenario: str) -> int:
    """The earliest quarter index k from which any of ``scenario``'s Scenarios rows applies
    (0 when a row has no From; 0 for a name without rows, such as Baseline)."""
    return min((c.start for c in plan.scenario_changes if c.scenario == scenario), default=0)


def labour_bridge(base_fte: np.ndarray, base_rate: np.ndarray, fte: np.ndarray,
                  rate: np.ndarray) -> tuple[float, float]:
    """(fte, rate) parts of scenario labour − Baseline labour, summed over lines and quarters.

    All arrays are (lines, quarters): FTE and the effective monthly rate of each line in each
    quarter, Baseline and scenario. Where the scenario line is staffed, the volume part is
    (FTE_s − FTE_b) × 3 × rate_s and the price part FTE_b × 3 × (rate_s − rate_b) when the
    Baseline line is staffed too; where it is not, the volume part is −FTE_b × 3 × rate_b.
    The two add up to the labour difference exactly (up to float rounding).
    """
    staffed = fte > 0
    both = staffed & (base_fte > 0)
    volume = np.where(staffed, (fte - base_fte) * 3.0 * rate, -base_fte * 3.0 * base_rate)
    price = np.where(both, base_fte * 3.0 * (rate - base_rate), 0.0)
    return float(volume.sum()), float(price.sum())


@dataclass(frozen=True, slots=True)
class BusinessCase:
    """One scenario against Baseline over the horizon."""

    savings: float
    npv_savings: float
    one_off: float
    run_rate_savings: float
    payback_months: int | None
    payback_quarter: int | None
    cumulative_savings: tuple[float, ...]
    bridge: dict[str, float]
    #: the quarter index k0 from which the scenario's first change applies
    first_change: int = 0
    #: payback counted from quarter ``first_change`` (None: never pays back)
    payback_from_change_months: int | None = None


def business_case(base_total: np.ndarray, total: np.ndarray, transition: np.ndarray,
                  discount_rate: float, bridge: dict[str, float],
                  first_change: int = 0) -> BusinessCase:
    """The business case from per-quarter totals of Baseline and the scenario and the
    scenario's per-quarter transition; ``bridge`` as :func:`bridge_parts` gives it;
    ``first_change`` the quarter index from which the scenario's first change applies."""
    base_total = np.asarray(base_total, dtype=float)
    total = np.asarray(total, dtype=float)
    transition = np.asarray(transition, dtype=float)
    savings = base_total - total
    months, quarter = payback(savings)
    last_year = slice(len(savings) - 4, len(savings))
    run_rate = float((base_total[last_year] - (total[last_year] - transition[last_year])).sum())
    return BusinessCase(
        savings=float(savings.sum()),
        npv_savings=npv(savings, discount_rate),
        one_off=float(transition.sum()),
        run_rate_savings=run_rate,
        payback_months=months,
        payback_quarter=quarter,
        cumulative_savings=tuple(float(s) for s in np.cumsum(savings)),
        bridge=dict(bridge),
        first_change=first_change,
        payback_from_change_months=payback_from_change(months, first_change),
    )


def bridge_parts(labour_parts: tuple[float, float], base_components: dict[str, float],
                 components: dict[str, float]) -> dict[str, float]:
    """The bridge (keys of :data:`BRIDGE_KEYS`): the labour difference split into volume and
    price (``labour_parts``), every other component's difference."""
    out: dict[str, float] = {}
    for component in COMPONENT_TABLE:
        keys = [key for key, _ in component.bridge]
        if component.name == "labour":
            out.update(zip(keys, labour_parts, strict=True))
        else:
            (key,) = keys
            out[key] = (components.get(component.name, 0.0)
                        - base_components.get(component.name, 0.0))
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the recommendation weighs of a scenario."""

    name: str
    npv_cost: float
    out_of_band_years: tuple[int, ...] = ()
    pmo_outsourced: bool = False


def recommend(candidates: Sequence[Candidate], currency: str = ""
              ) -> tuple[str | None, dict[str, str]]:
    """(the recommended scenario or None, why each other one is not).

    Recommended: the lowest NPV of cost among the scenarios that are within the band in every
    fiscal year and keep the PMO in-house; the earlier one on a tie (within half a cent).
    """
    eligible = [c for c in candidates if not c.out_of_band_years and not c.pmo_outsourced]
    best: Candidate | None = None
    for c in eligible:
        if best is None or c.npv_cost < best.npv_cost - CENT_TOLERANCE:
            best = c
    reasons: dict[str, str] = {}
    money = f"{currency} " if currency else ""
    for c in candidates:
        if best is not None and c.name == best.name:
            continue
        why = []
        if c.out_of_band_years:
            years = ", ".join(f"FY{y}" for y in c.out_of_band_years)
            why.append(f"out of band in {years}")
        if c.pmo_outsourced:
            why.append("PMO outsourced (keep it in-house)")
        if not why and best is not None:
            more = c.npv_cost - best.npv_cost
            why.append(f"costs {money}{more:,.0f} more in NPV than {best.name}"
                       if more > CENT_TOLERANCE else f"ties with {best.name}, which comes first")
        reasons[c.name] = "; ".join(why)
    return (best.name if best is not None else None), reasons


@dataclass(frozen=True, slots=True)
class LineArrays:
    """Every scenario's Staffing lines stacked (scenario s, line i at s·n + i), per quarter:
    FTE and the effective monthly rate (0 where the line has no rate)."""

    n_lines: int
    fte: np.ndarray  # (scenarios · n, quarters)
    rate: np.ndarray  # (scenarios · n, quarters)

    def of(self, scenario: int) -> tuple[np.ndarray, np.ndarray]:
        rows = slice(scenario * self.n_lines, (scenario + 1) * self.n_lines)
        return self.fte[rows], self.rate[rows]


def line_arrays(evaluation: Evaluation) -> LineArrays:
    """FTE and effective rates of every scenario's lines, exactly as the engine priced them
    (its arrays, recomputed only for an evaluation that does not carry them)."""
    arrays = evaluation.arrays or compute_arrays(evaluation.plan)
    fte = np.asarray(arrays.lines.fte, dtype=float)
    rate = np.asarray(arrays.line_rate, dtype=float)  # per period: escalation and FX included
    return LineArrays(len(evaluation.plan.staffing), fte, rate)


@dataclass(frozen=True, slots=True)
class HorizonFigures:
    """Per scenario over the horizon: totals, transition and FTE per quarter, NPV of cost,
    and the business case against Baseline (None for Baseline itself)."""

    totals: dict[str, np.ndarray]
    transition: dict[str, np.ndarray]
    fte: dict[str, np.ndarray]
    npv_cost: dict[str, float]
    cases: dict[str, BusinessCase | None]


def horizon_figures(evaluation: Evaluation, sums: LedgerSums | None = None) -> HorizonFigures:
    """Group-bys of the ledger per scenario and quarter (``sums``: its group sums, computed
    if not given), and every scenario's business case."""
    plan = evaluation.plan
    rate = plan.settings.discount_rate
    names = evaluation.scenarios
    sums = sums if sums is not None else LedgerSums(evaluation.ledger)
    # the whole ledger's group-bys by scenario, as ``sum_by`` gives them
    per_q = sums.by(["quarter", "kind"]).whole
    per_q = per_q[:, :, 0] + per_q[:, :, 1]  # operation + maintenance
    trans = sums.by(["quarter"], "transition").whole
    comps = sums.by(["component"]).whole
    lines = line_arrays(evaluation)
    totals = {n: per_q[k] for k, n in enumerate(names)}
    transition = {n: trans[k] for k, n in enumerate(names)}
    fte = {n: lines.of(k)[0].sum(axis=0) for k, n in enumerate(names)}
    npv_cost = {n: npv(totals[n], rate) for n in names}
    base_fte, base_rate = lines.of(0)
    base_comp = _components(comps, 0)
    cases: dict[str, BusinessCase | None] = {BASELINE: None}
    for k, name in enumerate(names[1:], start=1):
        s_fte, s_rate = lines.of(k)
        scen_comp = _components(comps, k)
        volume, _ = labour_bridge(base_fte, base_rate, s_fte, s_rate)
        # the price part closes the labour difference of the ledger, so that the bridge adds
        # up to the difference of totals exactly; it equals the line formula up to rounding
        price = (scen_comp["labour"] - base_comp["labour"]) - volume
        parts = bridge_parts((volume, price), base_comp, scen_comp)
        cases[name] = business_case(totals[BASELINE], totals[name], transition[name], rate,
                                    parts, first_change_quarter(plan, name))
    return HorizonFigures(totals, transition, fte, npv_cost, cases)


def _components(per_scenario: np.ndarray, k: int) -> dict[str, float]:
    return {c: float(per_scenario[k, j]) for j, c in enumerate(COMPONENTS)}
