"""The cheapest sourcing mix that meets the plan's rules (the Options sheet).

Each Baseline Staffing line takes one choice: its Baseline state or a (sourcing, vendor) an
Options row offers it (PMO lines: In-house only). The optimised scenario is the Baseline with a
sourcing (and vendor) change from ``optimise_from`` on every line whose choice differs. It must
be within the band every fiscal year, keep to ``max_changes`` and ``transition_budget``, keep
every vendor within its Max FTE and every system at ``min_inhouse_share`` in-house FTE; among
the mixes that do, the lowest NPV of cost wins, and among those within half a cent of it, the
one with the fewest changes.

The search is exact, not a heuristic. Costs are linear in the choices once each line's cost per
choice and quarter is known; those coefficients come from the engine itself (one evaluation of
the plan with every choice as a scenario), so they match it to the cent. Coordination (split
contracts) is modelled exactly with binaries. The band is not linear where pro-rata roles and
coordination are split by a mix that depends on the choices: the linear model bounds those
shares (its feasible set contains the true one), every candidate is checked by the engine,
a rejected candidate makes the model exact where it was loose (or is cut off), and the search
repeats until the model's bound proves the engine-checked best mix optimal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omplan.core.business import CENT_TOLERANCE, discount_factors, npv
from omplan.core.engine import compute_arrays, evaluate
from omplan.core.ledger import BAND_EDGE_TOLERANCE, band_status, is_category, sum_by
from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    IN_HOUSE,
    Kind,
    Plan,
    ScenarioChange,
    resolve_vendor,
)
from omplan.core.periods import quarter_index

__all__ = [
    "Choice", "ConstraintCheck", "Infeasibility", "LineChange", "OptimiserFigures",
    "line_choices", "optimise", "optimise_start", "optimised_changes", "paste_rows",
    "with_optimised",
]

#: Mixes whose NPV of cost is within half a cent of the minimum tie (then fewest changes wins).
TIE = CENT_TOLERANCE
#: How far the linear model's band may sit outside the real one (a share): the model must
#: contain every mix the engine accepts, rounding included.
_BAND_MARGIN = 1e-7
#: How much wider than computed the bounds of a mix-dependent share are kept (rounding).
_SHARE_MARGIN = 1e-9
#: FTE compared with a limit (capacity, in-house share) may be off by rounding only.
_FTE_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True, slots=True)
class Choice:
    """A state a line may take: its sourcing and resolved vendor ('' for In-house)."""

    sourcing: str
    vendor: str

    def to_json(self) -> dict[str, Any]:
        return {"sourcing": self.sourcing, "vendor": self.vendor or None}

    @property
    def label(self) -> str:
        return self.sourcing if not self.vendor else f"{self.sourcing} ({self.vendor})"


def optimise_start(plan: Plan) -> int:
    """The period index k from which the optimised mix applies (``optimise_from``; blank =
    the first quarter). The reader has checked the text; an unreadable one counts as blank."""
    return quarter_index(plan.settings.optimise_from, plan.horizon) or 0


def line_choices(plan: Plan) -> tuple[list[Choice], list[list[Choice]]]:
    """(each line's Baseline state, the choices it may take). A PMO-level line takes only
    In-house: an external PMO line with an In-house option must take it; one without keeps
    its Baseline state. Options whose (role, sourcing) has no rate offer nothing."""
    baseline: list[Choice] = []
    choices: list[list[Choice]] = []
    for line in plan.staffing:
        base = Choice(line.sourcing, resolve_vendor(line.sourcing, line.vendor))
        offered: list[Choice] = []
        for option in plan.options:
            if option.role not in ("*", line.role) or option.system not in ("*", line.system):
                continue
            if (line.role, option.sourcing) not in plan.rates:
                continue
            choice = Choice(option.sourcing, resolve_vendor(option.sourcing, option.vendor))
            if choice not in offered:
                offered.append(choice)
        if plan.roles[line.role].level == "PMO":
            in_house = [c for c in offered if c.sourcing == IN_HOUSE]
            line_options = [base] if base.sourcing == IN_HOUSE or not in_house else in_house[:1]
        else:
            line_options = [base, *(c for c in offered if c != base)]
        baseline.append(base)
        choices.append(line_options)
    return baseline, choices


def _rows_for(plan: Plan, i: int, choice: Choice, name: str, start: int,
              explicit_vendor: bool = True) -> list[ScenarioChange]:
    """The Scenarios rows that put line i on ``choice`` from period ``start`` on (that line
    alone): a sourcing row, and a vendor row for an external choice."""
    line = plan.staffing[i]
    out = []
    if choice.sourcing != line.sourcing or explicit_vendor:
        out.append(ScenarioChange(name, line.role, line.system, "sourcing", choice.sourcing,
                                  "", start, i))
    if choice.sourcing != IN_HOUSE and (explicit_vendor or resolve_vendor(
            choice.sourcing, line.vendor) != choice.vendor):
        out.append(ScenarioChange(name, line.role, line.system, "vendor", choice.vendor, "",
                                  start, i))
    return out


def optimised_changes(plan: Plan, mix: Sequence[Choice], name: str,
                      start: int) -> list[ScenarioChange]:
    """The optimised scenario's rows: each line whose choice differs from its Baseline state
    moves from ``start`` on, that line alone (``ScenarioChange.line``)."""
    out: list[ScenarioChange] = []
    for i, choice in enumerate(mix):
        line = plan.staffing[i]
        if choice != Choice(line.sourcing, resolve_vendor(line.sourcing, line.vendor)):
            out += _rows_for(plan, i, choice, name, start, explicit_vendor=False)
    if not out:  # the Baseline is the best mix: a row that changes nothing names the scenario
        out.append(ScenarioChange(name, "*", "*", "fte_factor", 1.0, "", start))
    return out


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class LineChange:
    """One Staffing line the optimised mix moves."""

    line: int
    location: str
    system: str
    role: str
    before: Choice
    after: Choice

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "system": self.system, "role": self.role,
                "from": self.before.to_json(), "to": self.after.to_json()}


@dataclass(frozen=True, slots=True)
class ConstraintCheck:
    """A rule on the optimised mix: its value, its limit and the room left (slack ≥ 0 when
    met); ``binding`` when the mix could be cheaper without it. ``unit`` is ``share``,
    ``count``, ``money`` or ``fte``; ``where`` names the quarter of the tightest value."""

    name: str
    value: float
    limit: float
    slack: float
    unit: str
    binding: bool = False
    where: str = ""


@dataclass(frozen=True, slots=True)
class Infeasibility:
    """Why no mix meets the rules: the rule that cannot be met, its limit, the value a mix
    would need (or the best value found) and a sentence for the planner."""

    constraint: str
    limit: float | None
    needed: float | None
    message: str
    also: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"constraint": self.constraint, "limit": self.limit, "needed": self.needed,
                "message": self.message, "also": list(self.also)}


@dataclass(frozen=True, slots=True)
class OptimiserFigures:
    """What the optimiser found: the JSON ``optimiser`` block (:meth:`to_json`) and what the
    Optimiser sheet and the terminal show besides (constraints, rows to paste, search)."""

    status: str  # optimal | feasible | infeasible
    scenario: str | None
    npv_cost: float | None
    npv_savings: float | None
    gap: float | None
    candidates_checked: int
    changes: tuple[LineChange, ...] = ()
    binding: tuple[str, ...] = ()
    infeasible: Infeasibility | None = None
    #: every rule with value, limit and slack (empty when infeasible)
    constraints: tuple[ConstraintCheck, ...] = ()
    #: the optimised scenario's rows (one line each), appended by :func:`with_optimised`
    scenario_changes: tuple[ScenarioChange, ...] = ()
    #: period index k from which the mix applies (k0 of payback_from_change_months)
    start: int = 0
    baseline_npv_cost: float = 0.0
    #: the search: linear models solved, candidates cut off, seconds taken
    solves: int = 0
    cuts: int = 0
    refinements: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``optimiser`` block of the JSON summary."""
        return {"status": self.status, "scenario": self.scenario, "npv_cost": self.npv_cost,
                "npv_savings": self.npv_savings, "gap": self.gap,
                "candidates_checked": self.candidates_checked,
                "changes": [c.to_json() for c in self.changes],
                "binding": list(self.binding),
                "infeasible": None if self.infeasible is None else self.infeasible.to_json()}


def with_optimised(plan: Plan, figures: OptimiserFigures) -> Plan:
    """The plan with the optimised scenario appended after the Scenarios sheet's (unchanged
    when no mix was found), so that every figure, sheet and the JSON include it."""
    if figures.scenario is None or figures.status == "infeasible":
        return plan
    return dataclasses.replace(plan, scenario_changes=[*plan.scenario_changes,
                                                       *figures.scenario_changes])


def paste_rows(plan: Plan, figures: OptimiserFigures) -> list[list[Any]]:
    """The changes as Scenarios rows (Scenario, Role, System, Change, Value, From, Staffing
    row): one pair per role and system whose lines all end in the same state, else per line
    with its Staffing row named (those rows apply to that line alone)."""
    if not figures.changes or figures.scenario is None:
        return []
    start = plan.horizon.periods[figures.start]
    when = None if figures.start == 0 else (
        start.name if plan.horizon.years == 1 else start.label)
    final = [Choice(x.sourcing, resolve_vendor(x.sourcing, x.vendor)) for x in plan.staffing]
    for change in figures.changes:
        final[change.line] = change.after
    groups: dict[tuple[str, str], list[int]] = {}
    for i, line in enumerate(plan.staffing):
        groups.setdefault((line.role, line.system), []).append(i)
    out: list[list[Any]] = []
    done: set[tuple[str, str]] = set()
    for change in figures.changes:
        key = (change.role, change.system)
        if key in done:
            continue
        members = groups[key]
        same = all(final[i] == change.after for i in members)
        targets = [None] if same else [c for c in figures.changes if
                                       (c.role, c.system) == key]
        if same:
            done.add(key)
        for target in targets:
            after = change.after if target is None else target.after
            row_ref = "" if target is None else target.location
            out.append([figures.scenario, change.role, change.system, "sourcing",
                        after.sourcing, when, row_ref])
            if after.vendor:
                out.append([figures.scenario, change.role, change.system, "vendor",
                            after.vendor, when, row_ref])
        done.add(key)
    return out


# --------------------------------------------------------------------------- set-up


@dataclass
class _Setup:
    """The plan as the linear model sees it: every (line, choice) pair x with its cost per
    quarter from the engine, and what the rules need of it. Pairs are in line order; line i's
    pairs are ``x_first[i]:x_first[i + 1]``."""

    plan: Plan
    start: int
    n_periods: int
    baseline: list[Choice]
    choices: list[list[Choice]]
    # per pair x
    x_line: np.ndarray
    x_first: np.ndarray
    x_choice: list[Choice]
    x_changed: np.ndarray  # bool: differs from the Baseline state
    x_in_house: np.ndarray
    lab: np.ndarray  # (X, K) labour L from start on (0 before)
    labour: np.ndarray  # (X, K) L + V from start on
    transition: np.ndarray  # (X,)
    transition_at: np.ndarray  # (X,) period the transition is booked in (-1: none)
    npv_cost: np.ndarray  # (X,) discounted L + V + T from start on
    # per line
    fte: np.ndarray  # (n, K)
    system: np.ndarray  # (n,) index into systems
    systems: list[str]
    op_share: np.ndarray  # (n,) operation share of the role (pro-rata: 0)
    has_op: np.ndarray  # (n,) the role has operation shares (split-contract parties)
    has_mt: np.ndarray
    pro_rata: np.ndarray  # (n,)
    # constants per quarter
    discount: np.ndarray
    base_op: np.ndarray  # Baseline operation
    base_total: np.ndarray
    other_op: np.ndarray  # other costs on operation activities
    other_total: np.ndarray
    base_npv: float = 0.0

    @property
    def n_lines(self) -> int:
        return len(self.baseline)

    @property
    def n_x(self) -> int:
        return len(self.x_line)

    def pairs(self, i: int | np.integer) -> np.ndarray:
        return np.arange(int(self.x_first[i]), int(self.x_first[i + 1]))

    def years(self) -> list[int]:
        return self.plan.horizon.fiscal_years


def _setup(plan: Plan) -> _Setup:
    """Choices, and each one's costs per quarter as the engine computes them: the plan is
    evaluated once with the j-th choice of every line as scenario j."""
    start = optimise_start(plan)
    n_k = len(plan.horizon)
    baseline, choices = line_choices(plan)
    n = len(baseline)
    n_probe = max((len(c) for c in choices), default=1)
    rows: list[ScenarioChange] = []
    for j in range(n_probe):
        for i, offered in enumerate(choices):
            if j < len(offered):
                rows += _rows_for(plan, i, offered[j], f"choice {j + 1}", start)
    arrays = compute_arrays(dataclasses.replace(plan, scenario_changes=rows, options=[]))
    st = plan.settings
    fte = np.asarray(arrays.lines.fte[:n], dtype=float)
    after = np.arange(n_k) >= start
    x_line: list[int] = []
    x_choice: list[Choice] = []
    lab_rows: list[np.ndarray] = []
    trans: list[float] = []
    trans_at: list[int] = []
    for i, offered in enumerate(choices):
        kept = []
        staffed = (fte[i] > 0) & after
        first = np.flatnonzero(staffed)
        # each choice j as scenario j priced it; the Baseline (scenario 0) when none is left
        priced = [(c, arrays.line_rate[(1 + j) * n + i]) for j, c in enumerate(offered)]
        priced = [(c, rate) for c, rate in priced
                  if c == baseline[i] or not (rate[staffed] <= 0).any()]  # no rate: no choice
        for choice, rate in priced or [(baseline[i], arrays.line_rate[i])]:
            kept.append(choice)
            x_line.append(i)
            x_choice.append(choice)
            lab_rows.append(np.where(after, fte[i] * 3.0 * rate, 0.0))  # as the engine
            if choice != baseline[i] and len(first):
                k = int(first[0])
                trans.append(st.transition_months * rate[k] * fte[i, k])
                trans_at.append(k)
            else:
                trans.append(0.0)
                trans_at.append(-1)
        choices[i] = kept
    x_line_a = np.array(x_line, dtype=np.int64)
    x_in_house = np.array([c.sourcing == IN_HOUSE for c in x_choice], dtype=bool)
    lab = np.array(lab_rows).reshape(len(x_line), n_k)
    labour = lab + st.vendor_overhead * lab * ~x_in_house[:, None]  # L + V, as the engine
    discount = discount_factors(n_k, st.discount_rate)
    trans_a = np.array(trans)
    trans_at_a = np.array(trans_at, dtype=np.int64)
    npv_cost = labour @ discount + np.where(trans_at_a >= 0,
                                            trans_a * discount[np.maximum(trans_at_a, 0)], 0)
    op_share = np.zeros(n)
    has_op = np.zeros(n, dtype=bool)
    has_mt = np.zeros(n, dtype=bool)
    pro = np.zeros(n, dtype=bool)
    for i, line in enumerate(plan.staffing):
        alloc = plan.allocation.get(line.role)
        if alloc is None or alloc.shares is None:
            pro[i] = True
            continue
        shares = np.array([alloc.shares.get(a, 0.0) for a in ACTIVITIES])
        shares = shares / shares.sum()  # as the engine normalises them
        op_share[i] = shares[:4].sum()
        has_op[i] = op_share[i] > 0
        has_mt[i] = shares[4:].sum() > 0
    systems = list(dict.fromkeys(x.system for x in plan.staffing))
    system = np.array([systems.index(x.system) for x in plan.staffing], dtype=np.int64)
    base = evaluate(dataclasses.replace(plan, scenario_changes=[], options=[]))
    base_op, base_mt = _quarter_totals(base, 0)
    other_op = np.zeros(n_k)
    other_total = np.zeros(n_k)
    for cost, amounts in zip(plan.costs, arrays.other_costs, strict=True):
        other_total += amounts
        if ACTIVITY_KIND[cost.activity] is Kind.OPERATION:
            other_op += amounts
    base_total = base_op + base_mt
    return _Setup(
        plan=plan, start=start, n_periods=n_k, baseline=baseline, choices=choices,
        x_line=x_line_a, x_first=np.searchsorted(x_line_a, np.arange(n + 1)),
        x_choice=x_choice,
        x_changed=np.array([c != baseline[i] for i, c in zip(x_line, x_choice, strict=True)],
                           dtype=bool),
        x_in_house=x_in_house, lab=lab, labour=labour, transition=trans_a,
        transition_at=trans_at_a, npv_cost=npv_cost, fte=fte, system=system, systems=systems,
        op_share=op_share, has_op=has_op, has_mt=has_mt, pro_rata=pro, discount=discount,
        base_op=base_op, base_total=base_total, other_op=other_op, other_total=other_total,
        base_npv=npv(base_total, st.discount_rate))


def _quarter_totals(evaluation: Any, scenario: int) -> tuple[np.ndarray, np.ndarray]:
    """(operation, maintenance) per quarter of a scenario, as the figures add them up."""
    per_q = sum_by(evaluation.ledger, ["scenario", "quarter", "kind"])[scenario]
    return per_q[:, 0], per_q[:, 1]


def ratio_bounds(phi: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    """The least and the greatest Σ w φ / Σ w over weights low ≤ w ≤ high (a weighted mean
    of fixed shares whose weights move within bounds: at an extreme the shares below it
    weigh their most, or their least, and those above it the other way round)."""

    def least(p: np.ndarray) -> float:
        order = np.argsort(p, kind="stable")
        p, a, b = p[order], low[order], high[order]
        zero = np.zeros(1)
        num = np.concatenate([zero, np.cumsum(b * p)]) + (
            np.sum(a * p) - np.concatenate([zero, np.cumsum(a * p)]))
        den = np.concatenate([zero, np.cumsum(b)]) + (
            np.sum(a) - np.concatenate([zero, np.cumsum(a)]))
        ok = den > 0
        return float(np.min(num[ok] / den[ok])) if ok.any() else 0.0

    if not len(phi):
        return 0.0, 1.0
    return max(0.0, least(phi)), min(1.0, -least(-phi))


# --------------------------------------------------------------------------- the model

Row = tuple[np.ndarray, np.ndarray, float, float]


def _row(cols: Sequence[int] | np.ndarray, vals: Sequence[float] | np.ndarray, lo: float,
         hi: float) -> Row:
    return (np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float), lo, hi)


@dataclass
class _Family:
    """A rule (its name as ``binding`` reports it), its rows and its limit; ``totals`` are
    the system FTE of each in-house share row."""

    name: str
    kind: str  # band | max_changes | transition_budget | capacity | min_inhouse_share
    rows: list[Row] = field(default_factory=list)
    limit: float | None = None
    totals: list[float] = field(default_factory=list)


class _Model:
    """The linear model: one binary x per (line, choice), the split-contract variables, the
    rules as row families; the band rows are rebuilt from the pro-rata groups made exact so
    far. Its feasible set contains every mix the engine accepts; its cost is the NPV."""

    def __init__(self, s: _Setup) -> None:
        self.s = s
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.cost: list[float] = []
        self.x = self._vars(s.n_x, 0.0, 1.0, integer=True, cost=s.npv_cost)
        #: the NPV of what no choice changes: the Baseline before ``start``, other costs after
        after = np.arange(s.n_periods) >= s.start
        self.constant = float(np.where(after, s.other_total, s.base_total) @ s.discount)
        self.base: list[Row] = [_row(self.x[s.pairs(i)], np.ones(len(s.pairs(i))), 1.0, 1.0)
                                for i in range(s.n_lines)]
        #: split-contract coordination: (system, periods, w variables, amount per w and
        #: period) for each group of periods with the same staffed lines
        self.coord: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.exact: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # -> (xs, u)
        self._band_cache: tuple[int, list[_Family]] | None = None
        #: mixes excluded (their x variables), each with the rules the engine found broken
        #: (none: a mix already checked)
        self.cuts: list[tuple[np.ndarray, frozenset[str]]] = []
        self._coordination()
        self.families = self._limits()
        self._share_bounds()
        # the band with the engine's edge tolerance and a margin: never tighter than it
        st = s.plan.settings
        self.band_low = st.band_low - BAND_EDGE_TOLERANCE - _BAND_MARGIN
        self.band_high = st.band_high + BAND_EDGE_TOLERANCE + _BAND_MARGIN

    def _vars(self, count: int, lo: float, hi: float, integer: bool = False,
              cost: np.ndarray | float = 0.0) -> np.ndarray:
        first = len(self.lb)
        self.lb += [lo] * count
        self.ub += [hi] * count
        self.integer += [1 if integer else 0] * count
        self.cost += np.broadcast_to(np.asarray(cost, dtype=float), (count,)).tolist()
        return np.arange(first, first + count)

    @property
    def n_vars(self) -> int:
        return len(self.lb)

    # split contracts, exactly ----------------------------------------------------------

    def _coordination(self) -> None:
        """Coordination per system and period from ``start``: periods with the same staffed
        lines share the party variables (who does operation, who maintenance)."""
        s = self.s
        co = s.plan.settings.coordination_overhead
        if co == 0:
            return
        external = ~s.x_in_house
        for sys_i in range(len(s.systems)):
            lines = np.flatnonzero(s.system == sys_i)
            groups: dict[bytes, list[int]] = {}
            for k in range(s.start, s.n_periods):
                groups.setdefault((s.fte[lines, k] > 0).tobytes(), []).append(k)
            for key, periods in groups.items():
                staffed = lines[np.frombuffer(key, dtype=bool)]
                if not len(staffed):
                    continue
                xs = np.concatenate([s.pairs(i) for i in staffed])
                if not external[xs].any():
                    continue  # nobody external: no coordination
                self._split_group(sys_i, staffed, xs, periods, co)

    def _split_group(self, sys_i: int, staffed: np.ndarray, xs: np.ndarray,
                     periods: list[int], co: float) -> None:
        s = self.s
        op: dict[str, list[int]] = {}
        mt: dict[str, list[int]] = {}
        for x in xs:
            i = s.x_line[x]
            if s.pro_rata[i]:
                continue  # parties come from roles with shares only
            party = s.x_choice[x].vendor  # '' is In-house
            if s.has_op[i]:
                op.setdefault(party, []).append(int(self.x[x]))
            if s.has_mt[i]:
                mt.setdefault(party, []).append(int(self.x[x]))
        if not op or not mt:
            return  # never both kinds of work here: never a split contract
        rows = self.base
        # some staffed line here does operation work and some maintenance work, whatever it
        # chooses: both kinds are done, so a split contract is a party doing one kind only
        z = int(self._vars(1, 0.0, 1.0, integer=True)[0])
        o_var: dict[str, int] = {}
        m_var: dict[str, int] = {}
        for members, var in ((op, o_var), (mt, m_var)):
            for party, xs_p in members.items():
                v = int(self._vars(1, 0.0, 1.0)[0])  # the party does this kind of work
                var[party] = v
                rows += [_row([v, m], [1.0, -1.0], 0.0, np.inf) for m in xs_p]
                rows.append(_row([v, *xs_p], [1.0] + [-1.0] * len(xs_p), -np.inf, 0.0))
        for party in dict.fromkeys([*op, *mt]):
            o, m = o_var.get(party), m_var.get(party)
            # z ≥ |O_p − M_p|: split when a party does one kind of work only. Only the lower
            # bounds: a larger z or w only costs more, so the model's cost of a mix is its
            # real cost (at its least), and every real mix stays feasible
            for a, b in ((o, m), (m, o)):
                if a is not None:
                    cols, vals = ([z, a, b], [1.0, -1.0, 1.0]) if b is not None else (
                        [z, a], [1.0, -1.0])
                    rows.append(_row(cols, vals, 0.0, np.inf))
        # coordination = coordination_overhead × (L + V of the external lines) when split:
        # w = z × x for each external pair, exactly (x, z binary)
        ext = xs[~s.x_in_house[xs]]
        ks = np.asarray(periods, dtype=np.int64)
        amount = co * s.labour[np.ix_(ext, ks)]  # (pairs, periods)
        keep = amount.sum(axis=1) > 0
        ext, amount = ext[keep], amount[keep]
        if not len(ext):
            return
        w = self._vars(len(ext), 0.0, 1.0, cost=amount @ s.discount[ks])
        for wv, xv in zip(w, self.x[ext], strict=True):  # w ≥ x + z − 1
            rows.append(_row([wv, xv, z], [1.0, -1.0, -1.0], -1.0, np.inf))
        self.coord.append((sys_i, ks, w, amount))

    # the limits ------------------------------------------------------------------------

    def _limits(self) -> list[_Family]:
        s = self.s
        st = s.plan.settings
        x = self.x
        out = []
        if st.max_changes is not None:
            fam = _Family("max_changes", "max_changes", limit=float(st.max_changes))
            fam.rows.append(_row(x[s.x_changed], np.ones(int(s.x_changed.sum())), -np.inf,
                                 float(st.max_changes)))
            out.append(fam)
        if st.transition_budget is not None:
            fam = _Family("transition_budget", "transition_budget",
                          limit=float(st.transition_budget))
            has = s.transition > 0
            fam.rows.append(_row(x[has], s.transition[has], -np.inf,
                                 float(st.transition_budget) + TIE))
            out.append(fam)
        offered = {c.vendor.casefold() for c in s.x_choice if c.vendor}
        for contract in s.plan.contracts.values():
            if contract.max_fte is None or contract.vendor.casefold() not in offered:
                continue
            mine = np.array([c.vendor.casefold() == contract.vendor.casefold()
                             for c in s.x_choice])
            fam = _Family(f"capacity {contract.vendor}", "capacity", limit=contract.max_fte)
            seen: set[bytes] = set()
            for k in range(s.start, s.n_periods):
                vals = s.fte[s.x_line[mine], k]
                if vals.tobytes() not in seen:
                    seen.add(vals.tobytes())
                    fam.rows.append(_row(x[mine], vals, -np.inf,
                                         contract.max_fte + _FTE_TOLERANCE))
            out.append(fam)
        share = st.min_inhouse_share
        if share > 0:
            for sys_i, name in enumerate(s.systems):
                mine = (s.system[s.x_line] == sys_i) & s.x_in_house
                fam = _Family(f"min_inhouse_share {name}", "min_inhouse_share", limit=share)
                seen = set()
                for k in range(s.start, s.n_periods):
                    total = float(s.fte[s.system == sys_i, k].sum())
                    vals = s.fte[s.x_line[mine], k]
                    key = vals.tobytes() + np.float64(total).tobytes()
                    if total > 0 and key not in seen:
                        seen.add(key)
                        fam.rows.append(_row(x[mine], vals, share * total - _FTE_TOLERANCE,
                                             np.inf))
                        fam.totals.append(total)
                if fam.rows:
                    out.append(fam)
        return out

    # the band ----------------------------------------------------------------------------

    def _share_bounds(self) -> None:
        """The operation share of each pro-rata mix (system, period) and of each coordination
        mix over every mix of choices: the bounds the band rows use until made exact."""
        s = self.s
        n_k = s.n_periods
        # the least and most labour L and L + V of each line in each period
        first = s.x_first[:-1]
        has = s.x_first[1:] > first
        lab_lo = np.zeros((s.n_lines, n_k))
        lab_hi = np.zeros((s.n_lines, n_k))
        lv_lo = np.zeros((s.n_lines, n_k))
        lv_hi = np.zeros((s.n_lines, n_k))
        if s.n_x:
            idx = first[has]
            lab_lo[has] = np.minimum.reduceat(s.lab, idx, axis=0)
            lab_hi[has] = np.maximum.reduceat(s.lab, idx, axis=0)
            lv_lo[has] = np.minimum.reduceat(s.labour, idx, axis=0)
            lv_hi[has] = np.maximum.reduceat(s.labour, idx, axis=0)
        self.pro_bounds: dict[tuple[int, int], tuple[float, float]] = {}
        self.coord_bounds: dict[tuple[int, int], tuple[float, float]] = {}
        self.fallback: set[tuple[int, int]] = set()
        nonpro = ~s.pro_rata
        coordinated = {(sys_i, int(k)) for sys_i, ks, _, _ in self.coord for k in ks}
        memo: dict[bytes, tuple[float, float]] = {}

        def _ratio_bounds(phi: np.ndarray, low: np.ndarray,
                          high: np.ndarray) -> tuple[float, float]:
            key = phi.tobytes() + low.tobytes() + high.tobytes()  # quarters alike: once
            found = memo.get(key)
            if found is None:  # a hair wider: a share at its bound stays inside, rounded
                least, most = ratio_bounds(phi, low, high)
                found = memo[key] = (max(0.0, least - _SHARE_MARGIN),
                                     min(1.0, most + _SHARE_MARGIN))
            return found

        for k in range(s.start, n_k):
            staffed = s.fte[:, k] > 0
            plan_wide: tuple[float, float] | None = None
            for sys_i in np.unique(s.system[staffed]):
                key = (int(sys_i), k)
                here = staffed & (s.system == sys_i)
                if not (here & s.pro_rata).any() and key not in coordinated:
                    continue  # no mix-dependent share here
                own = np.flatnonzero(here & nonpro)
                if len(own):
                    r = _ratio_bounds(s.op_share[own], lab_lo[own, k], lab_hi[own, k])
                else:  # the plan-wide mix of the period
                    if plan_wide is None:
                        every = np.flatnonzero(staffed & nonpro)
                        plan_wide = _ratio_bounds(s.op_share[every], lab_lo[every, k],
                                                  lab_hi[every, k])
                    r = plan_wide
                    self.fallback.add(key)
                if (here & s.pro_rata).any():
                    self.pro_bounds[key] = r
                if key in coordinated:
                    lines = np.flatnonzero(here)
                    pro = s.pro_rata[lines]
                    phi = s.op_share[lines]
                    a, b = lv_lo[lines, k], lv_hi[lines, k]
                    self.coord_bounds[key] = (
                        _ratio_bounds(np.where(pro, r[0], phi), a, b)[0],
                        _ratio_bounds(np.where(pro, r[1], phi), a, b)[1])

    def _amounts(self, xs: np.ndarray, periods: Sequence[int]) -> np.ndarray:
        """L + V + T of pairs ``xs`` over ``periods``."""
        s = self.s
        return (s.labour[np.ix_(xs, np.asarray(periods, dtype=np.int64))].sum(axis=1)
                + np.where(np.isin(s.transition_at[xs], periods), s.transition[xs], 0.0))

    def band_expression(self, y: int, share: float, upper: bool) -> tuple[Row, float]:
        """Fiscal year index y's Σ amount × (operation share − ``share``) as (row over the
        variables, constant): with ``upper`` an upper bound of it for every mix (the share
        of a mix-dependent amount at its highest), else the negated lower bound."""
        s = self.s
        sign = 1.0 if upper else -1.0
        periods = list(range(4 * y, 4 * y + 4))
        before = [k for k in periods if k < s.start]
        after = [k for k in periods if k >= s.start]
        const = sign * float(s.base_op[before].sum() - share * s.base_total[before].sum()
                             + s.other_op[after].sum() - share * s.other_total[after].sum())
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        if after:
            nonpro = ~s.pro_rata[s.x_line]
            xs = np.flatnonzero(nonpro)
            amount = self._amounts(xs, after)
            cols.append(self.x[xs])
            vals.append(sign * amount * (s.op_share[s.x_line[xs]] - share))
        for k in after:
            for (sys_i, kk), (lo, hi) in self.pro_bounds.items():
                if kk != k:
                    continue
                lines = np.flatnonzero((s.system == sys_i) & (s.fte[:, k] > 0) & s.pro_rata)
                if not len(lines):
                    continue
                xs = np.concatenate([s.pairs(i) for i in lines])
                amount = self._amounts(xs, [k])
                exact = self.exact.get((sys_i, k))
                if exact is not None:  # Σ P (u − share × x), u = r × x
                    all_xs, u = exact
                    cols += [u[np.searchsorted(all_xs, xs)], self.x[xs]]
                    vals += [sign * amount, -sign * share * amount]
                else:
                    bound = hi if upper else lo
                    cols.append(self.x[xs])
                    vals.append(sign * amount * (bound - share))
        for sys_i, ks, w, coord_amount in self.coord:
            factor = np.array([(self.coord_bounds[(sys_i, int(k))][1 if upper else 0] - share)
                               if k // 4 == y else 0.0 for k in ks])
            if factor.any():
                cols.append(w)
                vals.append(sign * coord_amount @ factor)
        row = _row(np.concatenate(cols) if cols else np.zeros(0, np.int64),
                   np.concatenate(vals) if vals else np.zeros(0), -np.inf, np.inf)
        return row, const

    def band_families(self) -> list[_Family]:
        """Per fiscal year: share ≥ band_low and share ≤ band_high (each over its bounds); a
        year that cannot cost anything fails both. Built again only after a refinement."""
        key = len(self.exact)
        if self._band_cache is None or self._band_cache[0] != key:
            self._band_cache = (key, self._band_families())
        return self._band_cache[1]

    def _band_families(self) -> list[_Family]:
        s = self.s
        st = s.plan.settings
        out = []
        for y, fy in enumerate(s.years()):
            periods = range(4 * y, 4 * y + 4)
            costs = (s.base_total[[k for k in periods if k < s.start]].sum() > 0
                     or s.other_total[list(periods)].sum() > 0
                     or any((s.fte[:, k] > 0).any() for k in periods if k >= s.start))
            for side, share, upper in (("low", self.band_low, True),
                                       ("high", self.band_high, False)):
                fam = _Family(f"band FY{fy} {side}", "band",
                              limit=st.band_low if side == "low" else st.band_high)
                (cols, vals, _, _), const = self.band_expression(y, share, upper)
                fam.rows.append(_row(cols, vals, -const if costs else 1.0, np.inf))
                out.append(fam)
        return out

    def refine(self, year: int) -> bool:
        """Make the pro-rata terms of fiscal year index ``year`` exact: r = O / N for the
        system's labour mix, with u = r × x linearised exactly (x binary). False when nothing
        was left to make exact (the plan-wide mix and fixed mixes stay at their bounds)."""
        s = self.s
        done = False
        for (sys_i, k), (lo, hi) in self.pro_bounds.items():
            if k // 4 != year or (sys_i, k) in self.exact or (sys_i, k) in self.fallback \
                    or hi - lo <= 1e-12:
                continue
            here = (s.system == sys_i) & (s.fte[:, k] > 0)
            if not (here & s.pro_rata).any():
                continue
            xs = np.concatenate([s.pairs(i) for i in np.flatnonzero(here)])
            r = int(self._vars(1, lo, hi)[0])
            u = self._vars(len(xs), 0.0, hi)
            for xv, uv in zip(self.x[xs], u, strict=True):  # u = r × x
                self.base.append(_row([uv, xv], [1.0, -lo], 0.0, np.inf))
                self.base.append(_row([uv, xv], [1.0, -hi], -np.inf, 0.0))
                self.base.append(_row([uv, r, xv], [1.0, -1.0, -lo], -np.inf, -lo))
                self.base.append(_row([uv, r, xv], [1.0, -1.0, -hi], -hi, np.inf))
            w = np.where(s.pro_rata[s.x_line[xs]], 0.0, s.lab[xs, k])
            phi = s.op_share[s.x_line[xs]]
            # Σ L φ x = Σ L u, i.e. r × N = O: r is the operation share of the labour mix
            w = w / max(float(w.max(initial=0.0)), 1.0)  # the same row, in units near 1
            self.base.append(_row(np.concatenate([self.x[xs], u]),
                                  np.concatenate([w * phi, -w]), 0.0, 0.0))
            self.exact[(sys_i, k)] = (xs, u)
            done = True
        return done

    def cut(self, mix: np.ndarray, broken: Sequence[str] = ()) -> None:
        """Exclude one mix (its pairs): at least one line chooses otherwise. A mix cut for
        the rules it breaks comes back when a solve drops all of them."""
        self.cuts.append((self.x[mix], frozenset(broken)))

    def solve(self, *, drop: Sequence[str] = (), objective: np.ndarray | None = None,
              extra: Sequence[Row] = (), time_limit: float = 60.0, cuts: bool = True,
              relax: bool = False) -> Any:
        """Solve without the families (or kinds of family) named in ``drop``, minimising
        ``objective`` (default: the NPV of cost); ``extra`` rows added; with ``relax`` the
        linear relaxation (every variable continuous: a bound, fast)."""
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_matrix

        rows = list(self.base)
        for fam in [*self.families, *self.band_families()]:
            if fam.name not in drop and fam.kind not in drop:
                rows += fam.rows
        if cuts:
            dropped = set(drop)
            rows += [_row(c, np.ones(len(c)), -np.inf, len(c) - 1.0) for c, broken in self.cuts
                     if not broken or not all(b in dropped or b.split()[0] in dropped
                                              for b in broken)]
        rows += list(extra)
        n = self.n_vars
        sizes = np.array([len(c) for c, _, _, _ in rows])
        matrix = csr_matrix(
            (np.concatenate([v for _, v, _, _ in rows]),
             np.concatenate([c for c, _, _, _ in rows]),
             np.concatenate([[0], np.cumsum(sizes)])), shape=(len(rows), n))
        matrix.sum_duplicates()
        cost = np.asarray(self.cost) if objective is None else objective
        lo = np.array([r[2] for r in rows])
        hi = np.array([r[3] for r in rows])
        lb, ub = np.asarray(self.lb), np.asarray(self.ub)
        integer = np.zeros(n) if relax else np.asarray(self.integer)
        deadline = time.perf_counter() + max(time_limit, 0.05)

        def run(lower: np.ndarray, upper: np.ndarray) -> Any:
            for presolve in (True, False):
                with _quiet_stdout():
                    result = milp(cost, integrality=integer, bounds=Bounds(lower, upper),
                                  constraints=[LinearConstraint(matrix, lo, hi)],
                                  options={"disp": False, "mip_rel_gap": 0.0,
                                           "presolve": presolve, "time_limit": max(
                                               deadline - time.perf_counter(), 0.05)})
                # HiGHS's presolve can call a model infeasible that is not, on rounding: an
                # infeasible answer is confirmed without it
                if result.status != 2:
                    break
            return result

        if relax or int(np.sum(integer)) < _FIXING_SIZE:
            return run(lb, ub)
        choices = np.zeros(n, dtype=bool)
        choices[self.x] = True
        return _fix_and_solve(run, cost, matrix, lo, hi, lb, ub, choices)

    def mix_of(self, result: Any) -> np.ndarray:
        """The pair each line chooses in a solution."""
        values = np.asarray(result.x)[self.x]
        s = self.s
        return np.array([s.x_first[i] + int(np.argmax(values[s.pairs(i)]))
                         for i in range(s.n_lines)], dtype=np.int64)

    def value(self, result: Any) -> float:
        """The NPV of cost of a solution (the bound of its mix's real NPV)."""
        return self.constant + float(np.dot(self.cost, result.x))


#: Models with at least this many binaries are first solved as linear programs: their
#: reduced costs fix the binaries no optimal mix can use before the integer search
#: (HiGHS spends most of its time on a large model's root otherwise).
_FIXING_SIZE = 1500


def _fix_and_solve(run: Any, cost: np.ndarray, matrix: Any, lo: np.ndarray, hi: np.ndarray,
                   lb: np.ndarray, ub: np.ndarray, integer: np.ndarray) -> Any:
    """Solve exactly, faster: the linear relaxation gives a bound and reduced costs; the
    integer problem with every choice (``integer``: the x binaries) the relaxation leaves at
    0 or 1 fixed there gives a mix (a bound from above); every choice whose reduced cost
    alone exceeds the gap between the two is fixed at 0 (no better mix can take it), and the
    rest is solved as usual."""
    lp = _linear_program(cost, matrix, lo, hi, lb, ub)
    if lp is None:
        return run(lb, ub)
    x = np.asarray(lp.x)
    at_zero = integer & (x <= 1e-9)
    at_one = integer & (x >= 1 - 1e-9)
    lower, upper = lb.copy(), ub.copy()
    upper[at_zero] = 0.0
    lower[at_one] = 1.0
    restricted = run(lower, upper)
    if restricted.x is None or restricted.status != 0:
        return run(lb, ub)
    bound, found = float(lp.fun), float(restricted.fun)
    margin = 1e-7 * max(1.0, abs(found)) + 1e-6
    if found - bound <= margin:  # the relaxation's bound is met: optimal
        return restricted
    reduced = np.asarray(lp.lower.marginals)
    upper = ub.copy()
    upper[at_zero & (bound + reduced > found + margin)] = 0.0
    return run(lb, upper)


def _linear_program(cost: np.ndarray, matrix: Any, lo: np.ndarray, hi: np.ndarray,
                    lb: np.ndarray, ub: np.ndarray) -> Any | None:
    """The linear relaxation with its reduced costs (``lower.marginals``); None when it
    does not solve to optimality."""
    from scipy.optimize import linprog
    from scipy.sparse import vstack

    equal = np.isfinite(lo) & (lo == hi)
    above = np.isfinite(hi) & ~equal
    below = np.isfinite(lo) & ~equal
    a_ub = vstack([matrix[np.flatnonzero(above)], -matrix[np.flatnonzero(below)]]).tocsr()
    b_ub = np.concatenate([hi[above], -lo[below]])
    with _quiet_stdout():
        lp = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=matrix[np.flatnonzero(equal)],
                     b_eq=lo[equal], bounds=np.column_stack([lb, ub]), method="highs")
    return lp if lp.status == 0 else None


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Keep the terminal clean while HiGHS runs: some builds print a banner on file
    descriptor 1 even with ``disp`` off."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor
        fd = 1
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(fd)
    except OSError:  # no descriptor 1 at all (a GUI process): nothing to keep clean
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


# --------------------------------------------------------------------------- checks


@dataclass
class _Checked:
    """A mix evaluated by the engine: its figures and the rules it breaks."""

    mix: np.ndarray
    npv_cost: float
    changes: int
    shares: list[float | None]
    transition: float
    capacity: dict[str, tuple[float, str]]  # vendor -> (most FTE from start, its quarter)
    in_house: dict[str, tuple[float, str]]  # system -> (least share from start, its quarter)
    broken: list[str]
    band_years: list[int]  # year indexes out of band

    @property
    def ok(self) -> bool:
        return not self.broken


def _mix_choices(s: _Setup, mix: np.ndarray) -> list[Choice]:
    return [s.x_choice[x] for x in mix]


def _check(s: _Setup, mix: np.ndarray, name: str) -> _Checked:
    """Evaluate a mix with the engine and test every rule on its figures."""
    plan = s.plan
    st = plan.settings
    rows = optimised_changes(plan, _mix_choices(s, mix), name, s.start)
    evaluation = evaluate(dataclasses.replace(plan, scenario_changes=rows, options=[]))
    if evaluation.errors:
        raise ValueError("the optimised mix does not evaluate: "
                         + "; ".join(str(e) for e in evaluation.errors))
    op, mt = _quarter_totals(evaluation, 1)
    cost = npv(op + mt, st.discount_rate)
    horizon = plan.horizon
    shares: list[float | None] = []
    broken: list[str] = []
    band_years: list[int] = []
    for y, fy in enumerate(horizon.fiscal_years):
        y_op = float(sum(float(v) for v in op[4 * y:4 * y + 4]))  # as the year's figures
        y_mt = float(sum(float(v) for v in mt[4 * y:4 * y + 4]))
        share, status = band_status(y_op, y_op + y_mt, st.band_low, st.band_high)
        shares.append(share)
        if status != "within":
            broken.append(f"band FY{fy} {'high' if status == 'operation-heavy' else 'low'}")
            band_years.append(y)
    led = evaluation.ledger
    transition = float(sum_by(led, ["scenario"],
                              is_category(led, "component", "transition"))[1])
    changes = int(s.x_changed[mix].sum())
    if st.max_changes is not None and changes > st.max_changes:
        broken.append("max_changes")
    if st.transition_budget is not None and transition > st.transition_budget + TIE:
        broken.append("transition_budget")
    assert evaluation.arrays is not None
    sl = evaluation.arrays.lines
    n = s.n_lines
    fte, vendor, src = sl.fte[n:2 * n], sl.vendor[n:2 * n], sl.sourcing[n:2 * n]
    names = [v.casefold() for v in sl.vendor_names]
    labels = horizon.labels
    capacity: dict[str, tuple[float, str]] = {}
    for contract in plan.contracts.values():
        codes = [c for c, v in enumerate(names) if v == contract.vendor.casefold()]
        if contract.max_fte is None or not codes or s.start >= s.n_periods:
            continue
        use = np.where(np.isin(vendor, codes), fte, 0.0).sum(axis=0)[s.start:]
        k = int(np.argmax(use))
        capacity[contract.vendor] = (float(use[k]), labels[s.start + k])
        if use[k] > contract.max_fte + _FTE_TOLERANCE:
            broken.append(f"capacity {contract.vendor}")
    in_house: dict[str, tuple[float, str]] = {}
    if st.min_inhouse_share > 0:
        for sys_i, system in enumerate(s.systems):
            lines = s.system == sys_i
            total = fte[lines].sum(axis=0)
            own = np.where(src[lines] == 0, fte[lines], 0.0).sum(axis=0)
            worst: tuple[float, str] | None = None
            fails = False
            for k in range(s.start, s.n_periods):
                if total[k] <= 0:
                    continue
                share = float(own[k] / total[k])
                if worst is None or share < worst[0]:
                    worst = (share, labels[k])
                fails |= bool(own[k] < st.min_inhouse_share * total[k] - _FTE_TOLERANCE)
            if worst is not None:
                in_house[system] = worst
            if fails:
                broken.append(f"min_inhouse_share {system}")
    return _Checked(mix, cost, changes, shares, transition, capacity, in_house, broken,
                    band_years)


# --------------------------------------------------------------------------- the search


@dataclass
class _Search:
    """One search: the model, the engine-checked mixes and the counters."""

    s: _Setup
    model: _Model
    deadline: float
    name: str
    checked: dict[bytes, _Checked] = field(default_factory=dict)
    solves: int = 0
    refinements: int = 0

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def solve(self, **kw: Any) -> Any:
        self.solves += 1
        return self.model.solve(time_limit=self.left(), **kw)

    def objective(self) -> np.ndarray:
        """The NPV of cost plus a tiny amount per change (together below a quarter of the
        tie, TIE / 4): among mixes that cost the same, the model prefers fewer changes."""
        out = np.asarray(self.model.cost).copy()
        out[self.model.x[self.s.x_changed]] += TIE / (4 * (self.s.n_lines + 1))
        return out

    def check(self, mix: np.ndarray) -> _Checked:
        key = mix.tobytes()
        found = self.checked.get(key)
        if found is None:
            found = self.checked[key] = _check(self.s, mix, self.name)
        return found

    def reject(self, checked: _Checked) -> None:
        """A mix the engine rejects: make the model exact where it was loose, else cut it."""
        refined = False
        for y in checked.band_years:
            refined |= self.model.refine(y)
        if refined:
            self.refinements += 1
        else:
            self.model.cut(checked.mix, checked.broken)


def optimise(plan: Plan, time_limit: float | None = None) -> OptimiserFigures:
    """The cheapest mix of the plan's Options that meets its rules, engine-checked. The
    optimised scenario's rows are in the figures (:func:`with_optimised` appends them)."""
    began = time.perf_counter()
    limit = plan.settings.optimise_seconds if time_limit is None else time_limit
    s = _setup(plan)
    model = _Model(s)
    search = _Search(s, model, began + limit, plan.settings.optimised_name)
    best: _Checked | None = None
    bound = -np.inf  # the least NPV of cost any mix not yet checked can have
    proven = False
    steer = TIE / 4  # what the steering towards fewer changes may add to the objective
    while search.left() > 0:
        result = search.solve(objective=search.objective())
        if result.x is None:  # nothing left (every other mix cut), or out of time
            proven = result.status == 2 and best is not None
            if result.status != 2:
                bound = _dual_bound(result) + model.constant - steer
            break
        lower = model.value(result)
        bound = (lower - steer if result.status == 0
                 else _dual_bound(result) + model.constant - steer)
        if best is not None and bound >= best.npv_cost - TIE:
            proven = True
            break
        checked = search.check(model.mix_of(result))
        if not checked.ok:
            search.reject(checked)
            continue
        if best is None or checked.npv_cost < best.npv_cost:
            best = checked
        if result.status == 0 and checked.npv_cost <= lower + TIE / 2:
            proven = True  # within the tie of the bound of every mix not yet excluded
            break
        model.cut(checked.mix)  # dearer than the model said: look further
    if best is None:
        return _infeasible(search, began)
    # what follows (fewer changes among near ties, which rules bind) takes at most a third
    # as long again as the search (at least a second), within the time limit
    search.deadline = min(search.deadline, time.perf_counter()
                          + max(_EXTRA_SECONDS, (time.perf_counter() - began) / 3))
    binding: list[str] = []
    if proven:
        binding = _binding(search, best, _constraint_checks(search.s, best))
        best = _fewest_changes(search, best)
        gap = 0.0
    else:
        gap = max(0.0, best.npv_cost - bound) / max(abs(best.npv_cost), 1.0)
    return _figures(search, best, "optimal" if proven else "feasible", gap, began, binding)


#: The least time the tie-break and the binding rules get after the search.
_EXTRA_SECONDS = 1.0


def _dual_bound(result: Any) -> float:
    value = getattr(result, "mip_dual_bound", None)
    return float(value) if value is not None and np.isfinite(value) else -np.inf


def _fewest_changes(search: _Search, best: _Checked) -> _Checked:
    """Among the mixes within half a cent of the cheapest, one with the fewest changes: the
    cheapest mix with fewer changes than the best so far is looked for until it costs more
    than the cheapest plus half a cent (or there is none)."""
    s, model = search.s, search.model
    window = best.npv_cost + TIE
    while best.changes > 0 and search.left() > 0:
        fewer = _row(model.x[s.x_changed], np.ones(int(s.x_changed.sum())), -np.inf,
                     best.changes - 1.0)
        bound = search.solve(extra=[fewer], relax=True)  # a bound first: usually enough
        if bound.x is None or model.value(bound) > window:
            break
        result = search.solve(objective=search.objective(), extra=[fewer])
        if result.x is None or model.value(result) > window:
            break
        checked = search.check(model.mix_of(result))
        if checked.ok and checked.npv_cost <= window:
            best = checked
        elif checked.ok:
            model.cut(checked.mix)
        else:
            search.reject(checked)
    return best


# --------------------------------------------------------------------------- results


def _figures(search: _Search, best: _Checked, status: str, gap: float,
             began: float, binding: list[str]) -> OptimiserFigures:
    s = search.s
    plan = s.plan
    choices = _mix_choices(s, best.mix)
    changes = tuple(
        LineChange(i, plan.staffing[i].location, plan.staffing[i].system,
                   plan.staffing[i].role, s.baseline[i], c)
        for i, c in enumerate(choices) if c != s.baseline[i])
    checks = [dataclasses.replace(c, binding=c.name in binding)
              for c in _constraint_checks(s, best)]
    return OptimiserFigures(
        status=status, scenario=search.name, npv_cost=best.npv_cost,
        npv_savings=s.base_npv - best.npv_cost, gap=gap,
        candidates_checked=len(search.checked), changes=changes, binding=tuple(binding),
        constraints=tuple(checks),
        scenario_changes=tuple(optimised_changes(plan, choices, search.name, s.start)),
        start=s.start, baseline_npv_cost=s.base_npv, solves=search.solves,
        cuts=len(search.model.cuts), refinements=search.refinements,
        seconds=time.perf_counter() - began)


def _constraint_checks(s: _Setup, best: _Checked) -> list[ConstraintCheck]:
    st = s.plan.settings
    out = []
    for y, fy in enumerate(s.years()):
        share = best.shares[y]
        value = float("nan") if share is None else share
        out.append(ConstraintCheck(f"band FY{fy} low", value, st.band_low,
                                   value - st.band_low, "share"))
        out.append(ConstraintCheck(f"band FY{fy} high", value, st.band_high,
                                   st.band_high - value, "share"))
    if st.max_changes is not None:
        out.append(ConstraintCheck("max_changes", best.changes, st.max_changes,
                                   st.max_changes - best.changes, "count"))
    if st.transition_budget is not None:
        out.append(ConstraintCheck("transition_budget", best.transition, st.transition_budget,
                                   st.transition_budget - best.transition, "money"))
    for contract in s.plan.contracts.values():
        if contract.vendor in best.capacity and contract.max_fte is not None:
            use, where = best.capacity[contract.vendor]
            out.append(ConstraintCheck(f"capacity {contract.vendor}", use, contract.max_fte,
                                       contract.max_fte - use, "fte", where=where))
    for system, (share, where) in best.in_house.items():
        out.append(ConstraintCheck(f"min_inhouse_share {system}", share, st.min_inhouse_share,
                                   share - st.min_inhouse_share, "share", where=where))
    return out


_LIMITS = ("max_changes", "transition_budget", "capacity", "min_inhouse_share")
_RULE_KINDS = ("band", *_LIMITS)


def _binding(search: _Search, best: _Checked, checks: list[ConstraintCheck]) -> list[str]:
    """The rules without which the mix could be cheaper by more than half a cent. First the
    cheapest single moves from the mix (one line to another choice) are checked with the
    engine: a cheaper move that breaks one rule alone proves that rule binding. Then each
    rule left with too little room for one more move is dropped in turn and the cheapest mix
    without it looked for (engine-checked, as in the search), while time allows."""
    found = _binding_moves(search, best)
    tight = sorted((c for c in checks if c.name not in found and _tight(search.s, c)),
                   key=lambda c: c.slack / max(abs(c.limit), 1e-9))
    found |= {c.name for c in tight
              if search.left() > 0 and _cheaper_without(search, c.name, best.npv_cost)}
    return [c.name for c in checks if c.name in found]


def _binding_moves(search: _Search, best: _Checked, per_choice: int = 3,
                   tries: int = 24) -> set[str]:
    """Rules proven binding by one line's move: for each choice (sourcing and vendor) the
    ``per_choice`` moves to it that save the most (by the model's cost of each line), at
    most ``tries`` in all, each checked by the engine."""
    s = search.s
    current = best.mix
    saving = s.npv_cost[current][s.x_line] - s.npv_cost  # per pair: what moving there saves
    saving[current] = -np.inf
    by_choice: dict[Choice, list[int]] = {}
    for x in np.argsort(-saving, kind="stable"):
        if saving[x] <= TIE:
            break
        picked = by_choice.setdefault(s.x_choice[x], [])
        if len(picked) < per_choice:
            picked.append(int(x))
    order = sorted((x for xs in by_choice.values() for x in xs), key=lambda x: -saving[x])
    found: set[str] = set()
    for x in order[:tries]:
        if search.left() <= 0:
            break
        mix = current.copy()
        mix[s.x_line[x]] = x
        checked = search.check(mix)
        if len(checked.broken) == 1 and checked.npv_cost < best.npv_cost - TIE:
            found.add(checked.broken[0])
    return found


def _cheaper_without(search: _Search, rule: str, cost: float, tries: int = 25) -> bool:
    """Whether some mix that meets every rule but ``rule`` costs less than ``cost``."""
    model = search.model
    bound = search.solve(drop=[rule], relax=True)  # a bound first: usually enough
    if bound.x is None or model.value(bound) >= cost - TIE:
        return False
    for _ in range(tries):
        if search.left() <= 0:
            return False
        result = search.solve(drop=[rule])
        if result.x is None or model.value(result) >= cost - TIE:
            return False
        checked = search.check(model.mix_of(result))
        others = [b for b in checked.broken if b != rule]
        if not others:
            if checked.npv_cost < cost - TIE:
                return True
            model.cut(checked.mix)
        else:
            search.reject(dataclasses.replace(checked, broken=others, band_years=[
                y for y in checked.band_years
                if any(b.startswith(f"band FY{search.s.years()[y]} ") for b in others)]))
    return False


def _tight(s: _Setup, check: ConstraintCheck) -> bool:
    """Whether a rule has less room (slack) than one line's move could use: only such a rule
    can stand between the mix and a cheaper one."""
    if check.unit == "count":
        return check.slack < 1
    if check.unit == "money":
        return check.slack < float(s.transition.max(initial=0.0))
    if check.unit == "fte":
        return check.slack < float(s.fte[:, s.start:].max(initial=0.0))
    if check.name.startswith("min_inhouse_share "):
        lines = s.system == s.systems.index(check.name[len("min_inhouse_share "):])
        after = s.fte[lines, s.start:]
        total = after.sum(axis=0)
        step = np.divide(after.max(axis=0), total, out=np.zeros_like(total), where=total > 0)
        return check.slack < float(step.max(initial=0.0))
    # a band edge: one line moving shifts the year's share by at most its largest cost
    # difference over the year's total
    y = int(check.name.split()[1][2:]) - s.plan.horizon.first_fiscal_year
    periods = [k for k in range(4 * y, 4 * y + 4) if k >= s.start]
    if not periods:
        return False
    amount = s.labour[:, periods].sum(axis=1)
    spread = max((float(np.ptp(amount[s.pairs(i)])) for i in range(s.n_lines)
                  if len(s.pairs(i)) > 1), default=0.0)
    total = float(s.base_total[4 * y:4 * y + 4].sum())
    return total <= 0 or check.slack < 2 * spread / total


# --------------------------------------------------------------------------- infeasible


def _infeasible(search: _Search, began: float) -> OptimiserFigures:
    """No mix meets the rules: the rule that cannot be met, and by how much."""
    return OptimiserFigures(
        status="infeasible", scenario=None, npv_cost=None, npv_savings=None, gap=None,
        candidates_checked=len(search.checked), infeasible=_diagnose(search),
        start=search.s.start, baseline_npv_cost=search.s.base_npv, solves=search.solves,
        cuts=len(search.model.cuts), refinements=search.refinements,
        seconds=time.perf_counter() - began)


def _feasible(search: _Search, drop: Sequence[str]) -> bool:
    """Whether the linear model has a mix without the ``drop`` rules."""
    zero = np.zeros(search.model.n_vars)
    return search.solve(drop=drop, objective=zero, cuts="band" not in drop).x is not None


def _diagnose(search: _Search) -> Infeasibility:
    """Relax the rules to find the one that cannot be met: the band when no limit would
    help, else each limit whose relaxation alone admits a mix, with the value it needs."""
    model = search.model
    st = search.s.plan.settings
    if search.left() <= 0:
        return Infeasibility("time", st.optimise_seconds, None,
                             f"the search stopped after {st.optimise_seconds:g} s before it "
                             "found a mix that meets every rule: raise optimise_seconds")
    search.deadline = max(search.deadline, time.perf_counter() + 30.0)  # time to explain
    if not _feasible(search, _LIMITS):
        return _band_infeasibility(search)
    kinds = [k for k in _LIMITS if any(f.kind == k for f in model.families)]
    together: list[str] = []
    for size in range(1, len(kinds) + 1):  # the fewest kinds of limit whose relaxation helps
        found = [c for c in itertools.combinations(kinds, size) if _feasible(search, c)]
        if found:
            together = list(found[0])
            break
    kind, relaxed = together[0], together[1:]
    members = [f for f in model.families if f.kind == kind]
    single = [f for f in members[:20] if _feasible(search, [f.name, *relaxed])]
    needed, message = _needed(search, single[:1] or members, relaxed)
    if relaxed:
        message = (f"no mix meets {' and '.join(together)} together; with "
                   f"{' and '.join(relaxed)} relaxed, {message}")
    name = single[0].name if single else kind
    limit = members[0].limit if single or len(members) == 1 else None
    return Infeasibility(name, limit, needed, message,
                         tuple([*(f.name for f in single[1:]), *relaxed]))


def _needed(search: _Search, fams: Sequence[_Family],
            relaxed: Sequence[str] = ()) -> tuple[float | None, str]:
    """The value of a limit (one family, or every family of a kind together) that the mixes
    meeting every other rule but ``relaxed`` need at least."""
    s, model = search.s, search.model
    fam = fams[0]
    drop = [*(f.name for f in fams), *relaxed]
    if fam.kind in ("max_changes", "transition_budget"):
        obj = np.zeros(model.n_vars)
        obj[model.x] = (s.x_changed.astype(float) if fam.kind == "max_changes"
                        else s.transition)
        result = search.solve(drop=drop, objective=obj)
        if result.x is None:
            return None, f"no mix meets the other rules, whatever {fam.name}"
        need = float(np.dot(obj, result.x))
        if fam.kind == "max_changes":
            need = float(round(need))
            return need, (f"no mix within the rules makes at most {fam.limit:g} changes: the "
                          f"fewest a mix needs is {need:g}; raise max_changes")
        return need, (f"no mix within the rules keeps its transition cost to "
                      f"{fam.limit:,.0f}: a mix needs at least {need:,.0f}; raise "
                      "transition_budget")
    # capacities or in-house shares: what they allow as one variable t, optimised
    t = int(model._vars(1, -1e12, 1e12)[0])
    several = len(fams) > 1
    extra = []
    for f in fams:
        for j, (cols, vals, _, _) in enumerate(f.rows):
            if f.kind == "capacity":  # FTE with the vendor ≤ t (several: ≤ Max FTE + t)
                cap = (f.limit or 0.0) if several else 0.0
                extra.append(_row(np.r_[cols, t], np.r_[vals, -1.0], -np.inf, cap))
            else:  # in-house FTE ≥ t × the system's FTE
                extra.append(_row(np.r_[cols, t], np.r_[vals, -f.totals[j]], 0.0, np.inf))
    obj = np.zeros(model.n_vars)
    obj[t] = 1.0 if fam.kind == "capacity" else -1.0
    result = search.solve(drop=drop, objective=obj, extra=extra)
    model.lb[t] = model.ub[t] = 0.0  # retire the helper variable
    if result.x is None:
        return None, f"no mix meets the other rules, whatever {fam.kind}"
    need = max(0.0, float(result.x[t]))
    if fam.kind == "capacity":
        if several:
            vendors = ", ".join(f.name[len("capacity "):] for f in fams)
            return need, (f"the vendors {vendors} are short of capacity (Max FTE on "
                          f"Contracts): a mix that meets the other rules needs {need:.2f} FTE "
                          "more at one of them")
        vendor = fam.name[len("capacity "):]
        return need, (f"{vendor} can take {fam.limit:g} FTE (Max FTE on Contracts), but the "
                      f"mixes that meet the other rules need at least {need:.2f} FTE there")
    where = (fam.name[len("min_inhouse_share "):] if not several
             else "every system at once")
    return need, (f"the most in-house share of FTE a mix keeps in {where} in every quarter "
                  f"is {need:.1%} with the other rules met, against min_inhouse_share "
                  f"{fam.limit:.0%}")


def _band_infeasibility(search: _Search) -> Infeasibility:
    """The band cannot be met whatever the limits: the fiscal year and edge that fail, and
    the nearest operation share a mix reaches there (checked by the engine)."""
    s, model = search.s, search.model
    bands = model.band_families()
    names = [b.name for b in bands]
    failing = [b for b in bands
               if not _feasible(search, [*_LIMITS, *(n for n in names if n != b.name)])]
    fam = (failing or bands)[0]
    _, year, side = fam.name.split()
    y = s.years().index(int(year[2:]))
    reached = _extreme_share(search, y, side)
    also = tuple(b.name for b in failing[1:])
    if reached is None:
        return Infeasibility(fam.name, fam.limit, None,
                             f"{year} has no cost at all, so it has no operation share", also)
    assert fam.limit is not None
    word, where = ("highest", "below") if side == "low" else ("lowest", "above")
    return Infeasibility(fam.name, fam.limit, reached,
                         f"the {word} operation share a mix reaches in {year} is "
                         f"{reached:.1%}, {where} band_{side} {fam.limit:.1%}", also)


def _extreme_share(search: _Search, y: int, side: str) -> float | None:
    """The highest (edge low) or lowest (edge high) operation share of fiscal year index y
    over the mixes, by Dinkelbach's method on the model (op − λ × total at its bound), each
    step's mix checked by the engine: the least violation found."""
    s, model = search.s, search.model
    best: float | None = None
    share = s.plan.settings.band_low if side == "low" else s.plan.settings.band_high
    for _ in range(12):
        (cols, vals, _, _), _const = model.band_expression(y, share, side == "low")
        obj = np.zeros(model.n_vars)
        np.add.at(obj, cols, vals)
        # maximise op − λ × total (edge low) or λ × total − op (edge high)
        result = search.solve(drop=_RULE_KINDS, objective=-obj, cuts=False)
        if result.x is None:
            break
        reached = search.check(model.mix_of(result)).shares[y]
        if reached is None:
            return None
        improved = best is None or (reached > best if side == "low" else reached < best)
        if not improved:
            break
        best = share = reached
    return best
