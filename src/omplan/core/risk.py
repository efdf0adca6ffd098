"""Uncertainty over the Risks sheet's drivers: a Monte Carlo over every scenario with common
random numbers, and a deterministic tornado.

The engine runs once, on the plan as entered (:func:`risk_model`). Every driver scales amounts
that the engine has already computed per (ledger key, period) row, and all rows of one key share
the driver values that touch them (one sourcing, vendor, system, Rates currency and year), so a
draw is a multiplier per *unit* (those five things) on per-unit sums prepared once. A block of
draws is then a few sparse products and elementwise array operations with the draws on the last
axis; nothing loops over draws in Python.

What a draw cannot change, it does not recompute: factors > 0 on rates, FTE and FX keep every
positive labour positive, so the parties, the split contracts, the PMO check and the systems
whose pro-rata roles fall back to the plan-wide mix are those of the plan as entered. What it
does change is recomputed exactly, including the activity split of pro-rata roles (the labour
mix of their system and quarter, a ratio of sums that depends on the draw).

Reproducible: random numbers are drawn per chunk of :data:`CHUNK_DRAWS` draws from
``SeedSequence(risk_seed, spawn_key=(chunk, driver))``, whatever block size evaluates them;
every sum over rows is a sequential sparse product (no BLAS over the draw axis), so a draw's
figures do not depend on the block it is evaluated in, the process, or the machine's core count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from omplan.core.business import CENT_TOLERANCE, discount_factors
from omplan.core.findings import Finding
from omplan.core.ledger import BAND_EDGE_TOLERANCE, Evaluation
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    ALL_TARGETS,
    BASELINE,
    ESCALATION_DRIVER,
    FTE_DRIVER,
    FX_DRIVER,
    OTHER_COSTS,
    OTHER_COSTS_DRIVER,
    PERT,
    RATE_DRIVER,
    SOURCINGS,
    TRANSITION_DRIVER,
    TRIANGULAR,
    UNIFORM,
    VENDOR_OVERHEAD_DRIVER,
    Kind,
    Plan,
    RiskDriver,
)

__all__ = [
    "CHUNK_DRAWS", "MEASURES", "DrawResults", "RiskFigures", "RiskModel", "ScenarioRisk", "Stats",
    "TornadoEntry", "draw_values", "evaluate_points", "risk_figures", "risk_model",
    "run_risk", "simulate", "simulate_chunks", "summarise", "task_ranges", "tornado",
]

#: Draws per chunk of random numbers: chunk c's numbers come from its own seed, so any block
#: size, process count or cluster gives the same draws.
CHUNK_DRAWS = 1024
#: Floats of the largest per-block array (rows × draws): bounds a block's memory (~64 MB).
BLOCK_ELEMENTS = 8_000_000
#: What :meth:`RiskFigures.lookup` (and a custom function) can ask for.
MEASURES = ("npv_cost", "total", "npv_savings", "payback_months", "p_savings",
            "p_within_band", "p_recommended")
#: Percentiles kept for the distribution chart (0 %, 1 %, …, 100 %).
CURVE_PERCENTILES = tuple(range(101))


# --------------------------------------------------------------------------- the engine's rows


@dataclass(frozen=True)
class EngineRows:
    """What the risk model reads of the engine: one entry per (ledger key, period) row.

    The one place that knows the engine's internals is :func:`engine_rows`.
    """

    names: list[str]
    systems: list[str]
    roles: list[str]
    vendor_names: list[str]  # the names the ``vendor`` codes index ('' in-house)
    scenario: np.ndarray
    system: np.ndarray
    period: np.ndarray
    role: np.ndarray
    sourcing: np.ndarray
    vendor: np.ndarray
    labour: np.ndarray  # L per row, before the activity split
    transition: np.ndarray  # T per row
    #: system-period ids ((scenario * n_systems + system) * n_periods + k) with a split contract
    split_ssq: np.ndarray
    #: (costs, periods): every Costs row per period, escalated and converted
    other_costs: np.ndarray
    #: per scenario: a PMO-level role is outsourced (pmo-outsourced finding)
    pmo_outsourced: list[bool]
    errors: list[Finding]


def engine_rows(plan: Plan, evaluation: Evaluation | None = None) -> EngineRows:
    """The adapter: the engine's per-row arrays of ``plan`` as entered (``evaluation``: one
    already computed for this plan). Every access to engine internals is here."""
    if evaluation is None or evaluation.arrays is None:
        from omplan.core.engine import evaluate

        evaluation = evaluate(plan)
    a = evaluation.arrays
    if a is None or evaluation.errors:
        empty = np.zeros(0, dtype=np.int64)
        return EngineRows(
            names=[], systems=[], roles=[], vendor_names=[], scenario=empty, system=empty,
            period=empty, role=empty, sourcing=empty, vendor=empty, labour=np.zeros(0),
            transition=np.zeros(0), split_ssq=empty, other_costs=np.zeros((0, 0)),
            pmo_outsourced=[], errors=list(evaluation.errors) or [
                Finding("error", "no-figures", "the plan has no figures")])
    pmo = [any(f.code == "pmo-outsourced" for f in evaluation.scenario_findings.get(n, []))
           for n in a.names]

    def codes(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.int64)

    return EngineRows(
        names=list(a.names), systems=list(a.systems), roles=list(a.roles),
        vendor_names=list(a.vendors), scenario=codes(a.scenario), system=codes(a.system),
        period=codes(a.quarter), role=codes(a.role), sourcing=codes(a.sourcing),
        vendor=codes(a.vendor), labour=np.asarray(a.labour, dtype=float),
        transition=np.asarray(a.transition, dtype=float),
        split_ssq=codes(a.parties.split_ssq),
        other_costs=np.asarray(a.other_costs, dtype=float).reshape(len(plan.costs),
                                                                   a.n_periods),
        pmo_outsourced=pmo, errors=[])


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Units:
    """Groups of rows that every driver value touches alike, with what drivers match on."""

    sourcing: np.ndarray  # int, index into SOURCINGS (-1: a Costs unit)
    vendor: list[str]  # resolved vendor name, casefolded ('' in-house / costs)
    system: list[str]  # casefolded
    currency: list[str]  # foreign currency of the amounts ('' = the plan's)
    year: np.ndarray  # year index y
    growth: np.ndarray  # (1 + e)^y of the plan as entered


@dataclass(frozen=True)
class RiskModel:
    """Everything a draw needs, computed once from the plan as entered; plain arrays and
    scipy matrices, so it pickles to worker processes and Dask workers."""

    names: tuple[str, ...]
    drivers: tuple[RiskDriver, ...]
    n_periods: int
    fiscal_years: tuple[int, ...]
    discount: np.ndarray  # (K,) end-of-quarter discount factors
    band_low: float
    band_high: float
    vendor_overhead: float
    coordination_overhead: float
    pmo_outsourced: np.ndarray  # (S,) bool
    labour_units: _Units
    cost_units: _Units
    #: (8 * n_sq, n_units): per scenario-period, sums over rows of L, L·ext, T and, over rows
    #: of roles with shares, L·op, L·ext·op, T·op, L and L·op (op: the role's operation share)
    linear: sp.csr_matrix
    #: the system-periods with a split contract or pro-rata rows (nonlinear groups), in
    #: three runs: split only (n_split_only), split and pro rata (n_both), pro rata only.
    #: Rows: over every group L and L·op of roles with shares; over split groups L·ext and
    #: L·ext·op of roles with shares; over groups with pro-rata rows their L, L·ext and T
    nonlinear: sp.csr_matrix
    n_split_only: int
    n_both: int
    nl_sum_split: sp.csr_matrix  # (n_sq, split groups) ones: into their scenario-period
    nl_sum_pro: sp.csr_matrix  # (n_sq, pro-rata groups) ones
    nl_sq: np.ndarray  # (pro-rata groups,) scenario-period of each
    nl_fallback: np.ndarray  # (pro-rata groups,) bool: no labour with shares: plan-wide mix
    costs: sp.csr_matrix  # (2 * K, n_cost_units): total and operation per period
    #: per driver: (labour unit indices, cost unit indices) it applies to
    matches: tuple[tuple[np.ndarray, np.ndarray], ...] = field(default=())

    @property
    def n_scenarios(self) -> int:
        return len(self.names)

    @property
    def rows_per_draw(self) -> int:
        """Rows of the largest per-block array, for sizing blocks."""
        return max(self.linear.shape[0], self.nonlinear.shape[0], 1)


def _growth(rate: float, years: np.ndarray) -> np.ndarray:
    """(1 + rate)^y by repeated multiplication (the same bits on every machine)."""
    top = int(years.max(initial=0))
    powers = np.ones(top + 1)
    for y in range(1, top + 1):
        powers[y] = powers[y - 1] * (1.0 + rate)
    return powers[years]


def risk_model(plan: Plan, evaluation: Evaluation | None = None) -> RiskModel:
    """The risk model of ``plan`` (its ``risks`` drivers) from one run of the engine.

    Raises ValueError when the plan has errors (no figures to vary)."""
    rows = engine_rows(plan, evaluation)
    if rows.errors:
        raise ValueError("the plan has errors: " + "; ".join(f.message for f in rows.errors))
    st = plan.settings
    n_k = len(plan.horizon)
    names = rows.names
    n_s, n_sys = len(names), len(rows.systems)

    # per role: operation share and pro rata, as the engine splits (shares normalised)
    op_share = np.zeros(len(rows.roles))
    pro_role = np.zeros(len(rows.roles), dtype=bool)
    for i, role in enumerate(rows.roles):
        alloc = plan.allocation.get(role)
        if alloc is None or alloc.shares is None:
            pro_role[i] = True
            continue
        shares = np.array([alloc.shares.get(a, 0.0) for a in ACTIVITIES])
        shares /= shares.sum()
        op_share[i] = shares[:4].sum()
    assert all(ACTIVITY_KIND[a] == Kind.OPERATION for a in ACTIVITIES[:4])

    labour_units, unit_of_row = _labour_units(plan, rows)
    n_units = len(labour_units.year)

    # per-row weights
    L, T = rows.labour, rows.transition
    ext = (rows.sourcing != 0).astype(float)
    pro = pro_role[rows.role]
    shares = (~pro).astype(float)
    op = op_share[rows.role] * shares
    ssq = (rows.scenario * n_sys + rows.system) * n_k + rows.period
    sq = rows.scenario * n_k + rows.period
    n_sq = n_s * n_k
    linear = _sum_matrix(sq, unit_of_row, n_sq, n_units, [
        L, L * ext, T, L * op, L * ext * op, T * op, L * shares, L * op])

    # system-periods whose figures are not linear in the units, in three runs: a split
    # contract only, a split contract and pro-rata rows, pro-rata rows only
    split = np.zeros(n_s * n_sys * n_k, dtype=bool)
    split[rows.split_ssq] = True
    has_pro = np.zeros_like(split)
    has_pro[ssq[pro]] = True
    runs = [np.flatnonzero(split & ~has_pro), np.flatnonzero(split & has_pro),
            np.flatnonzero(has_pro & ~split)]
    nl_ids = np.concatenate(runs)
    n1, n2 = len(runs[0]), len(runs[1])
    nl_index = np.full(len(split), -1, dtype=np.int64)
    nl_index[nl_ids] = np.arange(len(nl_ids))
    g_all = nl_index[ssq]
    proa = pro.astype(float)

    def block(first: int, last: int, weights: list[np.ndarray]) -> sp.csr_matrix:
        """The sums of ``weights`` over the rows of nonlinear groups first … last − 1."""
        rows_in = np.flatnonzero((g_all >= first) & (g_all < last))
        return _sum_matrix(g_all[rows_in] - first, unit_of_row[rows_in], last - first,
                           n_units, [w[rows_in] for w in weights])

    n_nl = len(nl_ids)
    nonlinear = sp.vstack([
        block(0, n_nl, [L * shares, L * op]),  # every group: the mix of roles with shares
        block(0, n1 + n2, [L * ext * shares, L * ext * op]),  # split: external, by kind
        block(n1, n_nl, [L * proa, L * ext * proa, T * proa]),  # pro rata: L, ext L, T
    ], format="csr")
    nonlinear.sort_indices()
    np_labour = np.bincount(ssq, weights=L * shares, minlength=len(split))
    nl_sq = (nl_ids // (n_sys * n_k)) * n_k + nl_ids % n_k
    nl_sum = sp.csr_matrix((np.ones(n_nl), (nl_sq, np.arange(n_nl))), shape=(n_sq, n_nl))
    nl_sum_split = nl_sum[:, :n1 + n2].tocsr()
    nl_sum_pro = nl_sum[:, n1:].tocsr()
    for m in (nl_sum_split, nl_sum_pro):
        m.sort_indices()

    # the Costs rows as units (the same in every scenario)
    cost_units, costs = _cost_units(plan, rows, n_k)

    model = RiskModel(
        names=tuple(names), drivers=tuple(plan.risks), n_periods=n_k,
        fiscal_years=tuple(plan.horizon.fiscal_years),
        discount=discount_factors(n_k, st.discount_rate), band_low=st.band_low,
        band_high=st.band_high, vendor_overhead=st.vendor_overhead,
        coordination_overhead=st.coordination_overhead,
        pmo_outsourced=np.array(rows.pmo_outsourced, dtype=bool), labour_units=labour_units,
        cost_units=cost_units, linear=linear, nonlinear=nonlinear, n_split_only=n1,
        n_both=n2, nl_sum_split=nl_sum_split, nl_sum_pro=nl_sum_pro, nl_sq=nl_sq[n1:],
        nl_fallback=np_labour[nl_ids[n1:]] == 0, costs=costs)
    return replace(model, matches=tuple(_matches(d, labour_units, cost_units)
                                        for d in model.drivers))


def _classes(names: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """Per name: the index of the target it is (ignoring case), or -1."""
    folded = [t.casefold() for t in targets]
    return np.array([folded.index(n.casefold()) if n.casefold() in folded else -1
                     for n in names], dtype=np.int64)


def _labour_units(plan: Plan, rows: EngineRows) -> tuple[_Units, np.ndarray]:
    """The labour units and the unit of every row.

    A unit keeps only the distinctions some driver makes: its sourcing; the vendor, system or
    currency a Rate, FTE or FX row names (else one class for the rest); and, where an
    Escalation row redraws the sourcing's rate, the year and the rate entered for it."""
    drivers = plan.risks
    st = plan.settings

    def named(kind: str) -> list[str]:
        return [d.applies_to for d in drivers
                if d.driver == kind and d.applies_to not in (ALL_TARGETS, *SOURCINGS)]

    vendors, systems, currencies = named(RATE_DRIVER), named(FTE_DRIVER), named(FX_DRIVER)
    escalated = [SOURCINGS.index(d.applies_to) for d in drivers
                 if d.driver == ESCALATION_DRIVER and d.applies_to in SOURCINGS]
    n_src, n_vend = len(SOURCINGS), len(rows.vendor_names)
    # per (sourcing, vendor code): the escalation rate entered, and its class
    entered = np.array([[plan.escalation_rate(s, v if i else "") for v in rows.vendor_names]
                        for i, s in enumerate(SOURCINGS)]).reshape(n_src, n_vend)
    rates, rate_class = np.unique(entered, return_inverse=True)
    rate_class = rate_class.reshape(n_src, n_vend)
    # per (role, sourcing): the class of the Rates row's currency
    role_index = {r: i for i, r in enumerate(rows.roles)}
    currency_class = np.full((len(rows.roles), n_src), -1, dtype=np.int64)
    for (role, sourcing), rate in plan.rates.items():
        if role in role_index and rate.currency and rate.currency != st.currency \
                and rate.currency in currencies:
            currency_class[role_index[role], SOURCINGS.index(sourcing)] = \
                currencies.index(rate.currency)
    is_escalated = np.isin(rows.sourcing, escalated)
    v_class = _classes(rows.vendor_names, vendors)[rows.vendor]
    s_class = _classes(rows.systems, systems)[rows.system]
    c_class = currency_class[rows.role, rows.sourcing]
    e_class = np.where(is_escalated, rate_class[rows.sourcing, rows.vendor], 0)
    year = np.where(is_escalated, rows.period // 4, 0)
    radices = (n_src, len(vendors) + 1, len(systems) + 1, len(currencies) + 1, len(rates),
               plan.horizon.years)
    key = np.ravel_multi_index((rows.sourcing, v_class + 1, s_class + 1, c_class + 1, e_class,
                                year), radices)
    keys, unit_of_row = np.unique(key, return_inverse=True)
    u_src, u_v, u_s, u_c, u_e, u_y = np.unravel_index(keys, radices)
    growth = np.array([_growth(float(rates[e]), np.array([y]))[0]
                       for e, y in zip(u_e.tolist(), u_y.tolist(), strict=True)])
    units = _Units(np.asarray(u_src, dtype=np.int64),
                   ["" if v == 0 else vendors[v - 1].casefold() for v in u_v.tolist()],
                   ["" if s == 0 else systems[s - 1].casefold() for s in u_s.tolist()],
                   ["" if c == 0 else currencies[c - 1] for c in u_c.tolist()],
                   np.asarray(u_y, dtype=np.int64), growth)
    return units, unit_of_row.reshape(-1)


def _sum_matrix(group: np.ndarray, unit: np.ndarray, n_groups: int, n_units: int,
                weights: Sequence[np.ndarray]) -> sp.csr_matrix:
    """(len(weights) * n_groups, n_units): entry (q * n_groups + g, u) is the sum of
    ``weights[q]`` over the rows of group g and unit u, added in row order (bincount)."""
    n_q = len(weights)
    cell = group * n_units + unit
    cells, inverse = np.unique(cell, return_inverse=True)
    data = np.stack([np.bincount(inverse, weights=w, minlength=len(cells)) for w in weights])
    g, u = np.divmod(cells, n_units)
    row = (np.arange(n_q)[:, None] * n_groups + g[None, :]).ravel()
    col = np.tile(u, n_q)
    matrix = sp.csr_matrix((data.ravel(), (row, col)), shape=(n_q * n_groups, n_units))
    matrix.sort_indices()
    return matrix


def _cost_units(plan: Plan, rows: EngineRows, n_k: int) -> tuple[_Units, sp.csr_matrix]:
    """The Costs rows as units and the (2K, units) matrix of their total and operation
    amounts per period. A unit keeps the system an Other costs row names, the currency an FX
    row names and, where an Escalation row redraws other costs, the year."""
    drivers = plan.risks
    systems = {d.applies_to.casefold() for d in drivers
               if d.driver == OTHER_COSTS_DRIVER and d.applies_to != ALL_TARGETS}
    currencies = {d.applies_to for d in drivers if d.driver == FX_DRIVER}
    by_year = any(d.driver == ESCALATION_DRIVER and d.applies_to == OTHER_COSTS
                  for d in drivers)
    amounts = rows.other_costs
    keys: dict[tuple[str, str, int], int] = {}
    entries: list[tuple[int, int, float, bool]] = []
    for i, cost in enumerate(plan.costs):
        system = cost.system.casefold() if cost.system.casefold() in systems else ""
        currency = cost.currency if cost.currency in currencies else ""
        is_op = ACTIVITY_KIND[cost.activity] == Kind.OPERATION
        for k in np.flatnonzero(amounts[i]).tolist():
            u = keys.setdefault((system, currency, k // 4 if by_year else 0), len(keys))
            entries.append((k, u, float(amounts[i, k]), is_op))
    n_u = len(keys)
    total: dict[tuple[int, int], float] = {}
    operation: dict[tuple[int, int], float] = {}
    for k, u, amount, is_op in entries:  # in Costs row order
        total[(k, u)] = total.get((k, u), 0.0) + amount
        if is_op:
            operation[(k, u)] = operation.get((k, u), 0.0) + amount
    cells = [(k, u, v) for (k, u), v in total.items()] + \
        [(n_k + k, u, v) for (k, u), v in operation.items()]
    r, c, v = (np.array(x) for x in zip(*cells, strict=True)) if cells else \
        (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    matrix = sp.csr_matrix((v, (r, c)), shape=(2 * n_k, n_u))
    matrix.sort_indices()
    e = plan.escalation_rate(OTHER_COSTS)
    u_year = np.array([y for _, _, y in keys], dtype=np.int64)
    units = _Units(np.full(n_u, -1), [""] * n_u, [s for s, _, _ in keys],
                   [c for _, c, _ in keys], u_year, _growth(e, u_year))
    return units, matrix


def _matches(driver: RiskDriver, labour: _Units, cost: _Units) -> tuple[np.ndarray, np.ndarray]:
    """The labour and cost units a driver applies to."""
    target = driver.applies_to
    folded = target.casefold()
    n_l, n_c = len(labour.year), len(cost.year)
    every = target == ALL_TARGETS
    lab = np.zeros(n_l, dtype=bool)
    cst = np.zeros(n_c, dtype=bool)
    if driver.driver == RATE_DRIVER:
        if every:
            lab[:] = True
        elif target in SOURCINGS:
            lab = labour.sourcing == SOURCINGS.index(target)
        else:
            lab = np.array([v == folded for v in labour.vendor], dtype=bool)
    elif driver.driver == FTE_DRIVER:
        lab = np.array([every or s == folded for s in labour.system], dtype=bool)
    elif driver.driver == FX_DRIVER:
        lab = np.array([c == target for c in labour.currency], dtype=bool)
        cst = np.array([c == target for c in cost.currency], dtype=bool)
    elif driver.driver == OTHER_COSTS_DRIVER:
        cst = np.array([every or s == folded for s in cost.system], dtype=bool)
    elif driver.driver == ESCALATION_DRIVER:
        if target == OTHER_COSTS:
            cst[:] = True
        else:
            lab = labour.sourcing == SOURCINGS.index(target)
    return np.flatnonzero(lab), np.flatnonzero(cst)


# --------------------------------------------------------------------------- draws


def _sample(driver: RiskDriver, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` values of a driver from its distribution with a = Low, m = Likely, b = High."""
    a, m, b = driver.low, driver.likely, driver.high
    if a == b:
        return np.full(n, a)
    if driver.distribution == UNIFORM:
        return rng.uniform(a, b, n)
    if driver.distribution == TRIANGULAR:
        return rng.triangular(a, m, b, n)
    assert driver.distribution == PERT
    alpha = 1.0 + 4.0 * (m - a) / (b - a)
    beta = 1.0 + 4.0 * (b - m) / (b - a)
    return a + (b - a) * rng.beta(alpha, beta, n)


def _chunk_values(drivers: Sequence[RiskDriver], seed: int, chunk: int) -> np.ndarray:
    """(drivers, CHUNK_DRAWS): the values of chunk ``chunk``, each driver from its own stream
    ``SeedSequence(seed, spawn_key=(chunk, driver))``."""
    out = np.empty((len(drivers), CHUNK_DRAWS))
    for i, driver in enumerate(drivers):
        rng = np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(seed, spawn_key=(chunk, i))))
        out[i] = _sample(driver, rng, CHUNK_DRAWS)
    return out


def draw_values(drivers: Sequence[RiskDriver], seed: int, start: int, stop: int) -> np.ndarray:
    """(drivers, stop − start): the driver values of draws ``start`` … ``stop − 1``."""
    parts = []
    first, last = start // CHUNK_DRAWS, (stop - 1) // CHUNK_DRAWS if stop > start else -1
    for chunk in range(first, last + 1):
        values = _chunk_values(drivers, seed, chunk)
        lo = max(start - chunk * CHUNK_DRAWS, 0)
        hi = min(stop - chunk * CHUNK_DRAWS, CHUNK_DRAWS)
        parts.append(values[:, lo:hi])
    if not parts:
        return np.zeros((len(drivers), 0))
    return np.concatenate(parts, axis=1)


# --------------------------------------------------------------------------- evaluation


@dataclass
class DrawResults:
    """Per scenario (rows, Baseline first) and draw (columns): the figures of each draw."""

    npv_cost: np.ndarray  # (S, D)
    total: np.ndarray  # (S, D)
    npv_savings: np.ndarray  # (S, D); Baseline's row is 0
    payback_months: np.ndarray  # (S, D); +inf = never; Baseline's row is 0
    within_band: np.ndarray  # (S, D) bool: within the band in every fiscal year
    recommended: np.ndarray  # (D,) index of the recommended scenario, -1 none

    @property
    def draws(self) -> int:
        return int(self.recommended.shape[0])

    @staticmethod
    def concat(parts: Sequence[DrawResults]) -> DrawResults:
        """The parts' draws one after the other (in the order given)."""
        return DrawResults(*(np.concatenate([getattr(p, f) for p in parts], axis=-1)
                             for f in ("npv_cost", "total", "npv_savings", "payback_months",
                                       "within_band", "recommended")))


def _factors(model: RiskModel, values: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per block: labour unit multipliers (units, D), cost unit multipliers (units, D), the
    transition factor (D,) and the vendor overhead (D,). NaN values mean "as entered"."""
    d = values.shape[1]
    lab = np.ones((len(model.labour_units.year), d))
    cst = np.ones((len(model.cost_units.year), d))
    transition = np.ones(d)
    overhead = np.full(d, model.vendor_overhead)
    for i, driver in enumerate(model.drivers):
        x = values[i]
        entered = np.isnan(x)
        if entered.all():
            continue
        kind = driver.driver
        if kind == TRANSITION_DRIVER:
            transition = np.where(entered, transition, x)
            continue
        if kind == VENDOR_OVERHEAD_DRIVER:
            overhead = np.where(entered, overhead, x)
            continue
        l_idx, c_idx = model.matches[i]
        for units, idx, out in ((model.labour_units, l_idx, lab),
                                (model.cost_units, c_idx, cst)):
            if not len(idx):
                continue
            if kind == ESCALATION_DRIVER:
                factor = _escalation_factor(x, units.year[idx], units.growth[idx])
            else:
                factor = np.broadcast_to(x, (len(idx), d))
            out[idx] *= np.where(entered, 1.0, factor)
    return lab, cst, transition, overhead


def _escalation_factor(x: np.ndarray, years: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """(units, D): (1 + x)^y / (1 + e)^y, the escalation drawn over the one entered."""
    top = int(years.max(initial=0))
    powers = np.ones((top + 1, len(x)))
    for y in range(1, top + 1):
        powers[y] = powers[y - 1] * (1.0 + np.nan_to_num(x))
    return powers[years] / growth[:, None]


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _evaluate_block(model: RiskModel, values: np.ndarray) -> DrawResults:
    """The figures of a block of draws (values: (drivers, D))."""
    d = values.shape[1]
    n_s, n_k = model.n_scenarios, model.n_periods
    n_sq = n_s * n_k
    lab, cst, tf, vo = _factors(model, values)

    lin = (model.linear @ lab).reshape(8, n_sq, d)
    l_all, l_ext, t_all, l_op, l_ext_op, t_op, np_l, np_l_op = lin
    total = l_all + vo * l_ext + tf * t_all
    operation = l_op + vo * l_ext_op + tf * t_op
    if model.nonlinear.shape[0]:
        total, operation = _nonlinear(model, lab, vo, tf, np_l, np_l_op, total, operation)
    if model.costs.shape[1]:
        cost = (model.costs @ cst).reshape(2, n_k, d)
        total = (total.reshape(n_s, n_k, d) + cost[0]).reshape(n_sq, d)
        operation = (operation.reshape(n_s, n_k, d) + cost[1]).reshape(n_sq, d)
    return _scenario_figures(model, total.reshape(n_s, n_k, d), operation.reshape(n_s, n_k, d))


def _nonlinear(model: RiskModel, lab: np.ndarray, vo: np.ndarray, tf: np.ndarray,
               np_l: np.ndarray, np_l_op: np.ndarray, total: np.ndarray,
               operation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add what is not linear in the units: the operation share of pro-rata roles (the labour
    mix of their system and quarter, else of the plan) and coordination with its split."""
    n1, n2 = model.n_split_only, model.n_both
    n_pro = model.nl_sum_pro.shape[1]
    n_nl, n_split = n1 + n_pro, n1 + n2
    nl = model.nonlinear @ lab
    cuts = np.cumsum([n_nl, n_nl, n_split, n_split, n_pro, n_pro])
    a, b, c, dd, e, f, t_pro = np.split(nl, cuts)
    # pro-rata roles: operation share = the labour mix of their system, or of the plan
    ps = _safe_ratio(b[n1:], a[n1:])
    if model.nl_fallback.any():
        sq = model.nl_sq[model.nl_fallback]
        ps[model.nl_fallback] = _safe_ratio(np_l_op[sq], np_l[sq])
    lv_pro = e + vo * f
    operation = operation + model.nl_sum_pro @ (ps * (lv_pro + tf * t_pro))
    if n_split:
        l_ext = c.copy()  # external labour of the system-period
        l_ext[n1:] += f[:n2]
        lv_total = a[:n_split] + vo * l_ext
        lv_total[n1:] += e[:n2]
        lv_op = b[:n_split] + vo * dd
        lv_op[n1:] += ps[:n2] * lv_pro[:n2]
        coordination = model.coordination_overhead * (1.0 + vo) * l_ext
        total = total + model.nl_sum_split @ coordination
        operation = operation + model.nl_sum_split @ (coordination
                                                      * _safe_ratio(lv_op, lv_total))
    return total, operation


def _scenario_figures(model: RiskModel, total: np.ndarray, operation: np.ndarray) -> DrawResults:
    """Spec §8 per draw from per-period totals and operation (S, K, D): NPV, savings, payback,
    band status per fiscal year, the recommendation."""
    n_s, n_k, d = total.shape
    df = model.discount
    grand = np.zeros((n_s, d))
    npv_cost = np.zeros((n_s, d))
    for k in range(n_k):  # in period order: the same additions in every block
        grand += total[:, k]
        npv_cost += total[:, k] * df[k]
    within = np.ones((n_s, d), dtype=bool)
    for y in range(n_k // 4):
        op_y = operation[:, 4 * y]
        tot_y = total[:, 4 * y]
        for k in range(4 * y + 1, 4 * y + 4):
            op_y = op_y + operation[:, k]
            tot_y = tot_y + total[:, k]
        share = _safe_ratio(op_y, tot_y)
        within &= ((tot_y != 0) & (share >= model.band_low - BAND_EDGE_TOLERANCE)
                   & (share <= model.band_high + BAND_EDGE_TOLERANCE))
    npv_savings = np.zeros((n_s, d))
    payback = np.zeros((n_s, d))
    for s in range(1, n_s):
        cumulative = np.zeros(d)
        last_below = np.full(d, -1)
        for k in range(n_k):
            savings = total[0, k] - total[s, k]
            npv_savings[s] += savings * df[k]
            cumulative = cumulative + savings
            last_below = np.where(cumulative < -CENT_TOLERANCE, k, last_below)
        never = last_below == n_k - 1
        payback[s] = np.where(last_below < 0, 0.0,
                              np.where(never, np.inf, 3.0 * (last_below + 2)))
    recommended = np.full(d, -1)
    best = np.full(d, np.inf)
    for s in range(n_s):
        if model.pmo_outsourced[s]:
            continue
        take = within[s] & ((recommended < 0) | (npv_cost[s] < best - CENT_TOLERANCE))
        recommended = np.where(take, s, recommended)
        best = np.where(take, npv_cost[s], best)
    return DrawResults(npv_cost, grand, npv_savings, payback, within, recommended)


def block_draws(model: RiskModel) -> int:
    """Draws per evaluation block: the largest per-block array stays near BLOCK_ELEMENTS."""
    return max(1, BLOCK_ELEMENTS // model.rows_per_draw)


def evaluate_points(model: RiskModel, points: np.ndarray, block: int | None = None
                    ) -> DrawResults:
    """The figures at given driver values: ``points`` (P, drivers), NaN = as entered.

    The tornado evaluates its Low/High points with this; the Monte Carlo its draws."""
    values = np.asarray(points, dtype=float).reshape(-1, len(model.drivers)).T
    return _evaluate_values(model, values, block)


def _evaluate_values(model: RiskModel, values: np.ndarray, block: int | None = None
                     ) -> DrawResults:
    size = block or block_draws(model)
    n = values.shape[1]
    if not n:
        return _evaluate_block(model, values)
    return DrawResults.concat([_evaluate_block(model, np.ascontiguousarray(values[:, i:i + size]))
                               for i in range(0, n, size)])


def simulate_chunks(model: RiskModel, seed: int, draws: int, first_chunk: int, n_chunks: int,
                    block: int | None = None,
                    progress: Callable[[int], None] | None = None) -> DrawResults:
    """The draws of chunks ``first_chunk`` … ``first_chunk + n_chunks − 1`` (of a run of
    ``draws`` draws): a pure function of its arguments, for a local process or a Dask worker.
    ``progress`` (optional) is called with the draws done after each block."""
    start = first_chunk * CHUNK_DRAWS
    stop = min(draws, (first_chunk + n_chunks) * CHUNK_DRAWS)
    size = block or block_draws(model)
    parts = []
    for lo, hi in _blocks(start, stop, size):
        parts.append(_evaluate_block(model, draw_values(model.drivers, seed, lo, hi)))
        if progress is not None:
            progress(hi - lo)
    if not parts:
        return _evaluate_values(model, np.zeros((len(model.drivers), 0)))
    return DrawResults.concat(parts)


def _blocks(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(start, stop, size):
        yield lo, min(lo + size, stop)


def task_ranges(draws: int, chunks_per_task: int = 16) -> list[tuple[int, int]]:
    """(first chunk, number of chunks) of each task of a run of ``draws`` draws."""
    n_chunks = -(-draws // CHUNK_DRAWS)
    return [(c, min(chunks_per_task, n_chunks - c)) for c in range(0, n_chunks, chunks_per_task)]


#: Runs tasks ``(first chunk, number of chunks)`` of ``simulate_chunks(model, seed, draws, …)``
#: and returns their results in the order of the tasks (a process pool, a Dask client, ...).
TaskRunner = Callable[[RiskModel, int, int, list[tuple[int, int]]], list[DrawResults]]


def simulate(model: RiskModel, draws: int, seed: int, run: TaskRunner | None = None,
             block: int | None = None, progress: Callable[[int], None] | None = None,
             chunks_per_task: int = 16) -> DrawResults:
    """``draws`` Monte Carlo draws, in draw order; ``run`` spreads the tasks over processes
    or machines (default: here, block by block). The figures are the same either way."""
    tasks = task_ranges(draws, chunks_per_task)
    if run is None:
        parts = [simulate_chunks(model, seed, draws, first, n, block, progress)
                 for first, n in tasks]
    else:
        parts = run(model, seed, draws, tasks)
    return DrawResults.concat(parts)


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Stats:
    """Mean and 10th / 50th / 90th percentiles (linear interpolation) of the draws."""

    mean: float
    p10: float
    p50: float
    p90: float

    @staticmethod
    def of(values: np.ndarray) -> Stats:
        p10, p50, p90 = (float(v) for v in np.percentile(values, [10, 50, 90]))
        return Stats(float(np.mean(values)), p10, p50, p90)

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "p10": self.p10, "p50": self.p50, "p90": self.p90}


@dataclass(frozen=True, slots=True)
class ScenarioRisk:
    """One scenario's distribution over the draws (Baseline: no savings, payback or
    p_savings)."""

    name: str
    npv_cost: Stats
    total: Stats
    npv_savings: Stats | None
    #: 10th / 50th / 90th percentile months (inverted CDF); None = never within the horizon
    payback_months: tuple[int | None, int | None, int | None] | None
    p_savings: float | None
    p_within_band: float
    p_recommended: float
    #: NPV of savings at each of CURVE_PERCENTILES (the distribution chart); () for Baseline
    savings_curve: tuple[float, ...] = ()
    #: NPV of cost and of savings of the plan as entered (the tornado's centre line)
    base_npv_cost: float = 0.0
    base_npv_savings: float | None = None

    def to_json(self) -> dict[str, Any]:
        payback = None
        if self.payback_months is not None:
            payback = dict(zip(("p10", "p50", "p90"), self.payback_months, strict=True))
        return {"name": self.name, "npv_cost": self.npv_cost.to_json(),
                "total": self.total.to_json(),
                "npv_savings": None if self.npv_savings is None else self.npv_savings.to_json(),
                "payback_months": payback, "p_savings": self.p_savings,
                "p_within_band": self.p_within_band, "p_recommended": self.p_recommended}


@dataclass(frozen=True, slots=True)
class TornadoEntry:
    """A driver at Low and at High (every other driver as entered), for one scenario."""

    driver: str
    applies_to: str
    scenario: str
    npv_cost_low: float
    npv_cost_high: float
    npv_savings_low: float | None
    npv_savings_high: float | None

    @property
    def swing(self) -> float:
        """How far NPV of savings moves between Low and High (NPV of cost for Baseline)."""
        if self.npv_savings_low is None or self.npv_savings_high is None:
            return abs(self.npv_cost_high - self.npv_cost_low)
        return abs(self.npv_savings_high - self.npv_savings_low)

    def to_json(self) -> dict[str, Any]:
        return {"driver": self.driver, "applies_to": self.applies_to,
                "scenario": self.scenario, "npv_cost_low": self.npv_cost_low,
                "npv_cost_high": self.npv_cost_high, "npv_savings_low": self.npv_savings_low,
                "npv_savings_high": self.npv_savings_high}


@dataclass(frozen=True)
class RiskFigures:
    """The Monte Carlo and tornado of a plan's Risks sheet (JSON ``risk``)."""

    draws: int
    seed: int
    drivers: list[RiskDriver]
    scenarios: list[ScenarioRisk]
    tornado: list[TornadoEntry]

    def scenario(self, name: str) -> ScenarioRisk:
        """The scenario called ``name`` (ignoring case)."""
        for s in self.scenarios:
            if s.name.casefold() == name.casefold():
                return s
        raise KeyError(f"no scenario '{name}' (the plan has: "
                       f"{', '.join(s.name for s in self.scenarios)})")

    def lookup(self, scenario: str, measure: str, percentile: str | float = "p50"
               ) -> float | None:
        """One figure, as a custom function asks for it: ``measure`` one of MEASURES;
        ``percentile`` ``p10``/``p50``/``p90``/``mean`` (or 10, 50, 90) for the distributions,
        ignored for the probabilities. None where the JSON has null (Baseline's savings, a
        payback of never). Raises KeyError or ValueError with a readable message."""
        s = self.scenario(scenario)
        key = measure.strip().casefold().replace(" ", "_")
        if key not in MEASURES:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got '{measure}'")
        if key.startswith("p_"):
            return getattr(s, key)  # type: ignore[no-any-return]
        which = (f"p{percentile:g}" if isinstance(percentile, int | float)
                 else percentile.strip().casefold())
        if which not in ("p10", "p50", "p90", "mean") or (key == "payback_months"
                                                         and which == "mean"):
            allowed = "p10, p50, p90" + ("" if key == "payback_months" else " or mean")
            raise ValueError(f"percentile must be {allowed}, got '{percentile}'")
        if key == "payback_months":
            if s.payback_months is None:
                return None
            months = dict(zip(("p10", "p50", "p90"), s.payback_months, strict=True))[which]
            return None if months is None else float(months)
        stats = getattr(s, key)
        return None if stats is None else float(getattr(stats, which))

    def to_json(self) -> dict[str, Any]:
        """The JSON ``risk`` block: draws, seed, drivers, scenarios, tornado."""
        return {
            "draws": self.draws, "seed": self.seed,
            "drivers": [{"driver": d.driver, "applies_to": d.applies_to, "low": d.low,
                         "likely": d.likely, "high": d.high, "distribution": d.distribution,
                         "location": d.location} for d in self.drivers],
            "scenarios": [s.to_json() for s in self.scenarios],
            "tornado": [t.to_json() for t in self.tornado],
        }


def tornado(model: RiskModel) -> tuple[list[TornadoEntry], DrawResults]:
    """Each driver at Low and at High, every other one as entered, for every scenario
    (scenario-major, drivers in sheet order); and the figures of the plan as entered."""
    n = len(model.drivers)
    points = np.full((2 * n + 1, n), np.nan)  # point 0: as entered
    for i, driver in enumerate(model.drivers):
        points[1 + 2 * i, i] = driver.low
        points[2 + 2 * i, i] = driver.high
    res = evaluate_points(model, points)
    entries = []
    for s, name in enumerate(model.names):
        for i, driver in enumerate(model.drivers):
            lo, hi = 1 + 2 * i, 2 + 2 * i
            savings = (None, None) if s == 0 else (float(res.npv_savings[s, lo]),
                                                   float(res.npv_savings[s, hi]))
            entries.append(TornadoEntry(driver.driver, driver.applies_to, name,
                                        float(res.npv_cost[s, lo]), float(res.npv_cost[s, hi]),
                                        *savings))
    base = DrawResults(*(getattr(res, f)[..., :1] for f in (
        "npv_cost", "total", "npv_savings", "payback_months", "within_band", "recommended")))
    return entries, base


def _payback_percentiles(months: np.ndarray) -> tuple[int | None, int | None, int | None]:
    values = np.percentile(months, [10, 50, 90], method="inverted_cdf")
    p10, p50, p90 = (None if not np.isfinite(v) else int(v) for v in values)
    return p10, p50, p90


def summarise(model: RiskModel, results: DrawResults, seed: int,
              entries: list[TornadoEntry] | None = None,
              base: DrawResults | None = None) -> RiskFigures:
    """The figures of a run: statistics of every scenario over the draws, and the tornado."""
    if entries is None or base is None:
        entries, base = tornado(model)
    n = results.draws
    scenarios = []
    for s, name in enumerate(model.names):
        is_base = name == BASELINE or s == 0
        savings = results.npv_savings[s]
        scenarios.append(ScenarioRisk(
            name=name, npv_cost=Stats.of(results.npv_cost[s]), total=Stats.of(results.total[s]),
            npv_savings=None if is_base else Stats.of(savings),
            payback_months=None if is_base else _payback_percentiles(results.payback_months[s]),
            p_savings=None if is_base else float(np.count_nonzero(savings > CENT_TOLERANCE) / n),
            p_within_band=float(np.count_nonzero(results.within_band[s]) / n),
            p_recommended=float(np.count_nonzero(results.recommended == s) / n),
            savings_curve=() if is_base else tuple(
                float(v) for v in np.percentile(savings, CURVE_PERCENTILES)),
            base_npv_cost=float(base.npv_cost[s, 0]),
            base_npv_savings=None if is_base else float(base.npv_savings[s, 0])))
    return RiskFigures(n, seed, list(model.drivers), scenarios, entries)


def run_risk(plan: Plan, evaluation: Evaluation | None = None, *, draws: int | None = None,
             seed: int | None = None, run: TaskRunner | None = None,
             progress: Callable[[int], None] | None = None) -> RiskFigures | None:
    """The risk figures of ``plan`` (None without Risks rows): its settings' ``risk_draws``
    and ``risk_seed`` unless given; ``run`` spreads the draws (see :func:`simulate`)."""
    if not plan.risks:
        return None
    model = risk_model(plan, evaluation)
    n = plan.settings.risk_draws if draws is None else draws
    s = plan.settings.risk_seed if seed is None else seed
    results = simulate(model, n, s, run=run, progress=progress)
    return summarise(model, results, s)


def risk_figures(plan: Plan, evaluation: Evaluation | None = None) -> RiskFigures | None:
    """:func:`run_risk` with the plan's own settings, here in this process."""
    return run_risk(plan, evaluation)
