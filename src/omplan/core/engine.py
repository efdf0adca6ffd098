"""Plan -> ledger (spec §3–§5, over the horizon of §7): the one computation every figure is a
group-by of. Every rule works per period k = 0 … 4 × horizon_years − 1 (quarter k mod 4 + 1 of
fiscal year first + k div 4).

Three steps, each callable on its own: :func:`compute_arrays` (plan -> per-key amounts, every
scenario's staffing lines stacked on one axis), :func:`build_ledger` (arrays -> the long
DataFrame) and :func:`advise` (findings of spec §5). :func:`totals` gives each scenario's
operation / maintenance / total straight from the arrays, for callers that need no ledger.
:func:`evaluate` runs all of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from omplan.core.advisories import advise
from omplan.core.findings import Finding
from omplan.core.ledger import EngineArrays, Evaluation, Parties, empty_ledger
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    BASELINE,
    COMPONENT,
    COMPONENTS,
    COST_COMPONENTS,
    LEVELS,
    OTHER_COSTS,
    ROW_COMPONENTS,
    SOURCINGS,
    SYSTEM_COMPONENTS,
    Plan,
    StaffingLine,
)
from omplan.core.scenarios import (
    ScenarioLines,
    any_per_row,
    apply_scenarios,
    per_period,
    segments,
)

__all__ = ["EngineArrays", "advise", "build_ledger", "compute_arrays", "evaluate", "totals"]

N_ACT = len(ACTIVITIES)
_OP = np.array([ACTIVITY_KIND[a].value == "operation" for a in ACTIVITIES])
_N_OP = int(_OP.sum())
assert _OP[:_N_OP].all() and not _OP[_N_OP:].any()  # ACTIVITIES lists operation ones first
assert N_ACT == 8  # build_ledger splits flat (row, activity) indices with shifts


def evaluate(plan: Plan, *, advisories: bool = True) -> Evaluation:
    """Compute the ledger of every scenario and (``advisories``) the advisories of spec §5:
    a caller that needs only figures may leave them out."""
    arrays = compute_arrays(plan)
    names = arrays.names
    labels = plan.horizon.labels
    if arrays.errors:
        return Evaluation(plan, empty_ledger(names, labels), arrays.errors)
    ledger = build_ledger(arrays)
    evaluation = Evaluation(plan, ledger, [], arrays=arrays)
    baseline = ledger["scenario"].cat.codes.to_numpy() == names.index(BASELINE)
    if not ledger["amount"].to_numpy()[baseline].any():  # every amount is ≥ 0
        evaluation.errors.append(Finding(
            "error", "zero-total", "the Baseline costs nothing: every FTE and cost is 0; enter "
            "the FTE per quarter on the Staffing sheet", "Staffing"))
        evaluation.ledger = empty_ledger(names, labels)
        return evaluation
    if advisories:
        evaluation.scenario_findings = advise(arrays, ledger)
    return evaluation


def compute_arrays(plan: Plan) -> EngineArrays:
    """Spec §3 steps 1–7 per period k of the horizon (§7) on arrays: every component of the
    component table (labour, vendor management, transition per ledger key and period, with
    their activity split; coordination per system-period; other costs per Costs row)."""
    st = plan.settings
    n_k = len(plan.horizon)
    names = plan.scenario_names
    roles = list(plan.roles)
    systems = list(dict.fromkeys([x.system for x in plan.staffing]
                                 + [c.system for c in plan.costs]))
    errors: list[Finding] = []

    sl = apply_scenarios(plan, systems, roles)
    n_roles = len(roles)
    rates = np.full((n_roles, len(SOURCINGS)), np.nan)
    for (role_id, sourcing), rate_row in plan.rates.items():
        rates[roles.index(role_id), SOURCINGS.index(sourcing)] = rate_row.monthly_cost
    shares = np.zeros((n_roles, N_ACT))
    pro_rata = np.zeros(n_roles, dtype=bool)
    for i, role_name in enumerate(roles):
        alloc = plan.allocation.get(role_name)
        if alloc is None or alloc.shares is None:
            pro_rata[i] = True
        else:
            shares[i] = [alloc.shares.get(a, 0.0) for a in ACTIVITIES]
            shares[i] /= shares[i].sum()  # exact 1 (the reader accepted ±0.001)

    # §3.2 / §7 the effective rate of every stacked line in every period
    staffed = sl.fte > 0
    rate = rates[sl.role[:, None], sl.sourcing]
    missing = np.isnan(rate) & staffed
    if missing.any():
        errors += _missing_rate_errors(plan, sl, roles, missing)
    rate *= sl.rate_factor
    if plan.escalation:
        growth = _labour_growth(plan, sl.vendor_names)
        rate *= growth[sl.sourcing, sl.vendor, _year_of_period(n_k)]
    fx = _rate_fx(plan, roles)
    if fx is not None:
        cell_fx = fx[sl.role[:, None], sl.sourcing, _year_of_period(n_k)]
        errors += _missing_fx_rates(plan, roles, sl, staffed & np.isnan(cell_fx) & ~missing)
        rate *= cell_fx
    if not np.isfinite(rate).all():  # NaN where no rate: 0 (nan_to_num costs several passes)
        rate = np.nan_to_num(rate, copy=False)
    labour = sl.fte * 3.0 * rate
    # the row components of the component table, per stacked line and period
    per_line = {
        "labour": labour,
        "vendor_management": st.vendor_overhead * labour * (sl.sourcing != 0),
        "transition": _transition(sl, rate, st.transition_months),
    }
    costs, cost_errors = _other_costs(plan)
    errors += cost_errors

    # lines -> stretches of one (sourcing, vendor) -> ledger keys; one row per (key, period)
    seg = segments(sl)
    seg_line = seg.index
    vendor_code, uniques = pd.factorize(seg.vendor, sort=False)
    vendors = [sl.vendor_names[u] for u in uniques]
    if "" not in vendors:
        vendors.append("")
    n_sys, n_vend = len(systems), len(vendors)
    radices = (len(names), n_sys, n_roles, len(SOURCINGS), n_vend)
    key = np.ravel_multi_index((sl.scenario[seg_line], sl.system[seg_line], sl.role[seg_line],
                                seg.sourcing, vendor_code.astype(np.int64)), radices)
    # group the segments by key: each key's rows are added in line order (bincount)
    unique_keys, inverse = _unique_inverse(key, int(np.prod(radices, dtype=np.float64)))
    del key
    pair = _group_sums_index(inverse, n_k)
    del inverse
    n_bins = len(unique_keys) * n_k
    money = {c: _group_sums(seg.take(per_line.pop(c)), pair, n_bins)  # (key, period) order
             for c in ROW_COMPONENTS}
    F = _group_sums(seg.take(sl.fte), pair, n_bins)
    del pair
    k_keys = np.unravel_index(unique_keys, radices)  # (scenario, system, ...) of each key
    held = money[ROW_COMPONENTS[0]] != 0
    for c in ROW_COMPONENTS[1:]:
        held |= money[c] != 0
    keep = np.flatnonzero(held)
    del held
    rows, q = np.divmod(keep, n_k)
    money = {c: x[keep] for c, x in money.items()}
    F = F[keep]
    del keep
    L, V = money["labour"], money["vendor_management"]  # §3.4 and §3.6 read these two

    # §3.4 activity split; pro-rata roles by the non-pro-rata labour mix of the system and
    # period, else of the plan in that period
    ssq = np.take(k_keys[0] * n_sys + k_keys[1], rows) * n_k + q  # system-period id
    sq = np.take(k_keys[0], rows) * n_k + q  # plan-period id
    # the keys themselves as narrow as the ledger's codes (memory over a long horizon): each
    # key's codes narrowed first, then taken per row (no 64-bit per-row copies)
    scen, sys_, role, src, vend = (
        np.take(x.astype(_code_dtype(size)), rows) for x, size in
        zip(k_keys, (len(names), n_sys, n_roles + 1, len(SOURCINGS) + 1, n_vend), strict=True))
    q = q.astype(_code_dtype(n_k))
    del k_keys, rows
    pro = pro_rata[role]
    role_i = role.astype(np.intp)  # one cast for every lookup by role below
    # pro-rata roles have all-zero shares: filled in below (np.take: twice as fast as
    # fancy indexing of rows)
    split = np.take(shares, role_i, axis=0)
    n_ssq = len(names) * n_sys * n_k
    # the labour mix of non-pro-rata roles per system-period and per plan-period, one activity
    # at a time into reused row buffers (no (rows, activities) temporaries); a column of role
    # shares is a take from the (small) share table by a role index cast to intp once
    role_shares = np.ascontiguousarray(shares.T)  # (activity, role)
    share, weight = np.empty(len(L)), np.empty(len(L))

    def labour_mix(group: np.ndarray, size: int) -> np.ndarray:
        mix = np.empty((size, N_ACT))
        for a in range(N_ACT):
            np.take(role_shares[a], role_i, out=share, mode="clip")
            np.multiply(L, share, out=weight)
            mix[:, a] = _weighted_bincount(group, weight, size)
        return mix

    p = np.flatnonzero(pro)
    if len(p):
        mix = labour_mix(ssq, n_ssq)[ssq[p]]
        fallback = mix.sum(axis=1) == 0
        if fallback.any():  # the plan-wide mix of the period
            mix[fallback] = labour_mix(sq, len(names) * n_k)[sq[p][fallback]]
        total = mix.sum(axis=1)
        impossible = total == 0
        if impossible.any():
            errors += _pro_rata_errors(plan, names, roles, scen[p][impossible],
                                       role[p][impossible], q[p][impossible])
        split[p] = np.divide(mix, total[:, None], out=np.zeros_like(mix), where=total[:, None] > 0)

    # §3.6 coordination: parties from non-pro-rata labour by kind (only > 0 matters)
    op_share = shares[:, :_N_OP].sum(axis=1)  # operation activities come first
    op_lab = np.where(pro, 0.0, L * op_share[role_i])
    mt_lab = np.where(pro, 0.0, L * (shares[:, _N_OP:].sum(axis=1))[role_i])
    split_g = _split_contracts(ssq, vend, op_lab > 0, mt_lab > 0, n_ssq, n_vend)
    is_split = np.zeros(n_ssq, dtype=bool)
    is_split[split_g] = True
    ext_lv = np.bincount(ssq, weights=(L + V) * (src != 0), minlength=n_ssq)
    coord = st.coordination_overhead * ext_lv * is_split
    mix_lv = np.empty((n_ssq, N_ACT))  # L + V by activity
    v_weight = np.empty(len(L))
    for a in range(N_ACT):
        np.take(role_shares[a], role_i, out=share, mode="clip")
        share[p] = split[p, a]  # pro-rata rows: their mix
        np.multiply(L, share, out=weight)
        np.multiply(V, share, out=v_weight)
        weight += v_weight
        mix_lv[:, a] = _weighted_bincount(ssq, weight, n_ssq)
    del v_weight
    lv_total = mix_lv.sum(axis=1, keepdims=True)
    C_act = coord[:, None] * np.divide(mix_lv, lv_total, out=np.zeros_like(mix_lv),
                                       where=lv_total > 0)

    money["coordination"] = C_act
    money["other"] = costs
    return EngineArrays(
        plan, names, systems, roles, vendors, sl, scen, sys_, q, role, src, vend,
        {c: money[c] for c in COMPONENTS}, split,
        Parties(ssq, vend, op_lab, mt_lab, scen, sys_, q, split_g), errors,
        line_rate=rate, fte=F, segments=seg, n_periods=n_k)


def _unique_inverse(key: np.ndarray, n_possible: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for keys in [0, n_possible): by a flag and a
    rank per possible key when that table is not much longer than ``key`` (no sort)."""
    if n_possible > 8 * len(key) or n_possible > 2**31:
        return np.unique(key, return_inverse=True)
    seen = np.zeros(n_possible, dtype=bool)
    seen[key] = True
    unique_keys = np.flatnonzero(seen)
    del seen
    rank = np.empty(n_possible, dtype=np.intp)  # read only where a key is
    rank[unique_keys] = np.arange(len(unique_keys))
    return unique_keys, rank[key]


def _group_sums_index(group: np.ndarray, n_periods: int) -> np.ndarray:
    """(S * K,) the (group, period) bin ``group * K + k`` of every (row, period) of a
    (S, K) array, in its row-major order (see :func:`_group_sums`)."""
    pair = np.multiply(group.astype(np.intp, copy=False)[:, None], n_periods,
                       dtype=np.intp)
    pair = pair + np.arange(n_periods, dtype=np.intp)
    return pair.ravel()


def _group_sums(values: np.ndarray, pair: np.ndarray, n_bins: int) -> np.ndarray:
    """(n_groups * K,) in (group, period) order: the rows of ``values`` (S, K) added up by
    group, period by period. One bincount over the (row, period) pairs in row-major order:
    each bin gets its group's rows one after the other in row order (bincount adds in input
    order), the same additions as one bincount per period column."""
    return _weighted_bincount(pair, np.ascontiguousarray(values).ravel(), n_bins)


def _weighted_bincount(bins: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """np.bincount with weights, always float (bincount of no rows gives integer zeros)."""
    return np.bincount(bins, weights=weights, minlength=size).astype(float, copy=False)


def _split_contracts(group: np.ndarray, party: np.ndarray, op: np.ndarray, mt: np.ndarray,
                     n_groups: int, n_parties: int) -> np.ndarray:
    """§3.6 the system-periods (``group`` ids, ascending) with a split contract: both an
    operation and a maintenance party, and the two sets differ."""
    pair = group * n_parties + party
    if n_groups * n_parties <= 50_000_000:  # a flag per (group, party): bincount, no sort
        size = n_groups * n_parties
        op_pair = np.bincount(pair, weights=op, minlength=size).reshape(n_groups, n_parties) > 0
        mt_pair = np.bincount(pair, weights=mt, minlength=size).reshape(n_groups, n_parties) > 0
        split = op_pair.any(axis=1) & mt_pair.any(axis=1) & (op_pair != mt_pair).any(axis=1)
        return np.flatnonzero(split)
    pairs, inverse = np.unique(pair, return_inverse=True)
    op_pair = np.bincount(inverse, weights=op, minlength=len(pairs)) > 0
    mt_pair = np.bincount(inverse, weights=mt, minlength=len(pairs)) > 0
    groups, g_of = np.unique(pairs // n_parties, return_inverse=True)
    op_g = np.bincount(g_of, weights=op_pair, minlength=len(groups)) > 0
    mt_g = np.bincount(g_of, weights=mt_pair, minlength=len(groups)) > 0
    diff = np.bincount(g_of, weights=op_pair != mt_pair, minlength=len(groups)) > 0
    return groups[op_g & mt_g & diff]


def _year_of_period(n_periods: int) -> np.ndarray:
    """Year index y = k div 4 of every period k."""
    return np.arange(n_periods) // 4


def _labour_growth(plan: Plan, vendor_names: list[str]) -> np.ndarray:
    """(sourcing, vendor code, year index) -> (1 + e)^y, e the line's escalation rate (§7)."""
    years = np.arange(plan.horizon.years, dtype=float)
    growth = np.ones((len(SOURCINGS), len(vendor_names), len(years)))
    for s, sourcing in enumerate(SOURCINGS):
        for v, vendor in enumerate(vendor_names):
            e = plan.escalation_rate(sourcing, vendor if s else "")
            if e:
                growth[s, v] = (1.0 + e) ** years
    return growth


def _foreign(plan: Plan, currency: str) -> bool:
    return bool(currency) and currency != plan.settings.currency


def _fx_per_year(plan: Plan, currency: str) -> np.ndarray:
    """Plan currency per unit of ``currency`` in each fiscal year (NaN: no rate)."""
    return np.array([np.nan if (r := plan.fx_rate(currency, fy)) is None else r
                     for fy in plan.horizon.fiscal_years])


def _rate_fx(plan: Plan, roles: list[str]) -> np.ndarray | None:
    """(role, sourcing, year index) -> FX rate of that Rates row's currency; None when every
    rate is in the plan's currency."""
    foreign = [(key, r) for key, r in plan.rates.items() if _foreign(plan, r.currency)]
    if not foreign:
        return None
    fx = np.ones((len(roles), len(SOURCINGS), plan.horizon.years))
    for (role, sourcing), r in foreign:
        fx[roles.index(role), SOURCINGS.index(sourcing)] = _fx_per_year(plan, r.currency)
    return fx


def _missing_fx_rates(plan: Plan, roles: list[str], sl: ScenarioLines,
                      needed: np.ndarray) -> list[Finding]:
    """One ``missing-fx-rate`` per Rates row whose foreign rate is needed (FTE > 0) in years
    without an FX rate, at the row's Currency cell."""
    if not needed.any():
        return []
    i, k = np.nonzero(needed)
    n_src, n_years = len(SOURCINGS), plan.horizon.years
    cells = np.unique((sl.role[i] * n_src + sl.sourcing[i, k]) * n_years + k // 4)
    years: dict[tuple[str, str], list[int]] = {}
    for cell in cells.tolist():
        rs, y = divmod(cell, n_years)
        r, s = divmod(rs, n_src)
        years.setdefault((roles[r], SOURCINGS[s]), []).append(plan.horizon.fiscal_years[y])
    out = []
    for (role, sourcing), fys in years.items():
        row = plan.rates[(role, sourcing)]
        out.append(_fx_finding(row.currency, fys, f"the {sourcing} rate of '{role}'",
                               row.currency_location or row.location))
    return out


def _fx_finding(currency: str, fiscal_years: list[int], what: str, location: str) -> Finding:
    names = ", ".join(f"FY{fy}" for fy in fiscal_years)
    return Finding(
        "error", "missing-fx-rate",
        f"{what} is in {currency}, but the FX sheet has no {currency} rate for {names}: add a "
        f"row (Currency {currency}, Fiscal year, Rate in plan currency per {currency}) for "
        "each of these years, or one with a blank Fiscal year for every year", location)


def _other_costs(plan: Plan) -> tuple[np.ndarray, list[Finding]]:
    """§3.5 / §7 the Costs rows per period: amount × (1 + e_other)^y × FX of the year."""
    n_k = len(plan.horizon)
    if not plan.costs:
        return np.zeros((0, n_k)), []
    amounts = per_period([c.amounts for c in plan.costs], n_k)
    year = _year_of_period(n_k)
    e = plan.escalation_rate(OTHER_COSTS)
    if e:
        amounts = amounts * ((1.0 + e) ** year.astype(float))
    errors = []
    foreign = [i for i, c in enumerate(plan.costs) if _foreign(plan, c.currency)]
    if foreign:
        amounts = amounts.copy()
        for i in foreign:
            cost = plan.costs[i]
            fx = _fx_per_year(plan, cost.currency)[year]
            missing = np.isnan(fx) & (amounts[i] > 0)
            if missing.any():
                fys = sorted({plan.horizon.fiscal_years[y] for y in year[missing]})
                what = (f"the cost '{cost.item}' of {cost.system}" if cost.item
                        else f"a cost of {cost.system}")
                errors.append(_fx_finding(cost.currency, fys, what,
                                          cost.currency_location or cost.location))
            amounts[i] *= np.nan_to_num(fx)
    return amounts, errors


def _transition(sl: ScenarioLines, rate: np.ndarray, months: float) -> np.ndarray:
    """§7 transition per stacked line and period: each change of (sourcing, vendor) costs
    ``months × rate_j × FTE_j`` once, in the first period j from the change on with FTE > 0
    and before the line's next change."""
    transition = np.zeros_like(rate)
    moved = np.flatnonzero(any_per_row(sl.change))
    if not len(moved):
        return transition
    n_k = sl.n_periods
    change = sl.change[moved]
    fte = sl.fte[moved]
    staffed = fte > 0
    # the latest change at or before each period (-1: none yet)
    last = np.maximum.accumulate(np.where(change, np.arange(n_k), -1), axis=1)
    # staffed periods before each period: count[:, m] = staffed periods in [0, m)
    count = np.zeros((len(moved), n_k + 1), dtype=np.int64)
    np.cumsum(staffed, axis=1, out=count[:, 1:])
    since = count[:, :-1] - np.take_along_axis(count, np.maximum(last, 0), axis=1)
    book = staffed & (last >= 0) & (since == 0)
    transition[moved] = np.where(book, months * rate[moved] * fte, 0.0)
    return transition


def totals(arrays: EngineArrays) -> dict[str, dict[str, float]]:
    """operation, maintenance and total of each scenario, straight from the arrays (no
    DataFrame): the same sums as the ledger's, up to the order of floating-point additions."""
    n = len(arrays.names)
    per_act = np.zeros((n, N_ACT))
    weights = arrays.amount(ROW_COMPONENTS[0])
    for c in ROW_COMPONENTS[1:]:
        weights = weights + arrays.amount(c)
    for a in range(N_ACT):
        per_act[:, a] = np.bincount(arrays.scenario, weights=weights * arrays.split[:, a],
                                    minlength=n)
    n_sq = len(arrays.systems) * arrays.n_periods
    for c in SYSTEM_COMPONENTS:
        per_act += arrays.amount(c).reshape(n, n_sq, N_ACT).sum(axis=1)
    # §3.5 other costs, the same in every scenario
    for c in COST_COMPONENTS:
        for cost, amounts in zip(arrays.plan.costs, arrays.amount(c).tolist(), strict=True):
            per_act[:, ACTIVITIES.index(cost.activity)] += float(sum(amounts))
    operation = per_act[:, _OP].sum(axis=1)
    maintenance = per_act[:, ~_OP].sum(axis=1)
    return {name: {"operation": float(operation[k]), "maintenance": float(maintenance[k]),
                   "total": float(operation[k] + maintenance[k])}
            for k, name in enumerate(arrays.names)}


def _code_dtype(n_categories: int) -> type[np.signedinteger]:
    """The narrowest code type pandas itself would choose for ``n_categories``."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def build_ledger(arrays: EngineArrays) -> pd.DataFrame:
    """The ledger DataFrame (spec §3): one row per key, period, activity and component.

    Rows come component by component: the row components of the component table (labour,
    vendor management, transition), each in key-period-activity order, then the system
    components (coordination) and the cost components (other costs). Every code column is
    written once, already narrow, into preallocated arrays. ``quarter`` holds the horizon's
    period labels; ``fte`` is the FTE of labour rows split like their amount (0 on every other
    row).
    """
    plan, names, systems, roles, vendors = (arrays.plan, arrays.names, arrays.systems,
                                            arrays.roles, arrays.vendors)
    n_sys, n_k = len(systems), arrays.n_periods
    split = arrays.split
    # a row component's ledger rows: every non-zero (row, activity) of the rows where it is
    # non-zero; (row, activity) in row order, as np.nonzero would give (on a bool mask: twice
    # as fast)
    flat = np.flatnonzero(split != 0)
    share = split.ravel()[flat]
    a_l = flat.astype(np.int8)  # the low 3 bits survive the narrowing cast
    a_l &= 7  # flat mod N_ACT = 8
    r_l = np.right_shift(flat, 3, out=flat)  # flat div 8, in place
    del flat
    # per row component: the (row, activity) pairs it has, as a bool mask over them (None: all
    # of them; selecting by a mask is faster than by indices); amounts are written straight
    # into the ledger's column below, and rows whose amount is 0 dropped at the end
    parts: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for component in ROW_COMPONENTS:
        per_row = arrays.amount(component)
        held = per_row != 0
        parts.append((component, per_row,
                      None if held.all() else np.take(held, r_l, mode="clip")))
    del held
    # (scenario, system, period, activity, component, amount) of the other components' rows
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]] = []
    for component in SYSTEM_COMPONENTS:  # per system-period, split by activity
        per_system = arrays.amount(component)
        g, a_c = np.nonzero(per_system)
        g_scen, rest = np.divmod(g, n_sys * n_k)
        g_sys, g_q = np.divmod(rest, n_k)
        blocks.append((g_scen, g_sys, g_q, a_c, COMPONENTS.index(component),
                       per_system[g, a_c]))
    if plan.costs:  # §3.5 cost components: per Costs row, the same in every scenario
        sys_idx = {s: i for i, s in enumerate(systems)}
        c_sys = np.array([sys_idx[c.system] for c in plan.costs])
        c_act = np.array([ACTIVITIES.index(c.activity) for c in plan.costs])
        for component in COST_COMPONENTS:
            c_amt = arrays.amount(component)
            ci, cq = np.nonzero(c_amt)
            for k in range(len(names)):
                blocks.append((np.full(len(ci), k), c_sys[ci], cq, c_act[ci],
                               COMPONENTS.index(component), c_amt[ci, cq]))
    n_keyed = sum(len(r_l) if sel is None else int(np.count_nonzero(sel))
                  for _, _, sel in parts)
    n = n_keyed + sum(len(b[0]) for b in blocks)

    level_of_role = np.array([LEVELS.index(plan.roles[r].level) for r in roles] + [len(LEVELS)])
    cats = {
        "scenario": names, "system": systems, "quarter": list(plan.horizon.labels),
        "role": [*roles, ""],
        "level": [*LEVELS, ""], "sourcing": [*SOURCINGS, ""], "vendor": vendors,
        "activity": list(ACTIVITIES), "kind": ["operation", "maintenance"],
        "component": list(COMPONENTS),
    }
    cols = {c: np.empty(n, dtype=_code_dtype(len(v))) for c, v in cats.items()}
    amount_out = np.empty(n)
    fte_out = np.zeros(n)
    per_row_keys = {"scenario": arrays.scenario, "system": arrays.system,
                    "quarter": arrays.quarter, "role": arrays.role,
                    "sourcing": arrays.sourcing, "vendor": arrays.vendor}
    narrow = {c: v.astype(cols[c].dtype) for c, v in per_row_keys.items()}
    level_narrow = level_of_role.astype(cols["level"].dtype)[arrays.role]
    at = 0
    # np.take with out= buffers the whole output unless mode is not "raise"; every index is
    # a row of these arrays, so "clip" never clips
    for component, per_row, sel in parts:
        r, a, s = (r_l, a_l, share) if sel is None else (r_l[sel], a_l[sel], share[sel])
        end = at + len(r)
        for c, v in narrow.items():
            np.take(v, r, out=cols[c][at:end], mode="clip")
        np.take(level_narrow, r, out=cols["level"][at:end], mode="clip")
        cols["activity"][at:end] = a
        _kind_of(a, cols["kind"][at:end])
        cols["component"][at:end] = COMPONENTS.index(component)
        out = amount_out[at:end]  # per_row[r] * s, without a temporary
        np.take(per_row, r, out=out, mode="clip")
        np.multiply(out, s, out=out)
        if COMPONENT[component].fte:
            out = fte_out[at:end]
            np.take(arrays.fte, r, out=out, mode="clip")
            np.multiply(out, s, out=out)
        del r, a, s
        at = end
    del r_l, a_l, share, parts
    blank_role, blank_src, blank_vendor = len(roles), len(SOURCINGS), vendors.index("")
    blank_level = len(LEVELS)
    for b_scen, b_sys, b_q, b_act, component_code, amount in blocks:
        end = at + len(b_scen)
        cols["scenario"][at:end] = b_scen
        cols["system"][at:end] = b_sys
        cols["quarter"][at:end] = b_q
        cols["role"][at:end] = blank_role
        cols["level"][at:end] = blank_level
        cols["sourcing"][at:end] = blank_src
        cols["vendor"][at:end] = blank_vendor
        cols["activity"][at:end] = b_act
        _kind_of(b_act, cols["kind"][at:end])
        cols["component"][at:end] = component_code
        amount_out[at:end] = amount
        at = end
    zero = amount_out[:n_keyed] == 0  # (row, activity) pairs whose product underflows
    if zero.any():
        keep = np.r_[~zero, np.ones(n - n_keyed, dtype=bool)]
        cols = {c: v[keep] for c, v in cols.items()}
        amount_out, fte_out = amount_out[keep], fte_out[keep]
    ordered = {"scenario", "quarter", "activity"}
    data = {c: pd.Categorical.from_codes(cols[c], categories=v, ordered=c in ordered,
                                         validate=False) for c, v in cats.items()}
    return pd.DataFrame({**data, "amount": amount_out, "fte": fte_out}, copy=False)


def _kind_of(activity: np.ndarray, out: np.ndarray) -> None:
    """Write the kind code of each activity code into ``out`` (int8): operation activities
    come first, so maintenance (1) is ``activity >= _N_OP``, a compare instead of a take."""
    np.greater_equal(activity, _N_OP, out=out.view(np.bool_))


def _line_label(line: StaffingLine) -> str:
    return f"{line.role} on {line.system}"


def _missing_rate_errors(plan: Plan, sl: ScenarioLines, roles: list[str],
                         missing: np.ndarray) -> list[Finding]:
    """One error per (scenario, role, sourcing) without a rate, at the Scenarios row that set
    the sourcing; Baseline ones the reader gave."""
    out = []
    names = plan.scenario_names
    i, k = np.nonzero(missing)
    src = sl.sourcing[i, k].astype(np.int64)
    key = (sl.scenario[i] * len(roles) + sl.role[i]) * len(SOURCINGS) + src
    _, first = np.unique(key, return_index=True)
    for j in np.sort(first).tolist():
        line_i, period = int(i[j]), int(k[j])
        s, role, sourcing = int(sl.scenario[line_i]), roles[sl.role[line_i]], SOURCINGS[src[j]]
        if s == 0:
            continue
        line = plan.staffing[sl.line[line_i]]
        set_at = int(sl.sourcing_set_at[line_i, period])
        where = plan.scenario_changes[set_at].location if set_at >= 0 else ""
        out.append(Finding(
            "error", "missing-rate",
            f"scenario '{names[s]}' puts {_line_label(line)} ({line.location}) on {sourcing}, "
            f"but the Rates sheet has no {sourcing} rate for '{role}'", where or line.location))
    return out


def _pro_rata_errors(plan: Plan, names: list[str], roles: list[str], scen: np.ndarray,
                     role: np.ndarray, q: np.ndarray) -> list[Finding]:
    out, seen = [], set()
    labels = plan.horizon.labels
    for k, r, qq in zip(scen, role, q, strict=True):
        key = (int(k), int(r), int(qq))
        if key in seen:
            continue
        seen.add(key)
        alloc = plan.allocation[roles[r]]
        out.append(Finding(
            "error", "pro-rata-impossible",
            f"role '{roles[r]}' is pro rata (no activity shares) but in {labels[qq]} of "
            f"'{names[k]}' no role with activity shares has labour to split it by: give "
            f"'{roles[r]}' its own shares", alloc.location))
    return out
