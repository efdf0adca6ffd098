"""Advisory findings per scenario (spec §5): out-of-band, pmo-outsourced, split-contract,
sla-undefined, l3-offshore-candidate."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import band_status, kind_totals
from omplan.core.model import QUARTERS, SOURCINGS, Plan

if TYPE_CHECKING:
    from omplan.core.scenarios import ScenarioLines


def _money(plan: Plan, amount: float) -> str:
    return f"{plan.settings.currency} {amount:,.0f}"


def advise(plan: Plan, ledger: pd.DataFrame, sl: ScenarioLines, roles: list[str],
           systems: list[str], parties: tuple, vendors: list[str],
           split_ssq: np.ndarray) -> dict[str, list[Finding]]:
    st = plan.settings
    names = plan.scenario_names
    out: dict[str, list[Finding]] = {name: [] for name in names}
    first_line_of_system: dict[str, str] = {}
    for line in plan.staffing:
        first_line_of_system.setdefault(line.system, line.location)

    # out-of-band: the annual share outside the band
    totals = kind_totals(ledger, "scenario")
    for name in names:
        row = totals.loc[name]
        share, status = band_status(row["operation"], row["total"], st.band_low, st.band_high)
        if status in ("operation-heavy", "maintenance-heavy"):
            out[name].append(Finding(
                "warning", "out-of-band",
                f"operation is {share:.1%} of the total ({status}); the reference band is "
                f"{st.band_low:.0%}–{st.band_high:.0%} for each of operation and maintenance"))

    levels = np.array([plan.roles[r].level for r in roles], dtype=object)[sl.role]
    staffed = (sl.fte > 0).any(axis=1)
    external = sl.sourcing != 0

    # pmo-outsourced: a PMO-level role with external FTE > 0
    for i in np.flatnonzero((levels == "PMO") & external & staffed):
        line = plan.staffing[sl.line[i]]
        out[names[sl.scenario[i]]].append(Finding(
            "warning", "pmo-outsourced",
            f"{line.role} (PMO level) on {line.system} is {SOURCINGS[sl.sourcing[i]]} "
            f"({sl.vendor[i]}): keep the PMO / service owner in-house, who manages SLAs, quality "
            "and budget on your side", line.location))

    # split-contract: step 6 fired for a system in one or more quarters
    ssq, vend, op_lab, mt_lab, scen, sys_, q = parties
    n_sys, n_q = len(systems), len(QUARTERS)
    coordination = ledger[ledger["component"] == "coordination"].groupby(
        ["scenario", "system"], observed=True)["amount"].sum().to_dict()
    split = np.unique(np.asarray(split_ssq, dtype=np.int64))
    quarters_of: dict[int, list[int]] = defaultdict(list)  # scenario-system id -> quarters
    for ks, qq in zip(*(x.tolist() for x in np.divmod(split, n_q)), strict=True):
        quarters_of[ks].append(qq)
    # one pass over the rows: the distinct (system, party, op?, mt?) of the split quarters
    rows = np.flatnonzero(np.isin(ssq, split) & ((op_lab > 0) | (mt_lab > 0)))
    seen_parties = pd.DataFrame({"ks": ssq[rows] // n_q, "v": vend[rows],
                                 "op": op_lab[rows] > 0, "mt": mt_lab[rows] > 0}
                                ).drop_duplicates()
    op_of: dict[int, set[str]] = defaultdict(set)
    mt_of: dict[int, set[str]] = defaultdict(set)
    for ks, v, is_op, is_mt in seen_parties.itertuples(index=False, name=None):
        if is_op:
            op_of[ks].add(_party(vendors[v]))
        if is_mt:
            mt_of[ks].add(_party(vendors[v]))
    for ks, quarters in quarters_of.items():
        k, s = divmod(ks, n_sys)
        cost = float(coordination.get((names[k], systems[s]), 0.0))
        out[names[k]].append(Finding(
            "warning", "split-contract",
            f"{systems[s]}: operation by {', '.join(sorted(op_of[ks]))} and maintenance by "
            f"{', '.join(sorted(mt_of[ks]))} in {', '.join(QUARTERS[x] for x in quarters)}: "
            "incidents risk becoming a hot potato between the parties; coordination costs "
            f"{_money(plan, cost)}", first_line_of_system.get(systems[s], "")))

    # sla-undefined: vendor work (non-pro-rata labour > 0) without the matching SLA
    work = pd.DataFrame({"k": scen, "v": vend, "op": op_lab > 0, "mt": mt_lab > 0})
    work = work[vend != vendors.index("")].groupby(["k", "v"], sort=True).any()
    ext = np.flatnonzero(external & staffed)
    firsts = pd.DataFrame({"k": sl.scenario[ext], "v": sl.vendor[ext], "i": ext}
                          ).drop_duplicates(["k", "v"])
    first_vendor_line = {(k, v): plan.staffing[sl.line[i]].location
                         for k, v, i in firsts.itertuples(index=False, name=None)}
    for (k, v), row in work.iterrows():
        vendor = vendors[v]
        contract = plan.contracts.get(vendor.casefold())
        where = contract.location if contract else first_vendor_line.get((k, vendor), "")
        missing = []
        if row["op"] and (contract is None or contract.emergency_sla_hours is None):
            missing.append("emergency response SLA (hours) for its operation work")
        if row["mt"] and (contract is None or contract.permanent_fix_sla_days is None):
            missing.append("permanent fix SLA (business days) for its maintenance work")
        if missing:
            out[names[k]].append(Finding(
                "warning", "sla-undefined",
                f"vendor '{vendor}' has no {' and no '.join(missing)}: add it on the Contracts "
                "sheet so the time boundary between incident response and bug fixing is agreed",
                where))

    # l3-offshore-candidate: L3 in-house FTE > 0, one finding per scenario and role
    n_roles = len(roles)
    inhouse = ~external
    group = sl.scenario * n_roles + sl.role
    peak = np.bincount(group[inhouse], weights=sl.fte[inhouse].max(axis=1),
                       minlength=len(names) * n_roles)
    l3 = np.flatnonzero((levels == "L3") & inhouse & staffed)
    _, first = np.unique(group[l3], return_index=True)
    for i in l3[np.sort(first)]:
        k, role = int(sl.scenario[i]), roles[sl.role[i]]
        out[names[k]].append(Finding(
            "info", "l3-offshore-candidate",
            f"{role} (L3) has in-house staff (up to {float(peak[group[i]]):g} FTE): L3 "
            "maintenance work is the usual candidate for offshore delivery",
            plan.staffing[sl.line[i]].location))
    return out


def _party(vendor: str) -> str:
    return vendor or "In-house"
