"""Scenarios applied to the Staffing lines (spec §4): every scenario's lines stacked in arrays."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from omplan.core.model import QUARTERS, SOURCINGS, Plan

N_Q = len(QUARTERS)


@dataclass
class ScenarioLines:
    """Staffing lines of every scenario stacked: index ``k * n + i`` is line i in scenario k."""

    scenario: np.ndarray  # int, index into plan.scenario_names
    line: np.ndarray  # int, index into plan.staffing
    system: np.ndarray  # int, index into systems
    role: np.ndarray  # int, index into roles
    sourcing: np.ndarray  # int, index into SOURCINGS
    vendor: np.ndarray  # object: resolved vendor name, '' in-house
    fte: np.ndarray  # (N, 4)
    rate_factor: np.ndarray
    sourcing_set_at: np.ndarray  # object: location of the scenario row that set the sourcing
    transition: np.ndarray  # bool: sourcing or vendor differs from the Baseline line


def apply_scenarios(plan: Plan, systems: list[str], roles: list[str]) -> ScenarioLines:
    """Spec §4: each scenario's rows applied in sheet order to matching Baseline lines."""
    lines = plan.staffing
    n = len(lines)
    sys_idx = {s: i for i, s in enumerate(systems)}
    role_idx = {r: i for i, r in enumerate(roles)}
    src_idx = {s: i for i, s in enumerate(SOURCINGS)}
    base_sys = np.array([sys_idx[x.system] for x in lines], dtype=np.int64)
    base_role = np.array([role_idx[x.role] for x in lines], dtype=np.int64)
    base_src = np.array([src_idx[x.sourcing] for x in lines], dtype=np.int64)
    base_cell = np.array([x.vendor for x in lines], dtype=object)
    base_fte = np.array([x.fte for x in lines], dtype=float).reshape(n, N_Q)
    base_vendor = _resolve(base_src, base_cell)

    by_scenario = defaultdict(list)
    for change in plan.scenario_changes:
        by_scenario[change.scenario].append(change)
    parts = []
    for k, name in enumerate(plan.scenario_names):
        src, cell, fte = base_src.copy(), base_cell.copy(), base_fte.copy()
        rf = np.ones(n)
        set_at = np.full(n, "", dtype=object)
        for change in by_scenario.get(name, []):
            mask = np.ones(n, dtype=bool)
            if change.role != "*":
                mask &= base_role == role_idx[change.role]
            if change.system != "*":
                mask &= base_sys == sys_idx.get(change.system, -1)
            if change.change == "sourcing":
                src[mask] = src_idx[str(change.value)]
                set_at[mask] = change.location
            elif change.change == "vendor":
                cell[mask] = str(change.value)
            elif change.change == "fte_factor":
                fte[mask] *= float(change.value)
            else:
                rf[mask] *= float(change.value)
        vendor = _resolve(src, cell)
        moved = (src != base_src) | (vendor != base_vendor) if k else np.zeros(n, dtype=bool)
        parts.append((np.full(n, k), np.arange(n), base_sys, base_role, src, vendor, fte, rf,
                      set_at, moved))
    cols = list(zip(*parts, strict=True))
    return ScenarioLines(*(np.concatenate(c) for c in cols))


def _resolve(src: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Vendor of each line (spec §2): '' in-house, else the cell or '<Sourcing> vendor'."""
    default = np.array(["", *(f"{s} vendor" for s in SOURCINGS[1:])], dtype=object)[src]
    blank = cell == ""
    return np.where(src == 0, "", np.where(blank, default, cell)).astype(object)
