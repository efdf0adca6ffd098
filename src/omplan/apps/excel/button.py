"""The Run scenarios button: the plan of a live workbook checked, evaluated and reported into it.

``run_in_book(book)`` works on any ``xlwings.Book``: desktop Excel (``xw.Book.caller()`` from
the RunPython macro: :func:`main`), xlwings Lite (a ``@script``) or xlwings Server's remote
book. It reads the input sheets through xlwings into the same grids the file reader uses (so
the checks and the ``Sheet!A1`` findings are the same), runs them through the one pipeline
(:func:`omplan.pipeline.run_grids`) and writes the report sheets of ``omplan run --out`` into
the book. It never writes to an input sheet or any other sheet of the user's.

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

This module imports xlwings only when :func:`main` runs (``omplan.main`` is this function, and
``import omplan`` or ``help(omplan)`` must not load xlwings); it uses the book it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omplan.core.findings import Finding
from omplan.core.model import Plan
from omplan.files.ownership import (
    LIVE_MARK,
    LIVE_MARK_PREFIX,
    OWNER_NAME,
    parse_mark,
    pick_owned,
    referenced_sheet,
    unquote_sheet,
)
from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS, SheetGrid, norm_header
from omplan.pipeline import run_grids
from omplan.report.layout import ReportLayout, SheetLayout, Text, free_sheet_name, rename_sheets

if TYPE_CHECKING:  # pragma: no cover
    from omplan.core.summary import PlanFigures

#: Most ledger rows written into a live book (see the module docstring).
LIVE_LEDGER_ROWS = 20_000
_INPUT_SHEETS = {norm_header(name) for name in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS)}


@dataclass
class LiveRun:
    """What :func:`run_in_book` did."""

    ok: bool
    findings: list[Finding]
    #: the run's figures (None with errors); the JSON summary is :attr:`summary`
    figures: PlanFigures | None = None
    written: list[str] = field(default_factory=list)  # sheets added or rewritten, in order
    deleted: list[str] = field(default_factory=list)  # omplan sheets removed
    renamed: dict[str, str] = field(default_factory=dict)  # report sheet -> name used
    skipped: dict[str, str] = field(default_factory=dict)  # engine features skipped
    selected: str = ""  # the cell (or sheet) shown to the user

    @property
    def summary(self) -> dict[str, Any] | None:
        """The JSON summary of the run, as ``omplan run --json`` writes it (None with
        errors)."""
        return self.figures.to_json() if self.figures is not None else None

    @property
    def message(self) -> str:
        if not self.ok or self.figures is None:
            errors = [f for f in self.findings if f.severity == "error"]
            return (f"{len(errors)} error(s): see the Checks sheet; first: {errors[0]}"
                    if errors else "errors: see the Checks sheet")
        base = self.figures.baseline
        share = base.operation_share
        share_text = "–" if share is None else f"{share:.1%}"
        return (f"wrote {', '.join(self.written)}; Baseline total {base.total:,.0f}"
                f" {self.figures.currency}, operation share {share_text} "
                f"({base.band_status})")


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
    from omplan.files.report import run_layout

    own = ownership(book)
    run = run_grids(grids_from_book(book, skip=set(own.sheets)), _book_name(book))
    if not run.ok or run.evaluation is None:
        return _report_errors(book, run.all_findings, own, run.plan)
    layout = run_layout(run)
    rows = len(run.evaluation.ledger)
    layout.sheets = [_bounded_ledger(s, rows, ledger_rows) if s.name == "Ledger" else s
                     for s in layout.sheets]
    result = LiveRun(True, run.findings, run.figures)
    _replace_sheets(book, layout, own, own.sheets, result)
    summary = result.renamed.get("Summary", "Summary")
    _activate(book, summary)
    result.selected = summary
    return result


def main() -> None:
    """The RunPython entry point: the Run scenarios button of the .xlsm."""
    import xlwings as xw

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


def _replace_sheets(book: Any, layout: ReportLayout, own: Ownership, replace: list[str],
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


__all__ = ["LIVE_LEDGER_ROWS", "LiveRun", "Ownership", "grids_from_book", "is_owned", "main",
           "mark_owned", "ownership", "run_in_book"]
