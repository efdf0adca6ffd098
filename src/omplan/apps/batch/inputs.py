"""Which plans a batch runs, and the plans whose names clash with what the batch writes."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from omplan.apps.batch.tasks import ACTUALS_INFIX, PLAN_SUFFIXES, REPORT_NAME

#: A rollup's name: ``rollup_FY2027_Q2``, then the quarter's months when a batch mixes fiscal
#: calendars (``_Jul-Sep``) and the currency when it mixes currencies (``_EUR``).
_ROLLUP = r"rollup_FY-?\d+_Q[1-4](_[A-Za-z]{3}-[A-Za-z]{3})?(_[A-Za-z0-9]+)?"
#: Files a batch writes: never taken for plans when a folder is expanded.
_OUTPUT_NAME = re.compile(rf"(.+_FY-?\d+_Q[1-4]|{_ROLLUP})\.xlsx", re.IGNORECASE)
#: A quarterly workbook's name: the stem of the plan it was written for, then _FY…_Qn.
_QUARTERLY_NAME = re.compile(r"(?P<stem>.+)_FY-?\d+_Q[1-4]\.xlsx", re.IGNORECASE)
_ROLLUP_NAME = re.compile(rf"{_ROLLUP}\.xlsx", re.IGNORECASE)
#: A plan with this stem writes ``rollup_FY…_Qn.xlsx``: the name of the batch's rollups.
ROLLUP_STEM = "rollup"


def is_output_name(name: str) -> bool:
    """True for the file names a batch writes (quarterly budgets and rollups)."""
    return _OUTPUT_NAME.fullmatch(name) is not None


def expand_paths(paths: Iterable[str | os.PathLike[str]],
                 warn: Callable[[str], None] | None = None) -> list[Path]:
    """Plan files from files and folders, in the given order (a folder's plans by name).

    A folder contributes its .xlsx/.xlsm files (not sub-folders), leaving out Excel lock files
    (``~$…``), hidden files, files a batch writes and plans' actuals files
    (``<stem>.actuals.xlsx``). A path given twice counts once. A path that does not exist is
    kept: its task reports it as a failed plan.
    """
    out: list[Path] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            out.append(path)

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path)
            continue
        found = sorted(
            (p for p in path.iterdir()
             if p.suffix.lower() in PLAN_SUFFIXES and p.is_file()
             and not p.name.startswith(("~$", ".")) and not is_output_name(p.name)
             and not p.stem.casefold().endswith(ACTUALS_INFIX)),  # a plan's actuals file
            key=lambda p: (p.name.casefold(), p.name))
        if not found and warn is not None:
            warn(f"{path}: no plan workbooks (.xlsx, .xlsm) in this folder")
        for p in found:
            add(p)
    return out


def duplicates(paths: Sequence[Path]) -> dict[int, str]:
    """Plans whose outputs would overwrite an earlier plan's (same file stem), or the
    rollups (a plan named ``rollup``)."""
    first: dict[str, Path] = {}
    clashes = {}
    for i, path in enumerate(paths):
        key = path.stem.casefold()
        if key == ROLLUP_STEM:
            clashes[i] = (f"its workbooks would be named like the batch's rollups "
                          f"({ROLLUP_STEM}_FY…_Q…xlsx) and overwritten by them; rename the file")
        elif key in first:
            clashes[i] = (f"another plan in this batch has the same file name stem "
                          f"({first[key]}), so their workbooks would overwrite each other; "
                          "rename one of them")
        else:
            first[key] = path
    return clashes


def _entries(path: Path) -> set[tuple[Path, str]]:
    """The folder entries (real folder, name) holding a plan's data: the path itself and, for
    a symbolic link, the file it points to."""
    found = set()
    try:
        found.add((Path(os.path.realpath(path.parent)), path.name))
        real = path.resolve()
        found.add((real.parent, real.name))
    except OSError:
        pass
    return found


def overwritten_inputs(paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """Input plans that a batch writing into ``out_dir`` could overwrite (paths resolved,
    links followed): named ``batch_report.json``, like a rollup, or like another plan's
    quarterly workbook (``<stem>_FY<year>_Q<n>.xlsx``)."""
    folder = Path(os.path.realpath(out_dir))
    stems = {p.stem.casefold() for p in paths}
    at_risk = []
    for path in paths:
        for parent, name in _entries(path):
            quarterly = _QUARTERLY_NAME.fullmatch(name)
            if parent == folder and (
                    name.casefold() == REPORT_NAME or _ROLLUP_NAME.fullmatch(name)
                    or (quarterly and quarterly["stem"].casefold() in stems)):
                at_risk.append(path)
                break
    return at_risk
