"""The custom functions: OM_SUMMARY, OM_SPLIT, OM_PAYBACK, OM_VARIANCE, OM_BAND_STATUS and
OM_TARGET_SHARE, for desktop Excel (``UDF Modules = omplan.excel``), xlwings Lite and Server.

The table arguments become the grids of plan sheets (a finding's ``Sheet!A1`` is a cell of
the argument's range), go through the one pipeline (:func:`omplan.pipeline.run_grids`) and
come back as figures. ``OM_SUMMARY`` and ``OM_SPLIT`` read the Baseline's figures straight
from the ledger's group-bys (the same sums, bit for bit, as the report's Baseline sheet and
the JSON), not from a whole report: a recalculation costs milliseconds.

A bad argument is one ``#OMPLAN: …`` text in the cell, never a traceback. This module imports
xlwings at import time (its decorators register the functions).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xlwings as xw

from omplan.core.findings import Finding
from omplan.core.ledger import band_status, is_category
from omplan.core.model import (
    ACTIVITIES,
    BASELINE,
    MAINTENANCE_ACTIVITIES,
    OPERATION_ACTIVITIES,
    Plan,
    Settings,
)
from omplan.core.periods import quarter_labels
from omplan.input.reader import SheetGrid, norm_header
from omplan.pipeline import PlanRun, run_grids

#: fiscal_year used by the custom functions when their settings argument has none (it only
#: labels; no figure depends on it).
DEFAULT_FISCAL_YEAR = 2000
#: Level given to every role when a custom function gets no roles argument (levels do not
#: change any figure the functions return).
DEFAULT_LEVEL = "L2"
ERROR_PREFIX = "#OMPLAN: "
#: what the plan read from a function's arguments is called in its findings
SOURCE_NAME = "custom function"

_F = TypeVar("_F", bound=Callable[..., Any])


def _no_converters(function: _F) -> _F:
    """Drop ``function``'s annotations before xlwings reads them: xlwings (and Lite) take an
    argument's or the result's annotation as its converter, so the type hints, which are for
    mypy and the reader, must not reach it (``@xw.arg`` gives the converters)."""
    function.__annotations__ = {}
    return function


class _ArgumentError(ValueError):
    """A problem with an argument: its message is the cell's ``#OMPLAN: …`` text."""


#: cell values :func:`_clean` leaves as they are
_PLAIN = frozenset({str, int, bool})


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str):
        try:
            return _clean(item())
        except (ValueError, TypeError):
            return value
    return value


def table_rows(value: Any) -> list[list[Any]]:
    """A table argument as rows of cells, header first: a DataFrame (its columns are the
    header row) or a 2-D list (a 1-D list is one row)."""
    if isinstance(value, pd.DataFrame):
        body = value.to_numpy(dtype=object).tolist()  # Python values, NaN for empty cells
        return [[_clean(c) for c in value.columns]] + [
            [v if type(v) in _PLAIN else _clean(v) for v in row] for row in body]
    if isinstance(value, list | tuple):
        if value and not isinstance(value[0], list | tuple):
            return [[_clean(v) for v in value]]
        return [[_clean(v) for v in row] for row in value]
    raise _ArgumentError(f"expected a table (a range with a header row), got {value!r}")


def _roles_from(grids: dict[str, SheetGrid]) -> SheetGrid:
    """A Roles table listing every role the other tables use, each at DEFAULT_LEVEL."""
    from omplan.input.tables import Collector, find_table, rows

    roles: dict[str, None] = {}
    for name in ("Allocation", "Staffing", "Rates"):
        grid = grids.get(name)
        if grid is None:
            continue
        out = Collector()
        table = find_table(grid, ("Role",), (), out)
        if table is None:
            continue
        for row in rows(table, out):
            role = row.text("Role", "Role", required=False)
            if role:
                roles[role] = None
    return SheetGrid("Roles", [["Role", "Level"], *([r, DEFAULT_LEVEL] for r in roles)])


def _settings_grid(settings: Any) -> SheetGrid:
    if settings is None:
        return SheetGrid("Settings", [["Setting", "Value"],
                                      ["fiscal_year", DEFAULT_FISCAL_YEAR]])
    rows = table_rows(settings)
    if not any(isinstance(v, str) and norm_header(v).replace(" ", "_") == "fiscal_year"
               for row in rows for v in row):
        rows = [*rows, ["fiscal_year", DEFAULT_FISCAL_YEAR]]
    return SheetGrid("Settings", rows)


def _grids(staffing: Any, rates: Any, allocation: Any, costs: Any, roles: Any,
           settings: Any, scenarios: Any = None, actuals: Any = None, fx: Any = None,
           escalation: Any = None) -> dict[str, SheetGrid]:
    """The arguments as the grids of plan sheets (locations relative to each argument's
    range); without roles, every role the tables name at :data:`DEFAULT_LEVEL`."""
    grids = {"Staffing": SheetGrid("Staffing", table_rows(staffing)),
             "Rates": SheetGrid("Rates", table_rows(rates)),
             "Allocation": SheetGrid("Allocation", table_rows(allocation)),
             "Settings": _settings_grid(settings)}
    for name, table in (("Costs", costs), ("Scenarios", scenarios), ("Actuals", actuals),
                        ("FX", fx), ("Escalation", escalation)):
        if table is not None:
            grids[name] = SheetGrid(name, table_rows(table))
    grids["Roles"] = (SheetGrid("Roles", table_rows(roles)) if roles is not None
                      else _roles_from(grids))
    return grids


def _run(*args: Any, **tables: Any) -> PlanRun:
    """The arguments (as :func:`_grids` takes them) through the pipeline: the run of a plan
    without errors; raises _ArgumentError with the first problem (and how many more).

    The functions read figures alone, so the engine's advisories are left out. The last few
    runs are kept (:data:`KEPT_RUNS`): the functions of a workbook recalculated together
    mostly take the same tables, and each finds the plan already evaluated.
    """
    grids = _grids(*args, **tables)
    key = _key(grids)
    run = _kept(key)
    if run is None:
        run = run_grids(grids, SOURCE_NAME, advisories=False)
        _keep(key, run)
    if not run.ok or run.evaluation is None:
        raise _ArgumentError(_first_problem(run.errors))
    return run


#: how many runs of the functions are kept, the latest used last
KEPT_RUNS = 4
_runs: OrderedDict[Hashable, PlanRun] = OrderedDict()
_runs_lock = threading.Lock()


def _key(grids: dict[str, SheetGrid]) -> Hashable | None:
    """The arguments' cells, each with its type (1, 1.0 and True are different cells), as
    one hashable value; None when a cell cannot be hashed."""
    key = tuple((name, tuple(tuple((type(v), v) for v in row) for row in grid.rows))
                for name, grid in sorted(grids.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _kept(key: Hashable | None) -> PlanRun | None:
    if key is None:
        return None
    with _runs_lock:
        run = _runs.get(key)
        if run is not None:
            _runs.move_to_end(key)
        return run


def _keep(key: Hashable | None, run: PlanRun) -> None:
    if key is None:
        return
    with _runs_lock:
        _runs[key] = run
        while len(_runs) > KEPT_RUNS:
            _runs.popitem(last=False)


def forget_runs() -> None:
    """Forget the kept runs (a benchmark's cold call; memory)."""
    with _runs_lock:
        _runs.clear()


def _first_problem(errors: list[Finding]) -> str:
    if not errors:
        return "the arguments could not be read"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" \
        if len(errors) > 1 else ""
    return f"{errors[0]}{more}"


def _guard(function: Callable[..., Any], *args: Any) -> Any:
    """Run a custom function's body; any problem becomes a readable '#OMPLAN: ...' text."""
    try:
        return function(*args)
    except _ArgumentError as exc:
        return ERROR_PREFIX + str(exc)
    except Exception as exc:  # never a Python traceback in a cell
        return f"{ERROR_PREFIX}internal error ({type(exc).__name__}: {exc})"


def _number(value: Any, what: str, *, minimum: float = 0.0, fraction: bool = False,
            default: float | None = None) -> float:
    from omplan.input.tables import as_float, describe

    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise _ArgumentError(f"{what} is required")
        return default
    number = as_float(value)
    if number is None:
        raise _ArgumentError(f"{what} must be a number ≥ {minimum:g}, got {describe(value)}")
    if number < minimum:
        raise _ArgumentError(f"{what} must be a number ≥ {minimum:g}, got {number:g}")
    if fraction and number > 1:
        raise _ArgumentError(f"{what} must be a fraction between 0 and 1, got {number:g}")
    return number


def _band(low: Any, high: Any) -> tuple[float, float]:
    lo = _number(low, "low", fraction=True, default=0.40)
    hi = _number(high, "high", fraction=True, default=0.60)
    if lo >= hi:
        raise _ArgumentError(f"low ({lo:g}) must be below high ({hi:g})")
    return lo, hi


def _band_status(operation: Any, maintenance: Any, low: Any, high: Any) -> str:
    op = _number(operation, "operation")
    mt = _number(maintenance, "maintenance")
    lo, hi = _band(low, high)
    return band_status(op, op + mt, lo, hi)[1]


def _target_share(profile_table: Any, low: Any, high: Any) -> float:
    from omplan.input.reader import read_profile
    from omplan.input.tables import Collector

    lo, hi = _band(low, high)
    out = Collector()
    profile = read_profile(SheetGrid("Profile", table_rows(profile_table)), out)
    errors = [f for f in out.findings if f.severity == "error"]
    if errors:
        raise _ArgumentError(_first_problem(errors))
    plan = Plan(settings=Settings("custom function", DEFAULT_FISCAL_YEAR, band_low=lo,
                                  band_high=hi),
                roles={}, rates={}, allocation={}, staffing=[], profile=profile)
    return plan.target_operation_share()


def baseline_sums(run: PlanRun, *partitions: tuple[str, ...]) -> list[np.ndarray]:
    """Sum of the Baseline's ``amount`` per combination of the categories of each partition
    (an array with one axis per key, in category order), all in one pandas group-by.

    Each partition groups its own copy of the Baseline rows, numbered after the groups of
    the partitions before it, so every group adds the same rows in the same order as a
    group-by of that partition alone (:func:`~omplan.core.ledger.sum_by`): bit for bit the
    sums of the report's Baseline sheet and of the JSON summary.
    """
    assert run.evaluation is not None
    led = run.evaluation.ledger
    rows = np.flatnonzero(is_category(led, "scenario", BASELINE))
    columns = {k: led[k].array for k in {k for keys in partitions for k in keys}}
    codes: list[np.ndarray] = []
    shapes: list[tuple[int, ...]] = []
    offset = 0
    for keys in partitions:
        shape = tuple(len(columns[k].categories) for k in keys)
        code = np.zeros(len(rows), dtype=np.intp)
        for k, size in zip(keys, shape, strict=True):
            code *= size
            code += columns[k].codes[rows]
        codes.append(code + offset)
        shapes.append(shape)
        offset += math.prod(shape)
    groups = pd.Categorical.from_codes(np.concatenate(codes), categories=pd.RangeIndex(offset),
                                       validate=False)
    amount = np.tile(led["amount"].to_numpy()[rows], len(partitions))
    sums = pd.Series(amount, copy=False).groupby(groups, observed=False).sum().to_numpy(float)
    out, at = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(sums[at:at + size].reshape(shape))
        at += size
    return out


def baseline_table(run: PlanRun) -> pd.DataFrame:
    """The Baseline's cost by activity and quarter, as the report's Baseline sheet shows it:
    activities with operation and maintenance subtotals and the total, per quarter of the
    horizon (then per fiscal year, for several) and in all; the operation share and band
    status of each column. Every sum is the ledger group-by the report and the JSON use."""
    assert run.evaluation is not None
    plan = run.evaluation.plan
    st = plan.settings
    activity_quarter, activity_total, kind_quarter, kind_total = baseline_sums(
        run, ("activity", "quarter"), ("activity",), ("quarter", "kind"), ("kind",))
    years = plan.horizon.years

    def sums(quarters: list[float], total: float) -> list[float]:
        """A row's quarters, then (several years) each year's sum, then its total."""
        per_year = [sum(quarters[4 * y: 4 * y + 4]) for y in range(years)]
        return [*quarters, *(per_year if years > 1 else []), total]

    operation, maintenance = kind_quarter[:, 0].tolist(), kind_quarter[:, 1].tolist()
    totals = [op + mt for op, mt in zip(operation, maintenance, strict=True)]
    op_total, mt_total = kind_total.tolist()
    rows: list[list[Any]] = []
    for kind, activities, per_quarter, total in (
            ("Operation", OPERATION_ACTIVITIES, operation, op_total),
            ("Maintenance", MAINTENANCE_ACTIVITIES, maintenance, mt_total)):
        for activity in activities:
            i = ACTIVITIES.index(activity)  # the ledger's activity categories
            rows.append([activity, *sums(activity_quarter[i].tolist(),
                                         float(activity_total[i]))])
        rows.append([kind, *sums(per_quarter, total)])
    rows.append(["Total", *sums(totals, op_total + mt_total)])
    columns = [band_status(op, total, st.band_low, st.band_high)
               for op, total in zip(operation, totals, strict=True)]
    if years > 1:  # each year's share of its operation and maintenance
        for y in range(years):
            op, mt = sum(operation[4 * y: 4 * y + 4]), sum(maintenance[4 * y: 4 * y + 4])
            columns.append(band_status(op, op + mt, st.band_low, st.band_high))
    columns.append(band_status(op_total, op_total + mt_total, st.band_low, st.band_high))
    rows.append(["Operation share", *(share for share, _ in columns)])
    rows.append(["Band status", *(status for _, status in columns)])
    if years > 1:
        heads = [*plan.horizon.labels, *(f"FY{y}" for y in plan.horizon.fiscal_years), "Total"]
    else:
        heads = [*quarter_labels(st.fy_start_month), "FY"]
    return pd.DataFrame(rows, columns=["Activity", *heads], dtype=object)


def baseline_share(run: PlanRun) -> float | None:
    """The Baseline's operation share over the horizon: the JSON's ``operation_share``."""
    assert run.evaluation is not None
    (kind_total,) = baseline_sums(run, ("kind",))
    operation, maintenance = kind_total.tolist()
    st = run.evaluation.plan.settings
    return band_status(operation, operation + maintenance, st.band_low, st.band_high)[0]


def _summary(staffing: Any, rates: Any, allocation: Any, costs: Any, roles: Any,
             settings: Any, fx: Any, escalation: Any) -> pd.DataFrame:
    return baseline_table(_run(staffing, rates, allocation, costs, roles, settings, fx=fx,
                               escalation=escalation))


def _split(staffing: Any, rates: Any, allocation: Any, costs: Any, roles: Any, settings: Any,
           fx: Any, escalation: Any) -> float | None:
    return baseline_share(_run(staffing, rates, allocation, costs, roles, settings, fx=fx,
                               escalation=escalation))


def _payback(scenario: Any, staffing: Any, rates: Any, allocation: Any, scenarios: Any,
             costs: Any, roles: Any, settings: Any, fx: Any, escalation: Any) -> int | None:
    name = "" if scenario is None else str(_clean(scenario)).strip()
    if not name:
        raise _ArgumentError("scenario is required: the name of a scenario of the Scenarios "
                             "table")
    run = _run(staffing, rates, allocation, costs, roles, settings, scenarios, fx=fx,
               escalation=escalation)
    figures = run.figures
    names = [s.name for s in figures.scenarios]
    match = next((s for s in figures.scenarios if s.name.casefold() == name.casefold()), None)
    if match is None:
        raise _ArgumentError(f"there is no scenario '{name}' (the scenarios: "
                             f"{', '.join(names)})")
    if match.business_case is None:
        raise _ArgumentError(f"{match.name} is what every scenario is compared with: it has "
                             "no payback of its own")
    return match.business_case.payback_months  # None (an empty cell): never pays back


def _variance(quarter: Any, actuals: Any, staffing: Any, rates: Any, allocation: Any,
              costs: Any, roles: Any, settings: Any, scenarios: Any, fx: Any,
              escalation: Any) -> float:
    from omplan.core.actuals import actuals_figures
    from omplan.input.tables import parse_period

    text = "" if quarter is None else str(_clean(quarter)).strip()
    period = parse_period(text)
    if period is None:
        raise _ArgumentError(f"quarter must be Q1-Q4 or FY<year> Q<n> (e.g. FY2028 Q2), got "
                             f"{text!r}")
    run = _run(staffing, rates, allocation, costs, roles, settings, scenarios, actuals, fx,
               escalation)
    assert run.evaluation is not None
    plan = run.evaluation.plan
    try:
        figures = actuals_figures(plan, run.evaluation.ledger)
    except ValueError as problem:
        raise _ArgumentError(str(problem)) from None
    if figures is None:
        raise _ArgumentError("the actuals table has no rows")
    year = plan.settings.fiscal_year if period[0] is None else period[0]
    found = next((q for q in figures.quarters
                  if q.fiscal_year == year and q.quarter == f"Q{period[1]}"), None)
    if found is None:
        raise _ArgumentError(f"FY{year} Q{period[1]} has no actual spend yet: the actuals run "
                             f"through {figures.through}")
    return found.variance


_TABLE = {"convert": pd.DataFrame, "index": False, "header": True}


@xw.func
@xw.arg("operation", doc="Operation cost of the period (a number ≥ 0)")
@xw.arg("maintenance", doc="Maintenance cost of the period (a number ≥ 0)")
@xw.arg("low", doc="Lower edge of the band for the operation share (default 0.40)")
@xw.arg("high", doc="Upper edge of the band (default 0.60)")
@_no_converters
def OM_BAND_STATUS(operation: Any, maintenance: Any, low: Any = None,
                   high: Any = None) -> str:
    """Band status of an operation/maintenance split: within, operation-heavy,
    maintenance-heavy or no-cost (boundaries are within the band)."""
    return _guard(_band_status, operation, maintenance, low, high)


@xw.func
@xw.arg("profile_table", doc="Profile table with a header row: Factor, Applies (yes/no)",
        **_TABLE)
@xw.arg("low", doc="Lower edge of the band (default 0.40)")
@xw.arg("high", doc="Upper edge of the band (default 0.60)")
@_no_converters
def OM_TARGET_SHARE(profile_table: Any, low: Any = None, high: Any = None) -> float | str:
    """Situation-aware target operation share: 0.50 + 0.025 per operation factor that applies
    − 0.025 per maintenance factor, clamped to the band."""
    return _guard(_target_share, profile_table, low, high)


@xw.func
@xw.arg("staffing", doc="Staffing table with its header row (System, Role, Sourcing, "
        "Vendor, Q1–Q4)", **_TABLE)
@xw.arg("rates", doc="Rates table with its header row (Role, Sourcing, Monthly cost)", **_TABLE)
@xw.arg("allocation", doc="Allocation table with its header row (Role, the eight "
        "activities)", **_TABLE)
@xw.arg("costs", doc="Optional Costs table (System, Item, Activity, Q1–Q4)", **_TABLE)
@xw.arg("roles", doc="Optional Roles table (Role, Level); default: every role at L2",
        **_TABLE)
@xw.arg("settings", doc="Optional Settings table (Setting, Value)", **_TABLE)
@xw.arg("fx", doc="Optional FX table (Currency, Fiscal year, Rate) for rates or costs in "
        "other currencies", **_TABLE)
@xw.arg("escalation", doc="Optional Escalation table (Applies to, Vendor, Annual rate)",
        **_TABLE)
@xw.ret(index=False, header=True)
@_no_converters
def OM_SUMMARY(staffing: Any, rates: Any, allocation: Any, costs: Any = None,
               roles: Any = None, settings: Any = None, fx: Any = None,
               escalation: Any = None) -> pd.DataFrame | str:
    """The Baseline cost by activity and quarter (with operation and maintenance subtotals,
    total, operation share and band status), as on the report's Baseline sheet."""
    return _guard(_summary, staffing, rates, allocation, costs, roles, settings, fx,
                  escalation)


@xw.func
@xw.arg("staffing", doc="Staffing table with its header row", **_TABLE)
@xw.arg("rates", doc="Rates table with its header row", **_TABLE)
@xw.arg("allocation", doc="Allocation table with its header row", **_TABLE)
@xw.arg("costs", doc="Optional Costs table", **_TABLE)
@xw.arg("roles", doc="Optional Roles table; default: every role at L2", **_TABLE)
@xw.arg("settings", doc="Optional Settings table", **_TABLE)
@xw.arg("fx", doc="Optional FX table (Currency, Fiscal year, Rate) for rates or costs in "
        "other currencies", **_TABLE)
@xw.arg("escalation", doc="Optional Escalation table (Applies to, Vendor, Annual rate)",
        **_TABLE)
@_no_converters
def OM_SPLIT(staffing: Any, rates: Any, allocation: Any, costs: Any = None, roles: Any = None,
             settings: Any = None, fx: Any = None, escalation: Any = None) -> float | str | None:
    """The Baseline's annual operation share (operation / total)."""
    return _guard(_split, staffing, rates, allocation, costs, roles, settings, fx, escalation)


@xw.func
@xw.arg("scenario", doc="Name of a scenario of the Scenarios table (not Baseline)")
@xw.arg("staffing", doc="Staffing table with its header row", **_TABLE)
@xw.arg("rates", doc="Rates table with its header row", **_TABLE)
@xw.arg("allocation", doc="Allocation table with its header row", **_TABLE)
@xw.arg("scenarios", doc="Scenarios table with its header row (Scenario, Role, System, "
        "Change, Value, optional From)", **_TABLE)
@xw.arg("costs", doc="Optional Costs table", **_TABLE)
@xw.arg("roles", doc="Optional Roles table; default: every role at L2", **_TABLE)
@xw.arg("settings", doc="Optional Settings table (horizon_years, discount_rate, ...)",
        **_TABLE)
@xw.arg("fx", doc="Optional FX table (Currency, Fiscal year, Rate) for rates or costs in "
        "other currencies", **_TABLE)
@xw.arg("escalation", doc="Optional Escalation table (Applies to, Vendor, Annual rate)",
        **_TABLE)
@_no_converters
def OM_PAYBACK(scenario: Any, staffing: Any, rates: Any, allocation: Any, scenarios: Any,
               costs: Any = None, roles: Any = None, settings: Any = None, fx: Any = None,
               escalation: Any = None) -> int | str | None:
    """Months until the scenario's cumulative savings against Baseline stay at or above zero:
    0 when it never costs more, empty when it has not paid back by the end of the horizon."""
    return _guard(_payback, scenario, staffing, rates, allocation, scenarios, costs, roles,
                  settings, fx, escalation)


@xw.func
@xw.arg("quarter", doc="Q1-Q4 (of the first fiscal year) or FY<year> Q<n>, e.g. FY2027 Q2")
@xw.arg("actuals", doc="Actuals table with its header row (Month, System, Activity, Amount, "
        "optional Currency and Item)", **_TABLE)
@xw.arg("staffing", doc="Staffing table with its header row", **_TABLE)
@xw.arg("rates", doc="Rates table with its header row", **_TABLE)
@xw.arg("allocation", doc="Allocation table with its header row", **_TABLE)
@xw.arg("costs", doc="Optional Costs table", **_TABLE)
@xw.arg("roles", doc="Optional Roles table; default: every role at L2", **_TABLE)
@xw.arg("settings", doc="Optional Settings table (fiscal_year, fy_start_month, "
        "budget_scenario, ...)", **_TABLE)
@xw.arg("scenarios", doc="Optional Scenarios table (needed when budget_scenario is not "
        "Baseline)", **_TABLE)
@xw.arg("fx", doc="Optional FX table (Currency, Fiscal year, Rate) for rates or costs in "
        "other currencies", **_TABLE)
@xw.arg("escalation", doc="Optional Escalation table (Applies to, Vendor, Annual rate)",
        **_TABLE)
@_no_converters
def OM_VARIANCE(quarter: Any, actuals: Any, staffing: Any, rates: Any, allocation: Any,
                costs: Any = None, roles: Any = None, settings: Any = None,
                scenarios: Any = None, fx: Any = None, escalation: Any = None) -> float | str:
    """Actual minus plan of a quarter (positive = over budget), over the months of it that
    have actual spend, against the budget scenario (Baseline unless Settings says otherwise)."""
    return _guard(_variance, quarter, actuals, staffing, rates, allocation, costs, roles,
                  settings, scenarios, fx, escalation)


__all__ = ["DEFAULT_FISCAL_YEAR", "DEFAULT_LEVEL", "ERROR_PREFIX", "OM_BAND_STATUS",
           "OM_PAYBACK", "OM_SPLIT", "OM_SUMMARY", "OM_TARGET_SHARE", "OM_VARIANCE",
           "baseline_share", "baseline_table", "table_rows"]
