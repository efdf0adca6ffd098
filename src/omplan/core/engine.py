"""Plan -> ledger (spec §3–§5): the one computation every figure is a group-by of.

Vectorised with numpy/pandas: staffing lines of every scenario are stacked into arrays,
aggregated to the ledger's key, split over activities and turned into one long DataFrame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from omplan.core.advisories import advise
from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation, empty_ledger
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

N_ACT = len(ACTIVITIES)
N_Q = len(QUARTERS)
_OP = np.array([ACTIVITY_KIND[a].value == "operation" for a in ACTIVITIES])
_KIND_CODE = np.where(_OP, 0, 1)  # categories ("operation", "maintenance")


def evaluate(plan: Plan) -> Evaluation:
    """Compute the ledger of every scenario and the advisories of spec §5."""
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
    summed = _group_sum(inverse, values, len(unique_keys))
    k_keys = np.stack(np.unravel_index(unique_keys, radices), axis=1)
    k_vals = summed.reshape(-1, 3, N_Q)  # (M, component, quarter)
    m = len(k_keys)
    rows = np.repeat(np.arange(m), N_Q)
    q = np.tile(np.arange(N_Q), m)
    L, V, T = (k_vals[rows, j, q] for j in range(3))
    keep = (L != 0) | (V != 0) | (T != 0)
    rows, q, L, V, T = rows[keep], q[keep], L[keep], V[keep], T[keep]
    scen, sys_, role, src, vend = (k_keys[rows, j] for j in range(5))

    # §3.4 activity split; pro-rata roles by the non-pro-rata labour mix
    ssq = (scen * n_sys + sys_) * N_Q + q  # system-quarter id
    sq = scen * N_Q + q  # plan-quarter id
    pro = pro_rata[role]
    direct = np.where(pro[:, None], 0.0, L[:, None] * shares[role])
    n_ssq = len(names) * n_sys * N_Q
    mix_ssq = _group_sum(ssq, direct, n_ssq)
    mix_sq = _group_sum(sq, direct, len(names) * N_Q)
    split = np.where(pro[:, None], 0.0, shares[role])
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
    L_act, V_act, T_act = L[:, None] * split, V[:, None] * split, T[:, None] * split

    # §3.6 coordination: parties from non-pro-rata labour by kind
    op_lab = np.where(pro, 0.0, L_act[:, _OP].sum(axis=1))
    mt_lab = np.where(pro, 0.0, L_act[:, ~_OP].sum(axis=1))
    parties = pd.DataFrame({"g": ssq, "party": vend, "op": op_lab > 0, "mt": mt_lab > 0})
    per_party = parties.groupby(["g", "party"], sort=False)[["op", "mt"]].any()
    per_g = per_party.assign(diff=per_party["op"] != per_party["mt"]).groupby(level=0).any()
    split_g = per_g.index[per_g["op"] & per_g["mt"] & per_g["diff"]].to_numpy()
    is_split = np.zeros(n_ssq, dtype=bool)
    is_split[split_g] = True
    ext_lv = np.bincount(ssq, weights=(L + V) * (src != 0), minlength=n_ssq)
    coord = st.coordination_overhead * ext_lv * is_split
    mix_lv = _group_sum(ssq, L_act + V_act, n_ssq)
    lv_total = mix_lv.sum(axis=1, keepdims=True)
    C_act = coord[:, None] * np.divide(mix_lv, lv_total, out=np.zeros_like(mix_lv),
                                       where=lv_total > 0)

    ledger = _build_ledger(plan, names, systems, roles, vendors,
                           (scen, sys_, q, role, src, vend), (L_act, V_act, T_act), C_act)
    evaluation = Evaluation(plan, ledger, errors)
    if errors:
        evaluation.ledger = empty_ledger(names)
        return evaluation
    baseline_total = ledger.loc[ledger["scenario"] == BASELINE, "amount"].sum()
    if baseline_total == 0:
        evaluation.errors.append(Finding(
            "error", "zero-total", "the Baseline costs nothing: every FTE and cost is 0; enter "
            "the FTE per quarter on the Staffing sheet", "Staffing"))
        evaluation.ledger = empty_ledger(names)
        return evaluation
    evaluation.scenario_findings = advise(
        plan, evaluation.ledger, sl, roles, systems,
        parties=(ssq, vend, op_lab, mt_lab, scen, sys_, q), vendors=vendors, split_ssq=split_g,
    )
    return evaluation


def _codes(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    codes, uniques = pd.factorize(values, sort=False)
    names = [str(u) for u in uniques]
    if "" not in names:
        names.append("")
    return names, codes.astype(np.int64)


def _group_sum(group: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum rows of ``values`` (K, A) by ``group`` ids into (size, A)."""
    out = np.zeros((size, values.shape[1]))
    for a in range(values.shape[1]):
        out[:, a] = np.bincount(group, weights=values[:, a], minlength=size)
    return out


def _build_ledger(plan, names, systems, roles, vendors, key, act_amounts, C_act) -> pd.DataFrame:
    scen, sys_, q, role, src, vend = key
    n_sys = len(systems)
    blank_role, blank_src, blank_vendor = len(roles), len(SOURCINGS), vendors.index("")
    level_of_role = np.array([LEVELS.index(plan.roles[r].level) for r in roles] + [len(LEVELS)])
    parts = []
    for component, amounts in zip(("labour", "vendor_management", "transition"), act_amounts,
                                  strict=True):
        r, a = np.nonzero(amounts)
        parts.append((scen[r], sys_[r], q[r], role[r], src[r], vend[r], a,
                      np.full(len(r), COMPONENTS.index(component)), amounts[r, a]))
    g, a = np.nonzero(C_act)
    g_scen, rest = np.divmod(g, n_sys * N_Q)
    g_sys, g_q = np.divmod(rest, N_Q)
    n_g = len(g)
    parts.append((g_scen, g_sys, g_q, np.full(n_g, blank_role), np.full(n_g, blank_src),
                  np.full(n_g, blank_vendor), a, np.full(n_g, COMPONENTS.index("coordination")),
                  C_act[g, a]))
    if plan.costs:  # §3.5 other costs, the same in every scenario
        sys_idx = {s: i for i, s in enumerate(systems)}
        c_sys = np.array([sys_idx[c.system] for c in plan.costs])
        c_act = np.array([ACTIVITIES.index(c.activity) for c in plan.costs])
        c_amt = np.array([c.amounts for c in plan.costs], dtype=float)
        ci, cq = np.nonzero(c_amt)
        n_c = len(ci)
        for k in range(len(names)):
            parts.append((np.full(n_c, k), c_sys[ci], cq, np.full(n_c, blank_role),
                          np.full(n_c, blank_src), np.full(n_c, blank_vendor), c_act[ci],
                          np.full(n_c, COMPONENTS.index("other")), c_amt[ci, cq]))
    cols = [np.concatenate([p[j] for p in parts]) for j in range(9)]
    scen_c, sys_c, q_c, role_c, src_c, vend_c, act_c, comp_c, amount = cols
    cat = pd.Categorical.from_codes
    return pd.DataFrame({
        "scenario": cat(scen_c, categories=names, ordered=True),
        "system": cat(sys_c, categories=systems),
        "quarter": cat(q_c, categories=list(QUARTERS), ordered=True),
        "role": cat(role_c, categories=[*roles, ""]),
        "level": cat(level_of_role[role_c], categories=[*LEVELS, ""]),
        "sourcing": cat(src_c, categories=[*SOURCINGS, ""]),
        "vendor": cat(vend_c, categories=vendors),
        "activity": cat(act_c, categories=list(ACTIVITIES), ordered=True),
        "kind": cat(_KIND_CODE[act_c], categories=["operation", "maintenance"]),
        "component": cat(comp_c, categories=list(COMPONENTS)),
        "amount": amount.astype(float),
    })


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

