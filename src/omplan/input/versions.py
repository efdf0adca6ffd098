"""Compare two versions of a plan (spec §12): read both, fingerprint and diff their inputs, and
bridge their figures by input category.

The bridge works on the sheets' grids, as read: P_0 is OLD, and P_j is P_{j−1} with the sheets
of category j taken from NEW, grid for grid, so each plan in between is exactly what a user
would get by copying those sheets from one workbook into the other. It lives in ``input/``
because it reads and parses grids (as :func:`omplan.input.reader.load_plan` does) before the
pure core evaluates them; it writes nothing.

Reuse: a category whose sheets are the same grids in both versions is no step to evaluate (its
step is exactly 0), the plan after the last changed category is NEW itself, and OLD and NEW are
evaluated once (or not at all when the caller passes their evaluations). Intermediate plans are
evaluated without the advisories, which no bridge figure needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from omplan.core.engine import build_ledger, compute_arrays
from omplan.core.findings import FileProblem, Finding, has_errors
from omplan.core.ledger import Evaluation
from omplan.core.model import BASELINE, Plan
from omplan.core.periods import MONTH_NAMES
from omplan.core.records import SHEET_ORDER, plan_records
from omplan.core.versions import (
    BRIDGE_CATEGORIES,
    BRIDGE_SHEETS,
    Figures,
    PlanComparison,
    VersionBridge,
    VersionSide,
    bridge_amounts,
    change_log,
    fingerprint,
    telescope,
)
from omplan.input.parse import parse_plan
from omplan.input.tables import SheetGrid, norm_header
from omplan.input.workbook import read_grids


@dataclass
class DiffResult:
    """The comparison, or the errors that prevent it, each with the file it is in."""

    comparison: PlanComparison | None
    errors: list[tuple[str, Finding]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.comparison is not None

    def error_lines(self) -> list[str]:
        """One line per error: ``v2.xlsx: Staffing!E7: FTE Q1 must be …``."""
        return [f"{name}: {f.location + ': ' if f.location else ''}{f.message}"
                for name, f in self.errors]


def compare_plans(old_path: str | os.PathLike[str],
                  new_path: str | os.PathLike[str]) -> DiffResult:
    """``omplan diff OLD NEW``: both files read and checked (errors name the file), then
    :func:`compare_grids`. Never raises for bad input."""
    grids: list[dict[str, SheetGrid]] = []
    errors: list[tuple[str, Finding]] = []
    for path in (old_path, new_path):
        try:
            grids.append(read_grids(path)[0])
        except FileProblem as problem:
            errors.append((Path(path).name, problem.as_finding()))
            grids.append({})
    if errors:
        return DiffResult(None, errors)
    return compare_grids(grids[0], grids[1], Path(old_path).name, Path(new_path).name)


def compare_grids(old_grids: Mapping[str, SheetGrid], new_grids: Mapping[str, SheetGrid],
                  old_name: str = "OLD", new_name: str = "NEW", *,
                  old_evaluation: Evaluation | None = None,
                  new_evaluation: Evaluation | None = None) -> DiffResult:
    """Fingerprints, change log and bridge of two plans given as grids (sheet name -> grid).

    ``old_evaluation`` / ``new_evaluation``: the plans already read and evaluated from these
    grids (e.g. by the run pipeline), to be reused instead of parsed and evaluated again."""
    errors: list[tuple[str, Finding]] = []
    evaluations: list[Evaluation] = []
    for grids, name, given in ((old_grids, old_name, old_evaluation),
                               (new_grids, new_name, new_evaluation)):
        evaluation, problems = (given, given.errors) if given is not None else \
            _evaluate_grids(grids, name)
        errors += [(name, f) for f in problems if f.severity == "error"]
        if evaluation is not None:
            evaluations.append(evaluation)
    if errors or len(evaluations) != 2:
        return DiffResult(None, errors)
    old_eval, new_eval = evaluations
    old_records, new_records = plan_records(old_eval.plan), plan_records(new_eval.plan)
    comparison = PlanComparison(
        VersionSide(old_name, fingerprint(old_records)),
        VersionSide(new_name, fingerprint(new_records)),
        change_log(old_records, new_records),
        version_bridge(old_grids, new_grids, old_eval, new_eval, new_name))
    return DiffResult(comparison)


# --------------------------------------------------------------------------- evaluation


def _evaluate_grids(grids: Mapping[str, SheetGrid], source_name: str
                    ) -> tuple[Evaluation | None, list[Finding]]:
    """Parse and evaluate one plan; None with the errors when it is not a valid plan."""
    plan, findings = parse_plan(grids, source_name)
    if plan is None or has_errors(findings):
        return None, findings
    return _evaluate_quietly(plan)


def _evaluate_quietly(plan: Plan) -> tuple[Evaluation | None, list[Finding]]:
    """The engine's ledger of a plan and its errors, without the advisories (warnings that no
    bridge figure needs): the same arrays and ledger as :func:`omplan.core.engine.evaluate`."""
    arrays = compute_arrays(plan)
    if arrays.errors:
        return None, list(arrays.errors)
    ledger = build_ledger(arrays)
    baseline = ledger["scenario"].cat.codes.to_numpy() == arrays.names.index(BASELINE)
    if not ledger["amount"].to_numpy()[baseline].any():
        return None, [Finding("error", "zero-total", "the Baseline costs nothing", "Staffing")]
    return Evaluation(plan, ledger, [], arrays=arrays), []


# --------------------------------------------------------------------------- the bridge


def _canonical_sheets(grids: Mapping[str, SheetGrid]) -> dict[str, tuple[str, SheetGrid]]:
    """Known sheet (canonical name) -> (its name in the workbook, its grid); names are matched
    as the reader matches them (case and spaces ignored)."""
    known = {norm_header(s): s for s in SHEET_ORDER}
    out: dict[str, tuple[str, SheetGrid]] = {}
    for name, grid in grids.items():
        canonical = known.get(norm_header(name))
        if canonical is not None:
            out[canonical] = (name, grid)
    return out


def _same_grid(a: tuple[str, SheetGrid] | None, b: tuple[str, SheetGrid] | None) -> bool:
    """The same cell values in the same places (so the same parsed sheet)."""
    if a is None or b is None:
        return a is None and b is None
    x, y = a[1], b[1]
    return ((x.origin_row, x.origin_col) == (y.origin_row, y.origin_col)
            and x.special == y.special and list(map(list, x.rows)) == list(map(list, y.rows)))


def _fiscal_years(plan: Plan) -> tuple[int, int]:
    years = plan.horizon.fiscal_years
    return years[0], years[-1]


def _years_text(years: tuple[int, int]) -> str:
    return f"FY{years[0]}" if years[0] == years[1] else f"FY{years[0]}–FY{years[1]}"


def version_bridge(old_grids: Mapping[str, SheetGrid], new_grids: Mapping[str, SheetGrid],
                   old_eval: Evaluation, new_eval: Evaluation,
                   new_name: str = "NEW") -> VersionBridge:
    """The bridge from OLD to NEW by input category (spec §12), over what both plans share.

    Both plans must be in one currency (amounts in different currencies are never added or
    subtracted): otherwise there is no step. Plans over different fiscal years are compared
    over the years both cover (their figures restricted to those quarters, NPV discounted to
    the first of them); plans over the same years by their horizon figures, exactly those of
    ``omplan run --json``. Scenarios are compared when both plans have them (by name)."""
    old_plan, new_plan = old_eval.plan, new_eval.plan
    notes: list[str] = []
    old_names, new_names = old_plan.scenario_names, new_plan.scenario_names
    scenarios = [n for n in new_names if n in old_names]
    only_old = [n for n in old_names if n not in new_names]
    only_new = [n for n in new_names if n not in old_names]
    if only_old:
        notes.append(f"only in OLD, not compared: {', '.join(only_old)}")
    if only_new:
        notes.append(f"only in NEW, not compared: {', '.join(only_new)}")
    old_cur, new_cur = old_plan.settings.currency, new_plan.settings.currency
    old_years, new_years = _fiscal_years(old_plan), _fiscal_years(new_plan)
    empty = VersionBridge([], scenarios, {}, {}, None, None, False, notes)
    if old_cur != new_cur:
        empty.scenarios = []
        notes.insert(0, f"no bridge: OLD is in {old_cur} and NEW in {new_cur}; amounts in "
                        "different currencies are not compared (the change log is complete)")
        return empty
    shared = (max(old_years[0], new_years[0]), min(old_years[1], new_years[1]))
    if shared[0] > shared[1]:
        empty.scenarios = []
        notes.insert(0, f"no bridge: OLD covers {_years_text(old_years)} and NEW "
                        f"{_years_text(new_years)}, no fiscal year in common")
        return empty
    whole = old_years == new_years
    window = None if whole else shared
    if not whole:
        notes.insert(0, f"OLD covers {_years_text(old_years)} and NEW {_years_text(new_years)}: "
                        f"the bridge compares {_years_text(shared)}, the years both cover, with "
                        f"NPV discounted to the start of FY{shared[0]}")
    old_start, new_start = old_plan.settings.fy_start_month, new_plan.settings.fy_start_month
    if old_start != new_start:
        notes.append(f"fiscal years start in {MONTH_NAMES[old_start - 1]} in OLD and in "
                     f"{MONTH_NAMES[new_start - 1]} in NEW: quarters are compared by their "
                     "fiscal-year names")
    old_figures = bridge_amounts(old_eval, window)
    new_figures = bridge_amounts(new_eval, window)

    old_sheets, new_sheets = _canonical_sheets(old_grids), _canonical_sheets(new_grids)
    names = [name for name, _ in BRIDGE_CATEGORIES]
    changed = [not all(_same_grid(old_sheets.get(s), new_sheets.get(s)) for s in sheets)
               for _, sheets in BRIDGE_CATEGORIES]
    all_changed = frozenset(n for n, c in zip(names, changed, strict=True) if c)
    cache: dict[frozenset[str], Figures | None] = {frozenset(): old_figures,
                                                   all_changed: new_figures}
    reasons: dict[frozenset[str], str] = {}
    noted: set[frozenset[str]] = set()
    evaluated = 0
    figures: list[Figures | None] = [old_figures]
    taken: set[str] = set()
    for category, is_changed in zip(names, changed, strict=True):
        if is_changed:
            taken.add(category)
        key = frozenset(taken)
        if key not in cache:
            evaluated += 1
            grids = _mixed_grids(old_sheets, new_sheets, taken)
            evaluation, problems = _evaluate_grids(grids, new_name)
            if evaluation is None:
                cache[key] = None
                first = next((f for f in problems if f.severity == "error"), None)
                reasons[key] = "" if first is None else \
                    f" ({first.location + ': ' if first.location else ''}{first.message})"
            else:
                cache[key] = bridge_amounts(evaluation, window)
        figures.append(cache[key])
        if cache[key] is None and key not in noted:
            noted.add(key)
            notes.append(f"with NEW's {category} and OLD's later sheets the plan is not valid"
                         f"{reasons.get(key, '')}: {category} is merged with the next step")
    steps = telescope(names, figures, scenarios)
    return VersionBridge(steps, scenarios, {n: old_figures[n] for n in scenarios},
                         {n: new_figures[n] for n in scenarios}, new_cur, shared, whole, notes,
                         evaluated)


def _mixed_grids(old_sheets: Mapping[str, tuple[str, SheetGrid]],
                 new_sheets: Mapping[str, tuple[str, SheetGrid]],
                 taken: set[str]) -> dict[str, SheetGrid]:
    """The bridge sheets of P_j: those of the categories in ``taken`` from NEW (absent if NEW
    has none), the others from OLD. Sheets outside the bridge are left out."""
    from_new = {s for name, sheets in BRIDGE_CATEGORIES if name in taken for s in sheets}
    out: dict[str, SheetGrid] = {}
    for sheet in BRIDGE_SHEETS:
        source = new_sheets if sheet in from_new else old_sheets
        found = source.get(sheet)
        if found is not None:
            out[found[0]] = found[1]
    return out


__all__ = ["DiffResult", "compare_grids", "compare_plans", "version_bridge"]

