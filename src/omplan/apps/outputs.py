"""Where ``omplan run`` may write its outputs: a new or empty file, or one omplan wrote
before; never the plan, the actual spend, or a file of the user's that happens to have the
name (a GL export given to ``--json``, a workbook given to ``--out``).

Each check returns the one sentence to print (exit 2, nothing run), or None when the path may
be written.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

__all__ = ["check_json_path", "check_out_path", "is_our_json", "is_our_report"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb")
#: an omplan report's core properties name omplan as its creator (kept by Excel and
#: LibreOffice when the report is saved again)
_CREATOR = re.compile(rb"<dc:creator[^>]*>\s*omplan\s*</dc:creator>")
_CORE_PART = "docProps/core.xml"
#: the JSON summary's keys every version has written
_SUMMARY_KEYS = frozenset({"plan", "currency", "errors", "scenarios"})


def is_our_report(path: Path) -> bool:
    """Whether ``path`` is a workbook omplan wrote (its creator is omplan)."""
    try:
        with zipfile.ZipFile(path) as package:
            info = package.getinfo(_CORE_PART)
            if info.file_size > 1_000_000:
                return False
            return bool(_CREATOR.search(package.read(info)))
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return False


def is_our_json(path: Path) -> bool:
    """Whether ``path`` holds a JSON summary omplan wrote."""
    try:
        with path.open("rb") as handle:
            if handle.read(64).lstrip()[:1] != b"{":
                return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and _SUMMARY_KEYS <= data.keys()


def _holds_something(path: Path) -> bool:
    """An existing file that is not empty (an empty one, made to reserve the name, has
    nothing to lose)."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _same(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return a.exists() and b.exists() and a.resolve() == b.resolve()
    except OSError:
        return False


def check_json_path(json_path: Path, plan_path: Path,
                    actuals_path: Path | None = None) -> str | None:
    """Why ``--json`` cannot be written there: a name that is not .json (a workbook, a CSV),
    the plan or the actuals file, an existing file that is not a JSON summary of omplan's, a
    folder, or a missing folder."""
    name = f"--json {json_path}"
    suffix = json_path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return (f"omplan: {name} names a workbook: the JSON summary is written to a .json "
                "file; nothing was run")
    if _same(json_path, plan_path):
        return (f"omplan: {name} is the plan itself: choose another file name for the JSON "
                "summary; nothing was run")
    if _same(json_path, actuals_path):
        return f"omplan: {name} would overwrite the --actuals file; nothing was run"
    if json_path.is_dir():
        return f"omplan: {name} is a folder; give a file name; nothing was run"
    if suffix != ".json":
        what = "an existing file" if json_path.exists() else "not a .json name"
        return (f"omplan: {name} is {what}: the JSON summary is written to a file whose name "
                "ends in .json; nothing was run")
    if _holds_something(json_path) and not is_our_json(json_path):
        return (f"omplan: {name} exists and is not a JSON summary omplan wrote: choose "
                "another file name, or move that file away first; nothing was run")
    if not json_path.parent.is_dir():
        return (f"omplan: folder {json_path.parent} does not exist; create it or choose "
                "another --json file; nothing was run")
    return None


def check_out_path(out_path: Path, plan_path: Path,
                   actuals_path: Path | None = None) -> str | None:
    """Why the report cannot be written to ``--out``: not an .xlsx name, the plan or the
    actuals file, a folder, or an existing workbook omplan did not write."""
    name = f"--out {out_path}"
    if _same(out_path, plan_path):
        return (f"omplan: {name} is the plan itself: choose another file name for the report "
                "(or use --writeback to add the report sheets to the plan); nothing was run")
    if _same(out_path, actuals_path):
        return f"omplan: {name} would overwrite the --actuals file; nothing was run"
    if out_path.is_dir():
        return f"omplan: {name} is a folder; give a file name ending in .xlsx; nothing was run"
    if out_path.suffix.lower() != ".xlsx":
        what = "an existing file" if out_path.exists() else "not an .xlsx name"
        return (f"omplan: {name} is {what}: the report is an Excel workbook, written to a "
                "file whose name ends in .xlsx; nothing was run")
    if _holds_something(out_path) and not is_our_report(out_path):
        return (f"omplan: {name} exists and is not a report omplan wrote: choose another file "
                "name, or move that workbook away first; nothing was run")
    return None
