"""Advisory findings per scenario (spec §5): out-of-band, pmo-outsourced, split-contract,
sla-undefined, l3-offshore-candidate."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .findings import Finding
from .model import QUARTERS, SOURCINGS, Plan

if TYPE_CHECKING:
    from .engine import ScenarioLines


def _money(plan: Plan, amount: float) -> str:
    return f"{plan.settings.currency} {amount:,.0f}"


def advise(plan: Plan, ledger: pd.DataFrame, sl: ScenarioLines, roles: list[str],
           systems: list[str], parties: tuple, vendors: list[str],
           split_ssq: np.ndarray) -> dict[str, list[Finding]]:
    from .summary import band_status, kind_totals

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
    n_sys = len(systems)
    coordination = ledger[ledger["component"] == "coordination"].groupby(
        ["scenario", "system"], observed=True)["amount"].sum()
    by_system: dict[tuple[int, int], list[int]] = defaultdict(list)
    for g in sorted(int(x) for x in split_ssq):
        k, rest = divmod(g, n_sys * len(QUARTERS))
        s, qq = divmod(rest, len(QUARTERS))
        by_system[(k, s)].append(qq)
    for (k, s), quarters in by_system.items():
        rows = np.isin(ssq, [(k * n_sys + s) * len(QUARTERS) + qq for qq in quarters])
        op = sorted({_party(vendors[v]) for v in vend[rows & (op_lab > 0)]})
        mt = sorted({_party(vendors[v]) for v in vend[rows & (mt_lab > 0)]})
        cost = float(coordination.get((names[k], systems[s]), 0.0))
        out[names[k]].append(Finding(
            "warning", "split-contract",
            f"{systems[s]}: operation by {', '.join(op)} and maintenance by {', '.join(mt)} in "
            f"{', '.join(QUARTERS[x] for x in quarters)}: incidents risk becoming a hot potato "
            f"between the parties; coordination costs {_money(plan, cost)}",
            first_line_of_system.get(systems[s], "")))

    # sla-undefined: vendor work (non-pro-rata labour > 0) without the matching SLA
    work = pd.DataFrame({"k": scen, "v": vend, "op": op_lab > 0, "mt": mt_lab > 0})
    work = work[[vendors[v] != "" for v in work["v"]]].groupby(["k", "v"], sort=True).any()
    first_vendor_line: dict[tuple[int, str], str] = {}
    for i in np.flatnonzero(external & staffed):
        first_vendor_line.setdefault((int(sl.scenario[i]), sl.vendor[i]),
                                     plan.staffing[sl.line[i]].location)
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
    seen = set()
    for i in np.flatnonzero((levels == "L3") & ~external & staffed):
        k, role = int(sl.scenario[i]), roles[sl.role[i]]
        if (k, role) in seen:
            continue
        seen.add((k, role))
        mask = (sl.scenario == k) & (sl.role == sl.role[i]) & ~external
        fte = float(sl.fte[mask].max(axis=1).sum())
        out[names[k]].append(Finding(
            "info", "l3-offshore-candidate",
            f"{role} (L3) has in-house staff (up to {fte:g} FTE): L3 maintenance work is the "
            "usual candidate for offshore delivery", plan.staffing[sl.line[i]].location))
    return out


def _party(vendor: str) -> str:
    return vendor or "In-house"
