"""The xlwings binding: the Run button, custom functions and xlwings Lite.

``run_in_book(book)`` works on any ``xlwings.Book``: desktop Excel (``xw.Book.caller()`` from
the RunPython macro), xlwings Lite (a ``@script``) or xlwings Server's remote book. It reads
the input sheets through xlwings into the same grids the file reader uses (so the checks and
the ``Sheet!A1`` findings are the same), evaluates the plan and writes the report sheets of
``omplan run --out`` into the book. It never writes to an input sheet or any other sheet of
the user's.

Ownership in a live book: every sheet omplan writes is referred to by a book-scoped defined
name ``omplan_sheet_<n>`` (``='Summary'!$A$1``). A range name is something every xlwings
engine reads and writes (the remote engine's ``names.add``; every client sends range names
back with the book). A user's copy of the sheet gets at most a sheet-level copy of the name,
which does not count: only book-level names do. Only
sheets marked so (or by ``omplan run --writeback``'s sheet-scoped ``omplan_report``) are ever
deleted or rewritten; a user's sheet that happens to be called "Summary" stays as it is and
the report goes to "Summary (omplan)". See docs/excel.md.

With errors, only the Checks sheet is rewritten (the other report sheets keep the last good
run) and the first error's cell is selected. The Ledger sheet is written while the ledger has
at most :data:`LIVE_LEDGER_ROWS` rows (the remote engine ships every cell as JSON); a bigger
one is replaced by a note that points to ``omplan run --out``.

This is the only omplan module that imports xlwings at import time, and it imports no
``xlwings.pro`` code: the binding runs on the open-source engines; the remote engine only
exists on xlwings' side (Lite, Server).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xlwings as xw

from omplan.core.findings import Finding, has_errors
from omplan.core.ledger import band_status
from omplan.core.model import Plan, Settings
from omplan.files.ownership import (
    LIVE_MARK,
    LIVE_MARK_PREFIX,
    OWNER_NAME,
    parse_mark,
    pick_owned,
    referenced_sheet,
    unquote_sheet,
)
from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS, SheetGrid, norm_header, parse_plan
from omplan.report.layout import SheetLayout, Text, free_sheet_name, rename_sheets

#: Most ledger rows written into a live book (see the module docstring).
LIVE_LEDGER_ROWS = 20_000
#: fiscal_year used by the custom functions when their settings argument has none (it only
#: labels; no figure depends on it).
DEFAULT_FISCAL_YEAR = 2000
#: Level given to every role when a custom function gets no roles argument (levels do not
#: change any figure the functions return).
DEFAULT_LEVEL = "L2"
ERROR_PREFIX = "#OMPLAN: "
_INPUT_SHEETS = {norm_header(name) for name in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS)}


@dataclass
class LiveRun:
    """What :func:`run_in_book` did."""

    ok: bool
    findings: list[Finding]
    summary: dict[str, Any] | None = None
    written: list[str] = field(default_factory=list)  # sheets added or rewritten, in order
    deleted: list[str] = field(default_factory=list)  # omplan sheets removed
    renamed: dict[str, str] = field(default_factory=dict)  # report sheet -> name used
    skipped: dict[str, str] = field(default_factory=dict)  # engine features skipped
    selected: str = ""  # the cell (or sheet) shown to the user

    @property
    def message(self) -> str:
        if not self.ok:
            errors = [f for f in self.findings if f.severity == "error"]
            return (f"{len(errors)} error(s): see the Checks sheet; first: {errors[0]}"
                    if errors else "errors: see the Checks sheet")
        base = (self.summary or {}).get("scenarios", [{}])[0]
        share = base.get("operation_share")
        share_text = "–" if share is None else f"{share:.1%}"
        return (f"wrote {', '.join(self.written)}; Baseline total {base.get('total', 0):,.0f}"
                f" {self.summary['currency'] if self.summary else ''}, operation share "
                f"{share_text} ({base.get('band_status', '')})")


# --------------------------------------------------------------------------- ownership

@dataclass
class Ownership:
    """omplan's sheets in a live book, and the marker names to remove with them."""

    sheets: list[str] = field(default_factory=list)  # in book order
    marks: dict[str, list[str]] = field(default_factory=dict)  # sheet -> its marker names
    stale: list[str] = field(default_factory=list)  # marker names of sheets that are gone


def ownership(book: Any) -> Ownership:
    """Find omplan's sheets. A sheet is ours when a book-scoped name ``omplan_sheet_<n>``
    refers to it (what this module writes; Excel gives a copied sheet only a sheet-level copy
    of such a name, which is ignored, so the user's copies stay theirs), or when it carries
    writeback's sheet-scoped ``omplan_report`` marker and is the one under the title recorded
    in it."""
    sheets = {s.name.casefold(): s.name for s in book.sheets}
    found: dict[str, list[str]] = {}
    stale: list[str] = []
    marked: list[tuple[str, tuple[str, str]]] = []
    try:
        names = list(book.names)
    except Exception:  # an engine without names: nothing is ours
        names = []
    for name in names:
        try:
            full = str(name.name)
            refers = str(name.refers_to or "")
        except Exception:
            continue
        scope, _, bare = full.rpartition("!")
        if not scope and LIVE_MARK.fullmatch(bare):
            target = referenced_sheet(refers)
            sheet = sheets.get((target or "").casefold())
            if sheet is None:
                stale.append(bare)
            else:
                found.setdefault(sheet, []).append(bare)
        elif scope and bare.casefold() == OWNER_NAME.casefold():
            sheet = sheets.get(unquote_sheet(scope).casefold())
            mark = parse_mark(refers, sheet or "")
            if mark is not None and sheet is not None:
                marked.append((sheet, mark))
    for sheet in pick_owned(marked).values():  # copies carry the mark too: ours keeps its title
        found.setdefault(sheet, [])
    order = [s.name for s in book.sheets]
    return Ownership([s for s in order if s in found], found, stale)


def is_owned(book: Any, sheet: str) -> bool:
    return sheet in ownership(book).sheets


def mark_owned(book: Any, sheet: Any, number: int) -> str:
    """Mark ``sheet`` as omplan's with the book-scoped name omplan_sheet_<number>."""
    quoted = "'" + sheet.name.replace("'", "''") + "'"
    name = f"{LIVE_MARK_PREFIX}{number}"
    book.names.add(name, f"={quoted}!$A$1")
    return name



# --------------------------------------------------------------------------- reading


def grids_from_book(book: Any, skip: set[str] | None = None) -> dict[str, SheetGrid]:
    """The input sheets' values as grids; the used range may start anywhere (origin kept).

    Excel error values come through as text (``#REF!``) so the reader reports them.
    """
    skip = {s.casefold() for s in (skip or set())}
    grids: dict[str, SheetGrid] = {}
    for sheet in book.sheets:
        if sheet.name.casefold() in skip or norm_header(sheet.name) not in _INPUT_SHEETS:
            continue
        used = sheet.used_range
        values = used.options(ndim=2, err_to_str=True).value
        grids[sheet.name] = SheetGrid(sheet.name, values or [[]], origin_row=used.row,
                                      origin_col=used.column)
    return grids


# --------------------------------------------------------------------------- the Run button


def run_in_book(book: Any, *, ledger_rows: int | None = LIVE_LEDGER_ROWS) -> LiveRun:
    """Check and evaluate the plan in ``book`` and write the report sheets into it.

    ``ledger_rows``: the largest ledger written to the Ledger sheet (None: no limit; 0: a
    note instead of the ledger always).
    """
    from omplan.core.engine import evaluate
    from omplan.core.summary import summary_json
    from omplan.files.report import report_layout

    own = ownership(book)
    grids = grids_from_book(book, skip=set(own.sheets))
    plan, findings = parse_plan(grids, _book_name(book))
    evaluation = None
    if plan is not None and not has_errors(findings):
        evaluation = evaluate(plan)
        findings = findings + list(evaluation.errors)
    if has_errors(findings) or evaluation is None:
        return _report_errors(book, findings, own, plan)
    layout = report_layout(evaluation, input_findings=findings)
    layout.sheets = [_bounded_ledger(s, len(evaluation.ledger), ledger_rows)
                     if s.name == "Ledger" else s for s in layout.sheets]
    result = LiveRun(True, findings, summary_json(plan, findings, evaluation))
    _replace_sheets(book, layout, own, own.sheets, result)
    summary = result.renamed.get("Summary", "Summary")
    _activate(book, summary)
    result.selected = summary
    return result


def main() -> None:
    """The RunPython entry point: the Run scenarios button of the .xlsm."""
    run_in_book(xw.Book.caller())


def _book_name(book: Any) -> str:
    try:
        return str(book.name)
    except Exception:
        return "plan"


def _bounded_ledger(sheet: SheetLayout, rows: int, limit: int | None) -> SheetLayout:
    if limit is None or rows <= limit:
        return sheet
    from omplan.report import styles as st

    note = SheetLayout("Ledger")
    note.texts = [
        Text(1, 1, "Ledger", st.TITLE_STYLE),
        Text(2, 1, f"The ledger has {rows:,} rows, more than the {limit:,} written into a live "
                   "workbook (every cell travels through Excel's add-in interface).",
             st.SUBTITLE_STYLE),
        Text(3, 1, "For the full ledger run: omplan run <this workbook> --out report.xlsx",
             st.NOTE_STYLE),
    ]
    note.column_widths = {1: 100.0}
    return note


def _checks_only(findings: list[Finding], currency: str) -> SheetLayout:
    """The Checks sheet of a plan with errors: every finding, errors first."""
    from omplan.core.findings import SEVERITY_ORDER
    from omplan.report.common import checks_sheet

    ordered = sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 9))
    sheet = checks_sheet(ordered, [""] * len(ordered)).finish(currency)
    sheet.tables = []  # no table: the sheet is rewritten until the errors are gone
    last = max(b.last_row for b in sheet.blocks) + 2
    sheet.texts.append(Text(last, 1, "The plan has errors, so no figures were computed; "
                                     "the other report sheets still show the last good run.",
                            "omplan note"))
    return sheet


def _report_errors(book: Any, findings: list[Finding], own: Ownership,
                   plan: Plan | None) -> LiveRun:
    from omplan.files.xlsxio import source_date
    from omplan.report import styles as st
    from omplan.report.layout import ReportLayout

    currency = plan.settings.currency if plan is not None else "USD"
    sheet = _checks_only(findings, currency)
    layout = ReportLayout([sheet], st.report_styles(currency), dict(st.HIGHLIGHTS),
                          "omplan checks", source_date())
    replace = [name for name in own.sheets if name.casefold() == "checks"]
    if not replace:  # a Checks sheet of ours under another name (renamed by a clash)
        replace = [name for name in own.sheets if name.casefold().startswith("checks (omplan")]
    result = LiveRun(False, findings)
    _replace_sheets(book, layout, own, replace, result)
    first = next(f for f in findings if f.severity == "error")
    result.selected = _show(book, first.location)
    if not result.selected:  # a plan-wide error, or a sheet that is missing: show Checks
        result.selected = result.renamed.get("Checks", "Checks")
        _activate(book, result.selected)
    return result


def _replace_sheets(book: Any, layout: Any, own: Ownership, replace: list[str],
                    result: LiveRun) -> None:
    """Delete the omplan sheets in ``replace`` (and their marker names) and add the layout's
    sheets in their place, or after the last sheet; names the user's sheets already have get
    a ``(omplan)`` suffix."""
    from omplan.render.live import LiveRenderer

    names = [s.name for s in book.sheets]
    replace_set = {n.casefold() for n in replace}
    first = next((i for i, n in enumerate(names) if n.casefold() in replace_set), None)
    anchor = None  # the sheet the new ones go after
    if first is None:
        anchor = names[-1]
    else:
        before = [n for n in names[:first] if n.casefold() not in replace_set]
        anchor = before[-1] if before else None
    # names first: on the remote engine a name's reference is resolved through its sheet
    for mark in [*own.stale, *(m for name in replace for m in own.marks.get(name, []))]:
        try:
            book.names[mark].delete()
        except Exception:
            pass
    for name in replace:
        book.sheets[name].delete()
        result.deleted.append(name)
    kept = {int(m[len(LIVE_MARK_PREFIX):]) for sheet, marks in own.marks.items()
            if sheet not in replace for m in marks}
    numbers = (n for n in range(1, 10_000) if n not in kept)
    taken = {s.name.casefold() for s in book.sheets}
    renamed: dict[str, str] = {}
    for sheet in layout.sheets:
        if sheet.name.casefold() in taken:
            renamed[sheet.name] = free_sheet_name(sheet.name, taken | {
                s.name.casefold() for s in layout.sheets})
            taken.add(renamed[sheet.name].casefold())
    tables = _table_names(book)
    table_renames = {t.name: f"omplan_{t.name}" for s in layout.sheets for t in s.tables
                     if t.name.casefold() in tables}
    if renamed or table_renames:
        layout = rename_sheets(layout, renamed, table_renames)
    result.renamed = renamed
    renderer = LiveRenderer(book, layout)
    previous = book.sheets[anchor] if anchor is not None else None
    with _screen_paused(book, renderer.engine):
        for spec in layout.sheets:
            if previous is None:
                sheet = book.sheets.add(spec.name, before=book.sheets[0])
            else:
                sheet = book.sheets.add(spec.name, after=previous)
            mark_owned(book, sheet, next(numbers))
            renderer.render_sheet(sheet, spec)
            result.written.append(spec.name)
            previous = sheet
    result.skipped = dict(renderer.skipped)


@contextmanager
def _screen_paused(book: Any, engine: str) -> Iterator[None]:
    """Desktop Excel redraws after every write unless told not to (the remote engine batches
    its actions anyway)."""
    app = book.app if engine == "excel" else None
    before = None
    if app is not None:
        try:
            before = app.screen_updating
            app.screen_updating = False
        except Exception:
            app = None
    try:
        yield
    finally:
        if app is not None:
            app.screen_updating = True if before is None else before


def _table_names(book: Any) -> set[str]:
    out: set[str] = set()
    for sheet in book.sheets:
        try:
            out.update(str(t.name).casefold() for t in sheet.tables)
        except Exception:
            continue
    return out


def _activate(book: Any, sheet_name: str) -> None:
    try:
        book.sheets[sheet_name].activate()
    except Exception:
        pass


_LOCATION = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))(?:!\$?([A-Za-z]{1,3})\$?(\d+))?$")


def _show(book: Any, location: str) -> str:
    """Activate the sheet of ``location`` (``Sheet!A1`` or ``Sheet``) and select the cell;
    returns what was shown, or '' when the sheet is not in the book."""
    match = _LOCATION.match(location or "")
    if not match:
        return ""
    sheet_name = (match.group(1) or "").replace("''", "'") or (match.group(2) or "")
    sheet = next((s for s in book.sheets if s.name.casefold() == sheet_name.casefold()), None)
    if sheet is None:
        return ""
    try:
        sheet.activate()
        if match.group(3):
            cell = f"{match.group(3).upper()}{match.group(4)}"
            sheet.range(cell).select()
            return f"{sheet.name}!{cell}"
    except Exception:
        pass
    return sheet.name


# --------------------------------------------------------------------------- custom functions
# Argument type hints are left out on purpose: xlwings Lite reads them as converters.


class _ArgumentError(ValueError):
    pass


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
        return [[_clean(c) for c in value.columns]] + [
            [_clean(v) for v in row] for row in value.itertuples(index=False, name=None)]
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


def _evaluate_args(staffing, rates, allocation, costs, roles, settings, scenarios=None,
                   actuals=None, fx=None, escalation=None):
    """Parse the arguments like plan sheets (locations relative to each argument's range)
    and evaluate the Baseline (and the scenarios, when given); raises _ArgumentError with
    the first problem."""
    from omplan.core.engine import evaluate

    grids = {"Staffing": SheetGrid("Staffing", table_rows(staffing)),
             "Rates": SheetGrid("Rates", table_rows(rates)),
             "Allocation": SheetGrid("Allocation", table_rows(allocation)),
             "Settings": _settings_grid(settings)}
    if costs is not None:
        grids["Costs"] = SheetGrid("Costs", table_rows(costs))
    if scenarios is not None:
        grids["Scenarios"] = SheetGrid("Scenarios", table_rows(scenarios))
    if actuals is not None:
        grids["Actuals"] = SheetGrid("Actuals", table_rows(actuals))
    if fx is not None:
        grids["FX"] = SheetGrid("FX", table_rows(fx))
    if escalation is not None:
        grids["Escalation"] = SheetGrid("Escalation", table_rows(escalation))
    grids["Roles"] = (SheetGrid("Roles", table_rows(roles)) if roles is not None
                      else _roles_from(grids))
    plan, findings = parse_plan(grids, "custom function")
    errors = [f for f in findings if f.severity == "error"]
    if plan is None or errors:
        raise _ArgumentError(_first_problem(errors))
    evaluation = evaluate(plan)
    if evaluation.errors:
        raise _ArgumentError(_first_problem(evaluation.errors))
    return evaluation, findings


def _first_problem(errors: list[Finding]) -> str:
    if not errors:
        return "the arguments could not be read"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" \
        if len(errors) > 1 else ""
    return f"{errors[0]}{more}"


def _guard(function, *args):
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


def _band_status(operation, maintenance, low, high):
    op = _number(operation, "operation")
    mt = _number(maintenance, "maintenance")
    lo, hi = _band(low, high)
    return band_status(op, op + mt, lo, hi)[1]


def _target_share(profile_table, low, high):
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


def baseline_table(evaluation, findings) -> pd.DataFrame:
    """The Baseline 'Cost by activity and quarter' block of the report, as a DataFrame."""
    from omplan.report.annual import build_report_layout

    layout = build_report_layout(evaluation, input_findings=findings)
    block = layout.sheet(layout.scenario_sheets["Baseline"]).block("activity_quarter")
    return pd.DataFrame([list(row) for row in block.rows], columns=list(block.header or ()))


def _summary(staffing, rates, allocation, costs, roles, settings, fx, escalation):
    return baseline_table(*_evaluate_args(staffing, rates, allocation, costs, roles, settings,
                                          fx=fx, escalation=escalation))


def _split(staffing, rates, allocation, costs, roles, settings, fx, escalation):
    from omplan.core.summary import scenario_summary

    evaluation, _ = _evaluate_args(staffing, rates, allocation, costs, roles, settings,
                                   fx=fx, escalation=escalation)
    return scenario_summary(evaluation, "Baseline")["operation_share"]


def _payback(scenario, staffing, rates, allocation, scenarios, costs, roles, settings, fx,
             escalation):
    from omplan.core.business import BusinessCase
    from omplan.core.summary import plan_figures

    name = "" if scenario is None else str(_clean(scenario)).strip()
    if not name:
        raise _ArgumentError("scenario is required: the name of a scenario of the Scenarios "
                             "table")
    evaluation, findings = _evaluate_args(staffing, rates, allocation, costs, roles, settings,
                                          scenarios, fx=fx, escalation=escalation)
    names = evaluation.scenarios
    match = next((n for n in names if n.casefold() == name.casefold()), None)
    if match is None:
        raise _ArgumentError(f"there is no scenario '{name}' (the scenarios: "
                             f"{', '.join(names)})")
    if match == names[0]:
        raise _ArgumentError(f"{match} is what every scenario is compared with: it has no "
                             "payback of its own")
    figures = plan_figures(evaluation.plan, findings, evaluation)
    case: BusinessCase | None = next(s.business_case for s in figures.scenarios
                                     if s.name == match)
    assert case is not None
    return case.payback_months  # None (an empty cell) when it never pays back


def _variance(quarter, actuals, staffing, rates, allocation, costs, roles, settings,
              scenarios, fx, escalation):
    from omplan.core.actuals import actuals_figures
    from omplan.input.tables import parse_period

    text = "" if quarter is None else str(_clean(quarter)).strip()
    period = parse_period(text)
    if period is None:
        raise _ArgumentError(f"quarter must be Q1-Q4 or FY<year> Q<n> (e.g. FY2028 Q2), got "
                             f"{text!r}")
    evaluation, _ = _evaluate_args(staffing, rates, allocation, costs, roles, settings,
                                   scenarios, actuals, fx, escalation)
    plan = evaluation.plan
    try:
        figures = actuals_figures(plan, evaluation.ledger)
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
def OM_BAND_STATUS(operation, maintenance, low=None, high=None):
    """Band status of an operation/maintenance split: within, operation-heavy,
    maintenance-heavy or no-cost (boundaries are within the band)."""
    return _guard(_band_status, operation, maintenance, low, high)


@xw.func
@xw.arg("profile_table", doc="Profile table with a header row: Factor, Applies (yes/no)",
        **_TABLE)
@xw.arg("low", doc="Lower edge of the band (default 0.40)")
@xw.arg("high", doc="Upper edge of the band (default 0.60)")
def OM_TARGET_SHARE(profile_table, low=None, high=None):
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
def OM_SUMMARY(staffing, rates, allocation, costs=None, roles=None,
               settings=None, fx=None, escalation=None):
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
def OM_SPLIT(staffing, rates, allocation, costs=None, roles=None, settings=None, fx=None,
             escalation=None):
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
def OM_PAYBACK(scenario, staffing, rates, allocation, scenarios, costs=None, roles=None,
               settings=None, fx=None, escalation=None):
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
def OM_VARIANCE(quarter, actuals, staffing, rates, allocation, costs=None, roles=None,
                settings=None, scenarios=None, fx=None, escalation=None):
    """Actual minus plan of a quarter (positive = over budget), over the months of it that
    have actual spend, against the budget scenario (Baseline unless Settings says otherwise)."""
    return _guard(_variance, quarter, actuals, staffing, rates, allocation, costs, roles,
                  settings, scenarios, fx, escalation)


__all__ = [
    "LIVE_LEDGER_ROWS", "LiveRun", "OM_BAND_STATUS", "OM_PAYBACK", "OM_SPLIT", "OM_SUMMARY",
    "OM_VARIANCE",
    "OM_TARGET_SHARE", "Ownership", "grids_from_book", "is_owned", "main", "mark_owned",
    "ownership", "run_in_book", "table_rows",
]
