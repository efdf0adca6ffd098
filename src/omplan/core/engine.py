"""Plan -> ledger (spec §3–§5): the one computation every figure is a group-by of.

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
    COMPONENTS,
    LEVELS,
    QUARTERS,
    SOURCINGS,
    Plan,
    StaffingLine,
)
from omplan.core.scenarios import ScenarioLines, apply_scenarios

__all__ = ["EngineArrays", "advise", "build_ledger", "compute_arrays", "evaluate", "totals"]

N_ACT = len(ACTIVITIES)
N_Q = len(QUARTERS)
_OP = np.array([ACTIVITY_KIND[a].value == "operation" for a in ACTIVITIES])
_KIND_CODE = np.where(_OP, 0, 1).astype(np.int8)  # categories ("operation", "maintenance")
_N_OP = int(_OP.sum())
assert _OP[:_N_OP].all() and not _OP[_N_OP:].any()  # ACTIVITIES lists operation ones first


def evaluate(plan: Plan) -> Evaluation:
    """Compute the ledger of every scenario and the advisories of spec §5."""
    arrays = compute_arrays(plan)
    names = arrays.names
    if arrays.errors:
        return Evaluation(plan, empty_ledger(names), arrays.errors)
    ledger = build_ledger(arrays)
    evaluation = Evaluation(plan, ledger, [], arrays=arrays)
    baseline_total = ledger.loc[ledger["scenario"] == BASELINE, "amount"].sum()
    if baseline_total == 0:
        evaluation.errors.append(Finding(
            "error", "zero-total", "the Baseline costs nothing: every FTE and cost is 0; enter "
            "the FTE per quarter on the Staffing sheet", "Staffing"))
        evaluation.ledger = empty_ledger(names)
        return evaluation
    evaluation.scenario_findings = advise(arrays, ledger)
    return evaluation


def compute_arrays(plan: Plan) -> EngineArrays:
    """Spec §3 steps 1–7 on arrays: labour, vendor management, transition per ledger key and
    quarter, their activity split, and coordination per system-quarter."""
    st = plan.settings
    names = plan.scenario_names
    roles = list(plan.roles)
    systems = list(dict.fromkeys([x.system for x in plan.staffing]
                                 + [c.system for c in plan.costs]))
    errors: list[Finding] = []

    sl = apply_scenarios(plan, systems, roles)
    n_roles = len(roles)
    rates = np.full((n_roles, len(SOURCINGS)), np.nan)
    for (role, sourcing), rate in plan.rates.items():
        rates[roles.index(role), SOURCINGS.index(sourcing)] = rate.monthly_cost
    shares = np.zeros((n_roles, N_ACT))
    pro_rata = np.zeros(n_roles, dtype=bool)
    for i, role in enumerate(roles):
        alloc = plan.allocation.get(role)
        if alloc is None or alloc.shares is None:
            pro_rata[i] = True
        else:
            shares[i] = [alloc.shares.get(a, 0.0) for a in ACTIVITIES]
            shares[i] /= shares[i].sum()  # exact 1 (the reader accepted ±0.001)

    # §3.2 labour, §3.3 vendor management, §3.7 transition — per stacked line
    rate = rates[sl.role, sl.sourcing] * sl.rate_factor
    staffed = (sl.fte > 0).any(axis=1)
    missing = np.isnan(rate) & staffed
    if missing.any():
        errors += _missing_rate_errors(plan, sl, roles, missing)
    rate = np.nan_to_num(rate)
    labour = sl.fte * 3.0 * rate[:, None]
    external = sl.sourcing != 0
    vendor_mgmt = st.vendor_overhead * labour * external[:, None]
    transition = np.zeros_like(labour)
    moved = np.flatnonzero(sl.transition & staffed)
    first_q = np.argmax(sl.fte[moved] > 0, axis=1)
    transition[moved, first_q] = st.transition_months * rate[moved] * sl.fte[moved, first_q]

    # aggregate lines to the ledger key, then one row per (key, quarter)
    vendors, vendor_code = _codes(sl.vendor)
    n_sys, n_vend = len(systems), len(vendors)
    radices = (len(names), n_sys, n_roles, len(SOURCINGS), n_vend)
    key = np.ravel_multi_index((sl.scenario, sl.system, sl.role, sl.sourcing, vendor_code),
                               radices)
    unique_keys, inverse = np.unique(key, return_inverse=True)
    values = np.hstack([labour, vendor_mgmt, transition])
    del labour, vendor_mgmt, transition, key
    summed = _group_sum(inverse, values, len(unique_keys))
    del values, inverse
    k_keys = np.stack(np.unravel_index(unique_keys, radices), axis=1)
    k_vals = summed.reshape(-1, 3, N_Q)  # (M, component, quarter)
    m = len(k_keys)
    rows = np.repeat(np.arange(m), N_Q)
    q = np.tile(np.arange(N_Q), m)
    L, V, T = (k_vals[rows, j, q] for j in range(3))
    keep = (L != 0) | (V != 0) | (T != 0)
    rows, q, L, V, T = rows[keep], q[keep], L[keep], V[keep], T[keep]
    scen, sys_, role, src, vend = (k_keys[rows, j] for j in range(5))
    del summed, k_vals, k_keys, rows, keep

    # §3.4 activity split; pro-rata roles by the non-pro-rata labour mix
    ssq = (scen * n_sys + sys_) * N_Q + q  # system-quarter id
    sq = scen * N_Q + q  # plan-quarter id
    pro = pro_rata[role]
    split = shares[role]  # pro-rata roles have all-zero shares: filled in below
    direct = L[:, None] * split
    n_ssq = len(names) * n_sys * N_Q
    mix_ssq = _group_sum(ssq, direct, n_ssq)
    mix_sq = _group_sum(sq, direct, len(names) * N_Q)
    del direct
    if pro.any():
        p = np.flatnonzero(pro)
        mix = mix_ssq[ssq[p]]
        fallback = mix.sum(axis=1) == 0
        mix[fallback] = mix_sq[sq[p][fallback]]
        total = mix.sum(axis=1)
        impossible = total == 0
        if impossible.any():
            errors += _pro_rata_errors(plan, names, roles, scen[p][impossible],
                                       role[p][impossible], q[p][impossible])
        split[p] = np.divide(mix, total[:, None], out=np.zeros_like(mix), where=total[:, None] > 0)
    del mix_ssq, mix_sq
    L_act = L[:, None] * split

    # §3.6 coordination: parties from non-pro-rata labour by kind
    op_lab = np.where(pro, 0.0, L_act[:, :_N_OP].sum(axis=1))  # operation activities first
    mt_lab = np.where(pro, 0.0, L_act[:, _N_OP:].sum(axis=1))
    parties = pd.DataFrame({"g": ssq, "party": vend, "op": op_lab > 0, "mt": mt_lab > 0})
    per_party = parties.groupby(["g", "party"], sort=False)[["op", "mt"]].any()
    per_g = per_party.assign(diff=per_party["op"] != per_party["mt"]).groupby(level=0).any()
    split_g = per_g.index[per_g["op"] & per_g["mt"] & per_g["diff"]].to_numpy()
    is_split = np.zeros(n_ssq, dtype=bool)
    is_split[split_g] = True
    ext_lv = np.bincount(ssq, weights=(L + V) * (src != 0), minlength=n_ssq)
    coord = st.coordination_overhead * ext_lv * is_split
    L_act += V[:, None] * split  # L + V by activity
    mix_lv = _group_sum(ssq, L_act, n_ssq)
    del L_act
    lv_total = mix_lv.sum(axis=1, keepdims=True)
    C_act = coord[:, None] * np.divide(mix_lv, lv_total, out=np.zeros_like(mix_lv),
                                       where=lv_total > 0)

    return EngineArrays(
        plan, names, systems, roles, vendors, sl, scen, sys_, q, role, src, vend, L, V, T,
        split, C_act, Parties(ssq, vend, op_lab, mt_lab, scen, sys_, q, split_g), errors,
        line_rate=rate)


def totals(arrays: EngineArrays) -> dict[str, dict[str, float]]:
    """operation, maintenance and total of each scenario, straight from the arrays (no
    DataFrame): the same sums as the ledger's, up to the order of floating-point additions."""
    n = len(arrays.names)
    per_act = np.zeros((n, N_ACT))
    weights = arrays.labour + arrays.vendor_management + arrays.transition
    for a in range(N_ACT):
        per_act[:, a] = np.bincount(arrays.scenario, weights=weights * arrays.split[:, a],
                                    minlength=n)
    n_sq = len(arrays.systems) * N_Q
    per_act += arrays.coordination.reshape(n, n_sq, N_ACT).sum(axis=1)
    for cost in arrays.plan.costs:  # §3.5 other costs, the same in every scenario
        per_act[:, ACTIVITIES.index(cost.activity)] += float(sum(cost.amounts))
    operation = per_act[:, _OP].sum(axis=1)
    maintenance = per_act[:, ~_OP].sum(axis=1)
    return {name: {"operation": float(operation[k]), "maintenance": float(maintenance[k]),
                   "total": float(operation[k] + maintenance[k])}
            for k, name in enumerate(arrays.names)}


def _codes(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    codes, uniques = pd.factorize(values, sort=False)
    names = [str(u) for u in uniques]
    if "" not in names:
        names.append("")
    return names, codes.astype(np.int64)


def _group_sum(group: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum rows of ``values`` (K, A) by ``group`` ids into (size, A)."""
    columns = np.ascontiguousarray(values.T)  # bincount reads each column in one sweep
    out = np.empty((values.shape[1], size))
    for a, column in enumerate(columns):
        out[a] = np.bincount(group, weights=column, minlength=size)
    return np.ascontiguousarray(out.T)  # row sums must see rows laid out as before


def _code_dtype(n_categories: int) -> type[np.signedinteger]:
    """The narrowest code type pandas itself would choose for ``n_categories``."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def build_ledger(arrays: EngineArrays) -> pd.DataFrame:
    """The ledger DataFrame (spec §3): one row per key, quarter, activity and component.

    Rows come in component order (labour, vendor management, transition, coordination,
    other), each in key-quarter-activity order. Every code column is written once, already
    narrow, into preallocated arrays.
    """
    plan, names, systems, roles, vendors = (arrays.plan, arrays.names, arrays.systems,
                                            arrays.roles, arrays.vendors)
    n_sys = len(systems)
    split = arrays.split
    # labour rows: every non-zero (row, activity); vendor management and transition can only
    # be non-zero where labour is (V = overhead x L; T needs FTE > 0 at a positive rate)
    r_l, a_l = np.nonzero(split)
    amount_l = arrays.labour[r_l] * split[r_l, a_l]
    nz = amount_l != 0
    r_l, a_l, amount_l = r_l[nz], a_l[nz], amount_l[nz]
    parts_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(r_l, a_l, amount_l)]
    for per_row in (arrays.vendor_management, arrays.transition):
        amount = per_row[r_l] * split[r_l, a_l]
        nz = amount != 0
        if np.any((arrays.labour == 0) & (per_row != 0)):  # pragma: no cover - safety net
            r, a = np.nonzero(per_row[:, None] * split)
            parts_rows.append((r, a, per_row[r] * split[r, a]))
        else:
            parts_rows.append((r_l[nz], a_l[nz], amount[nz]))
    g, a_c = np.nonzero(arrays.coordination)
    g_scen, rest = np.divmod(g, n_sys * N_Q)
    g_sys, g_q = np.divmod(rest, N_Q)
    amount_c = arrays.coordination[g, a_c]
    if plan.costs:  # §3.5 other costs, the same in every scenario
        sys_idx = {s: i for i, s in enumerate(systems)}
        c_sys = np.array([sys_idx[c.system] for c in plan.costs])
        c_act = np.array([ACTIVITIES.index(c.activity) for c in plan.costs])
        c_amt = np.array([c.amounts for c in plan.costs], dtype=float)
        ci, cq = np.nonzero(c_amt)
    else:
        ci = cq = c_sys = c_act = np.zeros(0, dtype=np.int64)
        c_amt = np.zeros((0, N_Q))
    n_c = len(ci)
    n_keyed = sum(len(p[0]) for p in parts_rows)
    n = n_keyed + len(g) + n_c * len(names)

    level_of_role = np.array([LEVELS.index(plan.roles[r].level) for r in roles] + [len(LEVELS)])
    cats = {
        "scenario": names, "system": systems, "quarter": list(QUARTERS), "role": [*roles, ""],
        "level": [*LEVELS, ""], "sourcing": [*SOURCINGS, ""], "vendor": vendors,
        "activity": list(ACTIVITIES), "kind": ["operation", "maintenance"],
        "component": list(COMPONENTS),
    }
    cols = {c: np.empty(n, dtype=_code_dtype(len(v))) for c, v in cats.items()}
    amount_out = np.empty(n)
    per_row_keys = {"scenario": arrays.scenario, "system": arrays.system,
                    "quarter": arrays.quarter, "role": arrays.role,
                    "sourcing": arrays.sourcing, "vendor": arrays.vendor}
    narrow = {c: v.astype(cols[c].dtype) for c, v in per_row_keys.items()}
    level_narrow = level_of_role.astype(cols["level"].dtype)[arrays.role]
    kind_of = _KIND_CODE.astype(cols["kind"].dtype)
    at = 0
    for component, (r, a, amount) in zip(("labour", "vendor_management", "transition"),
                                          parts_rows, strict=True):
        end = at + len(r)
        for c, v in narrow.items():
            np.take(v, r, out=cols[c][at:end])
        np.take(level_narrow, r, out=cols["level"][at:end])
        cols["activity"][at:end] = a
        np.take(kind_of, a, out=cols["kind"][at:end])
        cols["component"][at:end] = COMPONENTS.index(component)
        amount_out[at:end] = amount
        at = end
    blank_role, blank_src, blank_vendor = len(roles), len(SOURCINGS), vendors.index("")
    blank_level = len(LEVELS)
    blocks = [(g_scen, g_sys, g_q, a_c, "coordination", amount_c)]
    for k in range(len(names)):
        blocks.append((np.full(n_c, k), c_sys[ci], cq, c_act[ci], "other", c_amt[ci, cq]))
    for b_scen, b_sys, b_q, b_act, component, amount in blocks:
        end = at + len(b_scen)
        cols["scenario"][at:end] = b_scen
        cols["system"][at:end] = b_sys
        cols["quarter"][at:end] = b_q
        cols["role"][at:end] = blank_role
        cols["level"][at:end] = blank_level
        cols["sourcing"][at:end] = blank_src
        cols["vendor"][at:end] = blank_vendor
        cols["activity"][at:end] = b_act
        np.take(kind_of, b_act, out=cols["kind"][at:end])
        cols["component"][at:end] = COMPONENTS.index(component)
        amount_out[at:end] = amount
        at = end
    ordered = {"scenario", "quarter", "activity"}
    data = {c: pd.Categorical.from_codes(cols[c], categories=v, ordered=c in ordered,
                                         validate=False) for c, v in cats.items()}
    return pd.DataFrame({**data, "amount": amount_out}, copy=False)


def _line_label(line: StaffingLine) -> str:
    return f"{line.role} on {line.system}"


def _missing_rate_errors(plan: Plan, sl: ScenarioLines, roles: list[str],
                         missing: np.ndarray) -> list[Finding]:
    """One error per (scenario, role, sourcing) without a rate; Baseline ones the reader gave."""
    out, seen = [], set()
    names = plan.scenario_names
    for i in np.flatnonzero(missing):
        k, role, sourcing = int(sl.scenario[i]), roles[sl.role[i]], SOURCINGS[sl.sourcing[i]]
        if k == 0 or (k, role, sourcing) in seen:
            continue
        seen.add((k, role, sourcing))
        line = plan.staffing[sl.line[i]]
        out.append(Finding(
            "error", "missing-rate",
            f"scenario '{names[k]}' puts {_line_label(line)} ({line.location}) on {sourcing}, "
            f"but the Rates sheet has no {sourcing} rate for '{role}'",
            str(sl.sourcing_set_at[i]) or line.location))
    return out


def _pro_rata_errors(plan, names, roles, scen, role, q) -> list[Finding]:
    out, seen = [], set()
    for k, r, qq in zip(scen, role, q, strict=True):
        key = (int(k), int(r), int(qq))
        if key in seen:
            continue
        seen.add(key)
        alloc = plan.allocation[roles[r]]
        out.append(Finding(
            "error", "pro-rata-impossible",
            f"role '{roles[r]}' is pro rata (no activity shares) but in {QUARTERS[qq]} of "
            f"'{names[k]}' no role with activity shares has labour to split it by: give "
            f"'{roles[r]}' its own shares", alloc.location))
    return out
