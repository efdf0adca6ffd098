"""Write the report sheets into the user's own plan workbook, touching nothing of the user's.

Order of work: refuse early (open in Excel or LibreOffice, read-only) -> read the package's
structure (workbook part, relationships; never the user's cells) -> lay out and render the
report in a workbook of its own -> graft its sheets into the user's package part by part
(:mod:`omplan.files.graft`: every part of the user's is copied byte for byte but a few shared
parts, which only gain entries) -> verify the new package part by part
(:mod:`omplan.files.graft_check`) -> save atomically, keeping ``<name>.bak``; a file that
does not read back as written is restored. A package omplan cannot graft into (encrypted,
Strict Open XML, a part it cannot parse) is left as it is and the report goes to
``<stem>.omplan.xlsx`` beside it.

Ownership is a hidden sheet-level defined name ``omplan_report`` whose value records the
report sheet it holds and the title it was written under, so renamed report sheets are still
ours, while the user's look-alike sheets and copies of report sheets (Excel copies the hidden
name along with a sheet) are never touched.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from omplan.core.errors import OmplanError
from omplan.files.book import Book, read_book
from omplan.files.graft import Graft, GraftError, graft
from omplan.files.graft_check import verify
from omplan.files.ownership import (
    LIVE_MARK,
    OWNER_NAME,
    owner_value,
    parse_mark,
    pick_owned,
    referenced_sheet,
)
from omplan.files.xlsxio import atomic_write_bytes
from omplan.report.layout import free_sheet_name

if TYPE_CHECKING:
    from omplan.pipeline import PlanRun
    from omplan.report.layout import ReportLayout

WRITABLE_SUFFIXES = (".xlsx", ".xlsm")
#: What a package that cannot be grafted into may raise besides GraftError (nothing written).
_UNREADABLE = (GraftError, KeyError, ValueError, IndexError, etree.LxmlError, zlib.error,
               struct.error)


class WritebackRefused(OmplanError):
    """Nothing was written: the workbook is open, read-only, or not a plan file we can touch."""


@dataclass
class WritebackResult:
    """What happened: written into the plan, or beside it, and why."""

    target: Path
    in_place: bool
    reason: str = ""  # why the report went beside the plan instead
    renamed: dict[str, str] = field(default_factory=dict)  # report sheet -> name used instead
    backup: Path | None = None
    removed: list[str] = field(default_factory=list)  # our sheets no longer in the report


# --------------------------------------------------------------------------- preconditions


def lock_files(path: Path) -> list[Path]:
    """Every lock file that says the workbook is open: Excel's ``~$name`` (both forms) and
    LibreOffice's ``.~lock.name#``."""
    names = ["~$" + path.name, "~$" + path.name[2:], ".~lock." + path.name + "#"]
    return [path.with_name(n) for n in dict.fromkeys(names) if n != "~$"]


def check_writable(path: Path) -> None:
    """Refuse (nothing written) when the plan is open in Excel or cannot be written.

    The mode bits are checked as well as ``os.access``: root may write anything, but a file
    made read-only on purpose must not be overwritten by anybody.
    """
    path = Path(path)
    real = path.resolve()  # a symlinked plan: its lock files are beside the real file
    candidates = dict.fromkeys([*lock_files(real), *lock_files(path)])
    lock = next((c for c in candidates if c.exists()), None)
    if lock is not None:
        app = "LibreOffice" if lock.name.startswith(".~lock.") else "Excel"
        raise WritebackRefused(
            f"{path.name} is open in {app} (its lock file {lock.name} is beside it): close it "
            f"there first, then run again; nothing was written")
    if not path.is_file():
        raise WritebackRefused(f"{path} was not found; nothing was written")
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise WritebackRefused(f"{path.name}: omplan writes back only into .xlsx and .xlsm "
                               "workbooks; nothing was written (use --out for a report file)")
    mode = real.stat().st_mode
    folder_mode = real.parent.stat().st_mode
    if (not os.access(real, os.W_OK) or not mode & stat.S_IWUSR
            or not os.access(real.parent, os.W_OK) or not folder_mode & stat.S_IWUSR):
        raise WritebackRefused(f"{path.name} is read-only (or its folder is): nothing was "
                               "written; make it writable or use --out to write a report "
                               "elsewhere")


# --------------------------------------------------------------------------- ownership


def _with_live_marks(marked: list[tuple[str, tuple[str, str]]], titles: list[str],
                     book_names: Sequence[tuple[str, str | None]]
                     ) -> list[tuple[str, tuple[str, str]]]:
    """Add the sheets the live binding marked (a sheet marked both ways counts once)."""
    seen = {title for title, _ in marked}
    by_fold = {t.casefold(): t for t in titles}
    for name, refers in book_names:
        title = by_fold.get((referenced_sheet(refers) or "").casefold())
        if LIVE_MARK.fullmatch(name) and title is not None and title not in seen:
            marked.append((title, (title, title)))
            seen.add(title)
    return marked


# --------------------------------------------------------------------------- writing


def _free_name(wanted: str, taken: set[str]) -> str:
    try:
        return free_sheet_name(wanted, taken)
    except ValueError as exc:
        raise WritebackRefused(str(exc)) from None


def _free_table_name(wanted: str, taken: set[str]) -> str:
    for n in range(1, 100):
        name = f"omplan_{wanted}" + ("" if n == 1 else str(n))
        if name.casefold() not in taken:
            return name
    raise WritebackRefused(f"no free table name for the report table '{wanted}'")


def write_into(run: PlanRun, path: str | os.PathLike[str]) -> WritebackResult:
    """Write the report sheets into the plan at ``path``, or beside it when its package cannot
    be grafted into; raises :class:`WritebackRefused` when nothing may be written."""
    from omplan.files.report import report_layout

    plan_path = Path(path)
    check_writable(plan_path)
    if run.evaluation is None or not run.ok:
        raise WritebackRefused("the plan has errors, so there are no figures to write back; "
                               "fix the errors listed above, then run again")
    target = plan_path.resolve()  # a symlinked plan: write the file it points to, keep the link
    original = target.read_bytes()
    info = target.stat()
    layout = report_layout(run.evaluation, input_findings=run.findings, source_path=plan_path,
                           figures=run.figures)
    try:
        book = read_book(original)
        job, renamed, removed = plan_graft(book, layout)
        result = graft(book, job)
    except _UNREADABLE as exc:
        return _companion(run, plan_path, _reason(exc))
    problems = verify(book, result.data, result)
    if problems:
        raise WritebackRefused(
            f"omplan did not write into {plan_path.name}: checking the new version found that "
            "it would change your workbook (" + "; ".join(problems[:5]) + f"). "
            f"{plan_path.name} was left as it was; use --out to write the report to its own "
            "file, and please report this as a bug in omplan")

    check_writable(plan_path)  # opened in Excel meanwhile?
    now = target.stat()
    if (now.st_mtime_ns, now.st_size) != (info.st_mtime_ns, info.st_size):
        raise WritebackRefused(f"{plan_path.name} was saved by another program while omplan "
                               "was working on it; nothing was written: run again")
    backup = plan_path.with_name(plan_path.name + ".bak")
    atomic_write_bytes(backup, original, info)
    atomic_write_bytes(target, result.data, info)
    if target.read_bytes() != result.data:  # the disk did not keep what was written
        atomic_write_bytes(target, original, info)
        raise WritebackRefused(f"{plan_path.name} did not read back as written; the original "
                               "was restored and nothing was changed")
    return WritebackResult(plan_path, in_place=True, renamed=renamed, backup=backup,
                           removed=removed)


def _reason(exc: Exception) -> str:
    if isinstance(exc, GraftError):
        return str(exc)
    return f"its package has a structure omplan does not understand ({type(exc).__name__})"


def _companion(run: PlanRun, plan_path: Path, reason: str) -> WritebackResult:
    """The report as ``<stem>.omplan.xlsx`` beside the plan, which is left as it is."""
    from omplan.files.report import write_report

    companion = plan_path.with_name(plan_path.stem + ".omplan.xlsx")
    assert run.evaluation is not None  # a plan with errors is refused before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(run, companion)
    return WritebackResult(companion, in_place=False, reason=reason)


def package_owned(book: Book) -> dict[str, str]:
    """Report sheet -> title of the sheet omplan wrote for it, from the workbook part."""
    titles = [s.title for s in book.sheets]
    marked = []
    for name in book.names:
        if name.name != OWNER_NAME or name.local is None or name.local >= len(titles):
            continue
        mark = parse_mark(name.text, titles[name.local])
        if mark is not None:
            marked.append((titles[name.local], mark))
    book_names = [(n.name, n.text) for n in book.names if n.local is None]
    return pick_owned(_with_live_marks(marked, titles, book_names))


def plan_graft(book: Book, layout: ReportLayout) -> tuple[Graft, dict[str, str], list[str]]:
    """(the graft to do, report sheets renamed because of the user's, our sheets dropped):
    titles, table names and sheet order by the naming rules; the report rendered."""
    from omplan.render.xlsx import render_workbook, zip_date_time
    from omplan.report.layout import rename_sheets

    owned = package_owned(book)
    all_titles = [s.title for s in book.sheets]
    ours = [t for t in all_titles if t in owned.values()]
    user_sheets = [t for t in all_titles if t not in ours]
    titles, renamed = _sheet_titles(layout, owned, user_sheets)
    drop_names = {n.name for n in book.names if n.local is None and LIVE_MARK.fullmatch(
        n.name) and referenced_sheet(n.text) in ours}
    taken_names = {n.name.casefold() for n in book.names if n.name not in drop_names and (
        n.local is None or n.local >= len(all_titles) or all_titles[n.local] not in ours)}
    for title in user_sheets:
        taken_names |= book.tables.get(title, set())
    tables = {}
    for spec in (t for s in layout.sheets for t in s.tables):
        if spec.name.casefold() in taken_names:
            tables[spec.name] = _free_table_name(spec.name, taken_names)
            taken_names.add(tables[spec.name].casefold())
    changed = {k: v for k, v in titles.items() if k != v}
    if changed or tables:
        layout = rename_sheets(layout, changed, tables)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        render_workbook(layout, buffer, inline_strings=True)
    states = {s.title: s.state for s in book.sheets}
    replaced = {owned[s]: titles[s] for s in owned if s in titles}
    new_titles = [s.name for s in layout.sheets]  # renamed already
    order = _order(all_titles, set(ours), replaced, new_titles)
    active = all_titles[book.active] if book.active < len(all_titles) else None
    job = Graft(
        report=buffer.getvalue(), drop=ours, order=order,
        marks={titles[s]: owner_value(s, titles[s]) for s in titles},
        states={titles[s]: states[owned[s]] for s in owned if s in titles
                and states[owned[s]] != "visible"},
        drop_names=drop_names, active=replaced.get(active, active) if active else None,
        date_time=zip_date_time(layout.created))
    removed = [t for t in ours if t not in replaced]
    return job, renamed, removed


def _input_sheet_names() -> set[str]:
    from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS, norm_header

    return {norm_header(n) for n in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS)}


def _sheet_titles(layout: ReportLayout, owned: dict[str, str],
                  user_sheets: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(report sheet -> title to write it under, report sheet -> title used instead because
    the user has a sheet of that name). A report sheet we wrote before keeps its title, even
    one the user gave it; the plan's input sheet names are never used (they would be read as
    input next time)."""
    from omplan.input.reader import norm_header

    inputs = _input_sheet_names()
    users = {norm_header(t) for t in user_sheets}
    titles: dict[str, str] = {}
    for sheet in layout.sheets:
        old = owned.get(sheet.name)
        if old is not None and norm_header(old) not in inputs:
            titles[sheet.name] = old
    taken = users | inputs | {norm_header(t) for t in titles.values()}
    wanted = {norm_header(s.name) for s in layout.sheets}
    for sheet in layout.sheets:
        if sheet.name in titles:
            continue
        title = sheet.name
        if norm_header(title) in taken:
            title = _free_name(sheet.name, taken | wanted)
        titles[sheet.name] = title
        taken.add(norm_header(title))
    renamed = {s: t for s, t in titles.items()
               if t != s and norm_header(s) in users}
    return titles, renamed


def _order(original: list[str], ours: set[str], replaced: dict[str, str],
           new_titles: list[str]) -> list[str]:
    """The sheet order after writeback: every user sheet where it was, a replaced report sheet
    in its predecessor's place, a new report sheet after the report sheet before it."""
    order = [replaced.get(t, t) for t in original if t not in ours or t in replaced]
    for i, title in enumerate(new_titles):
        if title in order:
            continue
        before = next((t for t in reversed(new_titles[:i]) if t in order), None)
        after = next((t for t in new_titles[i + 1:] if t in order), None)
        if before is not None:
            order.insert(order.index(before) + 1, title)
        elif after is not None:
            order.insert(order.index(after), title)
        else:
            order.append(title)
    return order
