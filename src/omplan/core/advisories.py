"""Advisory findings per scenario (spec §5): one small check function per code, listed in
:data:`CHECKS` and run in that order by :func:`advise`.

Over a multi-year horizon (spec §7) ``out-of-band`` is checked per fiscal year and the others
look at every quarter of the horizon. The checks read the stacked lines as *segments*: stretches
of a line with one sourcing and vendor (a line a timed change moves is several).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import (
    EngineArrays,
    Parties,
    band_status,
    is_category,
    sum_by,
)
from omplan.core.model import SOURCINGS, Plan
from omplan.core.scenarios import Segments, any_per_row, max_per_row

__all__ = ["CHECKS", "Context", "Parties", "advise"]


def _money(plan: Plan, amount: float) -> str:
    return f"{plan.settings.currency} {amount:,.0f}"


def _party(vendor: str) -> str:
    return vendor or "In-house"


@dataclass
class Context:
    """What every check reads: the engine's arrays and the ledger, plus shared derivations."""

    arrays: EngineArrays
    ledger: pd.DataFrame

    @property
    def plan(self) -> Plan:
        return self.arrays.plan

    @cached_property
    def segments(self) -> Segments:
        seg = self.arrays.segments
        if seg is None:  # arrays built without segments: every line is one
            sl = self.arrays.lines
            seg = Segments(np.arange(len(sl.line)), sl.sourcing[:, 0].astype(np.int64),
                           sl.vendor[:, 0].astype(np.int64), None)
        return seg

    @cached_property
    def scenario(self) -> np.ndarray:
        """Per segment: its scenario."""
        return self.arrays.lines.scenario[self.segments.index]

    @cached_property
    def line(self) -> np.ndarray:
        """Per segment: its Staffing line (index into plan.staffing)."""
        return self.arrays.lines.line[self.segments.index]

    @cached_property
    def role(self) -> np.ndarray:
        return self.arrays.lines.role[self.segments.index]

    @cached_property
    def vendor(self) -> np.ndarray:
        """Per segment: its resolved vendor name ('' in-house)."""
        names = np.array(self.arrays.lines.vendor_names, dtype=object)
        return names[self.segments.vendor]

    @cached_property
    def fte(self) -> np.ndarray:
        """(segments, periods): the FTE in the periods of each segment, 0 elsewhere."""
        return self.segments.take(self.arrays.lines.fte)

    def level_is(self, level: str) -> np.ndarray:
        """Per segment: its role has ``level`` (compared per role, then taken per segment)."""
        of_role = np.array([self.plan.roles[r].level == level for r in self.arrays.roles],
                           dtype=bool)
        return of_role[self.role]

    @cached_property
    def staffed(self) -> np.ndarray:
        return any_per_row(self.fte > 0)

    @cached_property
    def external(self) -> np.ndarray:
        return self.segments.sourcing != 0

    def when(self, i: int) -> str:
        """' from FY2028 Q3' (and/or ' until FY2029 Q2') for a segment that holds only part
        of the horizon, because a timed Scenarios row moved its line; '' for a whole line."""
        active = self.segments.active
        if active is None or self._whole[i]:
            return ""
        periods = np.flatnonzero(active[i])
        first, last = int(periods[0]), int(periods[-1])
        labels = self.plan.horizon.labels
        text = f" from {labels[first]}" if first > 0 else ""
        if last < len(labels) - 1:
            text += f" until {labels[last]}"
        return text

    @cached_property
    def _whole(self) -> np.ndarray:
        """Per segment: it holds every period (a whole line)."""
        active = self.segments.active
        if active is None:
            return np.ones(len(self.segments.index), dtype=bool)
        return np.asarray(active.all(axis=1))

    @cached_property
    def first_line_of_system(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for line in self.plan.staffing:
            first.setdefault(line.system, line.location)
        return first


Check = Callable[[Context], Iterable[tuple[str, Finding]]]


def out_of_band(ctx: Context) -> Iterable[tuple[str, Finding]]:
    """``out-of-band``: the annual operation share outside the band, once per fiscal year
    (the message names the year when the plan covers more than one)."""
    st = ctx.plan.settings
    band = (f"the reference band is {st.band_low:.0%}–{st.band_high:.0%} for each of operation "
            "and maintenance")
    horizon = ctx.plan.horizon
    # a year's operation and maintenance, in one pass over the ledger's codes
    led = ctx.ledger
    n_years = horizon.years
    size = len(ctx.arrays.names) * n_years * 2
    # the group id in the narrowest type that holds it (a pass over 2 bytes a row, not 8)
    code = led["scenario"].cat.codes.to_numpy().astype(np.int16 if size < 2**15 else np.intp)
    if n_years > 1:
        code *= n_years
        code += led["quarter"].cat.codes.to_numpy() >> 2  # the period's year index (k div 4)
    code *= 2
    code += led["kind"].cat.codes.to_numpy()  # operation first
    per_year = np.bincount(code, weights=led["amount"].to_numpy(),
                           minlength=size).reshape(-1, n_years, 2)
    for s, name in enumerate(ctx.arrays.names):
        for y, fiscal_year in enumerate(horizon.fiscal_years):
            op, mt = (float(x) for x in per_year[s, y])
            share, status = band_status(op, op + mt, st.band_low, st.band_high)
            if status in ("operation-heavy", "maintenance-heavy"):
                year = f"in FY{fiscal_year} " if n_years > 1 else ""
                yield name, Finding(
                    "warning", "out-of-band",
                    f"{year}operation is {share:.1%} of the total ({status}); {band}")


def pmo_outsourced(ctx: Context) -> Iterable[tuple[str, Finding]]:
    """``pmo-outsourced``: a PMO-level role with external FTE > 0 in some quarter."""
    names, seg = ctx.arrays.names, ctx.segments
    found = np.flatnonzero(ctx.level_is("PMO") & ctx.external & ctx.staffed)
    if not len(found):
        return
    # plain Python values of the found segments (no numpy scalar per finding)
    staffing, vendor_names = ctx.plan.staffing, ctx.arrays.lines.vendor_names
    for i, k, j, s, v in zip(found.tolist(), ctx.scenario[found].tolist(),
                             ctx.line[found].tolist(), seg.sourcing[found].tolist(),
                             seg.vendor[found].tolist(), strict=True):
        line = staffing[j]
        yield names[k], Finding(
            "warning", "pmo-outsourced",
            f"{line.role} (PMO level) on {line.system} is {SOURCINGS[s]} "
            f"({vendor_names[v]}){ctx.when(i)}: keep the PMO / service owner in-house, who "
            "manages SLAs, quality and budget on your side", line.location)


def split_contract(ctx: Context) -> Iterable[tuple[str, Finding]]:
    """``split-contract``: step 6 fired for a system in one or more quarters."""
    arrays = ctx.arrays
    names, systems, vendors = arrays.names, arrays.systems, arrays.vendors
    p = arrays.parties
    n_sys, n_q = len(systems), arrays.n_periods
    labels = ctx.plan.horizon.labels
    ledger = ctx.ledger
    coordination = sum_by(ledger, ["scenario", "system"],
                          is_category(ledger, "component", "coordination"))
    split = np.unique(np.asarray(p.split_ssq, dtype=np.int64))
    quarters_of: dict[int, list[int]] = defaultdict(list)  # scenario-system id -> quarters
    for ks, qq in zip(*(x.tolist() for x in np.divmod(split, n_q)), strict=True):
        quarters_of[ks].append(qq)
    # one pass over the rows: the distinct (system, party, op?, mt?) of the split quarters
    in_split = np.zeros(len(names) * n_sys * n_q, dtype=bool)
    in_split[split] = True
    op, mt = p.op_labour > 0, p.mt_labour > 0
    rows = np.flatnonzero(in_split[p.ssq] & (op | mt))
    # each vendor's party as its rank among the sorted distinct party names
    parties = sorted({_party(v) for v in vendors})
    rank = np.array([parties.index(_party(v)) for v in vendors], dtype=np.int64)
    ks_rows = p.ssq[rows] // n_q
    party = rank[p.vendor[rows]]
    n_ks = len(names) * n_sys
    op_of = _party_lists(ks_rows[op[rows]], party[op[rows]], parties, n_ks)
    mt_of = _party_lists(ks_rows[mt[rows]], party[mt[rows]], parties, n_ks)
    for ks, quarters in quarters_of.items():
        k, s = divmod(ks, n_sys)
        cost = float(coordination[k, s])
        yield names[k], Finding(
            "warning", "split-contract",
            f"{systems[s]}: operation by {op_of.get(ks, '')} and maintenance by "
            f"{mt_of.get(ks, '')} in {_periods(labels, quarters)}: "
            "incidents risk becoming a hot potato between the parties; coordination costs "
            f"{_money(ctx.plan, cost)}", ctx.first_line_of_system.get(systems[s], ""))


def _party_lists(group: np.ndarray, party: np.ndarray, parties: list[str],
                 n_groups: int) -> dict[int, str]:
    """Per group id (< ``n_groups``): its distinct ``parties`` (rank codes into that sorted
    list), sorted and joined by ', ' (a group's text is built once per distinct set)."""
    n = len(parties)
    # the distinct (group, party rank) pairs in ascending order
    pairs = _distinct(group.astype(np.int64) * n + party, n_groups * n)
    if not len(pairs):
        return {}
    g, r = np.divmod(pairs, n)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(pairs)]
    ranks = r.tolist()
    text_of: dict[tuple[int, ...], str] = {}
    out = {}
    for gg, a, b in zip(g[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        key = tuple(ranks[a:b])
        text = text_of.get(key)
        if text is None:
            text = text_of[key] = ", ".join(parties[i] for i in key)
        out[gg] = text
    return out


def _distinct(codes: np.ndarray, size: int) -> np.ndarray:
    """np.unique(codes) for codes in [0, size): a flag per possible code when that table is
    small (no sort or hash of every code)."""
    if size > 50_000_000:
        return np.unique(codes)
    seen = np.zeros(size, dtype=bool)
    seen[codes] = True
    return np.flatnonzero(seen)


def sla_undefined(ctx: Context) -> Iterable[tuple[str, Finding]]:
    """``sla-undefined``: vendor work (non-pro-rata labour > 0) without the matching SLA."""
    arrays, plan = ctx.arrays, ctx.plan
    names, vendors, p = arrays.names, arrays.vendors, arrays.parties
    # per (scenario, vendor) with rows: any operation / maintenance work, in (scenario,
    # vendor) order (integer codes: no DataFrame group-by)
    n_vend = len(vendors)
    rows = np.flatnonzero(p.vendor != vendors.index(""))
    pair = p.scenario[rows].astype(np.intp) * n_vend + p.vendor[rows]
    size = len(names) * n_vend
    present = np.flatnonzero(np.bincount(pair, minlength=size))
    op_any = np.bincount(pair, weights=p.op_labour[rows] > 0, minlength=size) > 0
    mt_any = np.bincount(pair, weights=p.mt_labour[rows] > 0, minlength=size) > 0
    del rows, pair
    # the first staffed external segment of each (scenario, vendor name)
    ext = np.flatnonzero(ctx.external & ctx.staffed)
    n_names = len(arrays.lines.vendor_names)
    seg_pair = ctx.scenario[ext].astype(np.intp) * n_names + ctx.segments.vendor[ext]
    firsts, first = np.unique(seg_pair, return_index=True)
    first_vendor_line = {
        (k, arrays.lines.vendor_names[v]): plan.staffing[j].location
        for (k, v), j in zip((divmod(f, n_names) for f in firsts.tolist()),
                             ctx.line[ext[first]].tolist(), strict=True)}
    for code in present.tolist():
        k, v = divmod(code, n_vend)
        vendor = vendors[v]
        contract = plan.contracts.get(vendor.casefold())
        where = contract.location if contract else first_vendor_line.get((k, vendor), "")
        missing = []
        if op_any[code] and (contract is None or contract.emergency_sla_hours is None):
            missing.append("emergency response SLA (hours) for its operation work")
        if mt_any[code] and (contract is None or contract.permanent_fix_sla_days is None):
            missing.append("permanent fix SLA (business days) for its maintenance work")
        if missing:
            yield names[k], Finding(
                "warning", "sla-undefined",
                f"vendor '{vendor}' has no {' and no '.join(missing)}: add it on the Contracts "
                "sheet so the time boundary between incident response and bug fixing is agreed",
                where)


def l3_offshore_candidate(ctx: Context) -> Iterable[tuple[str, Finding]]:
    """``l3-offshore-candidate`` (info): L3 in-house FTE > 0, once per scenario and role."""
    arrays = ctx.arrays
    names, roles = arrays.names, arrays.roles
    n_roles = len(roles)
    inhouse = ~ctx.external
    group = ctx.scenario * n_roles + ctx.role
    peak = np.bincount(group[inhouse], weights=max_per_row(ctx.fte)[inhouse],
                       minlength=len(names) * n_roles)
    l3 = np.flatnonzero(ctx.level_is("L3") & inhouse & ctx.staffed)
    _, first = np.unique(group[l3], return_index=True)
    found = l3[np.sort(first)]
    staffing = ctx.plan.staffing
    for k, r, g, j in zip(ctx.scenario[found].tolist(), ctx.role[found].tolist(),
                          group[found].tolist(), ctx.line[found].tolist(), strict=True):
        yield names[k], Finding(
            "info", "l3-offshore-candidate",
            f"{roles[r]} (L3) has in-house staff (up to {float(peak[g]):g} FTE): L3 "
            "maintenance work is the usual candidate for offshore delivery",
            staffing[j].location)


def _periods(labels: tuple[str, ...], ks: list[int]) -> str:
    """``Q1, Q3`` in a one-year plan; else runs of quarters: ``FY2027 Q3–FY2028 Q2, FY2029 Q1``."""
    if len(labels) == 4:
        return ", ".join(labels[k] for k in ks)
    runs: list[list[int]] = []
    for k in sorted(ks):
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    return ", ".join(labels[a] if a == b else f"{labels[a]}–{labels[b]}" for a, b in runs)


#: Every advisory check, in the order their findings are listed for a scenario.
CHECKS: tuple[Check, ...] = (
    out_of_band, pmo_outsourced, split_contract, sla_undefined, l3_offshore_candidate,
)


def advise(arrays: EngineArrays, ledger: pd.DataFrame,
           checks: tuple[Check, ...] = CHECKS) -> dict[str, list[Finding]]:
    """The advisory findings of each scenario: every check of ``checks`` in order."""
    out: dict[str, list[Finding]] = {name: [] for name in arrays.names}
    ctx = Context(arrays, ledger)
    for check in checks:
        for name, finding in check(ctx):
            out[name].append(finding)
    return out
