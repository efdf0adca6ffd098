"""Test helper: a plan workbook as the JSON payload Excel's xlwings client sends, and a small
interpreter of the actions xlwings' remote engine sends back.

The payload follows what the clients build (checked against xlwings 0.37.8):
``xlwings/js/xlwings.ts`` (Office Scripts: book name, active sheet, selection, range names
with their scope, and per sheet its name, the values from A1 to the used range's last cell,
pictures and tables) and the sheet keys ``xlwings/pro/_xlremote.py`` reads from Office.js
clients (visibility, shapes, charts, notes, print area, gridlines, pivot tables and the used
range's address). Dates travel as ISO strings, empty cells as "".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xlwings as xw

from omplan.core.findings import column_letter

OFFICE_JS = "Office.js"
NONCOMMERCIAL = "noncommercial"
OFFICE_SCRIPTS = "Microsoft Office Scripts"


def _json_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return value



def sheet_payload(name: str, rows: Sequence[Sequence[Any]], client: str = OFFICE_JS,
                  used_from: tuple[int, int] = (1, 1)) -> dict[str, Any]:
    """One sheet: ``rows`` are the cells from A1; ``used_from`` is the used range's first cell
    (Office.js clients send the used range's address; values stay anchored at A1)."""
    width = max((len(r) for r in rows), default=0)
    values = [[_json_value(v) for v in row] + [""] * (width - len(row)) for row in rows]
    while values and all(v == "" for v in values[-1]):
        values.pop()
    width = max((i + 1 for row in values for i, v in enumerate(row) if v != ""), default=0)
    values = [row[:width] for row in values] or [[]]
    sheet: dict[str, Any] = {"name": name, "values": values, "pictures": [], "tables": []}
    if client == OFFICE_JS:
        used = None
        if width:
            first, last = column_letter(used_from[1]), column_letter(width)
            used = f"${first}${used_from[0]}:${last}${len(values)}"
        sheet.update({"visibility": "Visible", "shapes": [], "charts": [], "notes": [],
                      "print_area": None, "show_gridlines": True, "pivot_tables": [],
                      "used_range_address": used})
    return sheet


def payload(sheets: Mapping[str, Sequence[Sequence[Any]]], *, book_name: str = "plan.xlsx",
            client: str = OFFICE_JS, names: Sequence[Mapping[str, Any]] = (),
            used_from: Mapping[str, tuple[int, int]] | None = None,
            active: int = 0) -> dict[str, Any]:
    """The payload of a book with ``sheets`` (name -> rows from A1)."""
    used_from = used_from or {}
    return {
        "client": client,
        "version": xw.__version__,
        "book": {"name": book_name, "active_sheet_index": active, "selection": "A1"},
        "names": [dict(n) for n in names],
        "sheets": [sheet_payload(name, rows, client, used_from.get(name, (1, 1)))
                   for name, rows in sheets.items()],
    }


def workbook_rows(path: str | Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cells from A1 (cached values, as Excel would send them)."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in workbook.sheet_names}


def payload_from_workbook(path: str | Path, **kw: Any) -> dict[str, Any]:
    kw.setdefault("book_name", Path(path).name)
    return payload(workbook_rows(path), **kw)


def shift(rows: Sequence[Sequence[Any]], down: int, right: int) -> list[list[Any]]:
    """``rows`` moved ``down`` rows and ``right`` columns (empty cells before them)."""
    return [[] for _ in range(down)] + [[None] * right + list(row) for row in rows]


def owner_name(sheet: str, index: int, refers_to: str | None = None) -> dict[str, Any]:
    """A sheet-scoped ``omplan_report`` name as a client reports it."""
    quoted = "'" + sheet.replace("'", "''") + "'"
    return {"name": "omplan_report", "sheet_index": index, "address": "A1",
            "book_scope": False, "scope_sheet_name": sheet, "scope_sheet_index": index,
            "refers_to": refers_to or f"={quoted}!$A$1"}


# --------------------------------------------------------------------------- actions


class ActionError(AssertionError):
    pass


#: Actions that write to a sheet (as opposed to selecting or activating it).
READ_ONLY_ACTIONS = {"activateSheet", "rangeSelect"}


def apply_actions(book_payload: dict[str, Any], actions: Sequence[Mapping[str, Any]]
                  ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Apply the actions that change cells, sheets and names to a copy of the payload.

    Returns the new payload and, for every action, (func, the name of the sheet it targets at
    that moment, '' for book-level ones). Formatting actions only count as targets; the
    interpreter keeps values, sheets and names, which is what the tests compare.
    """
    import copy

    book = copy.deepcopy(book_payload)
    sheets = book["sheets"]
    targets: list[tuple[str, str]] = []
    for action in actions:
        func = action["func"]
        pos = action.get("sheet_position")
        target = sheets[pos]["name"] if pos is not None and pos < len(sheets) else ""
        if func == "addSheet":
            index, name = action["args"]
            if any(s["name"].casefold() == name.casefold() for s in sheets):
                raise ActionError(f"addSheet of an existing name {name!r}")
            sheets.insert(index, {"name": name, "values": [[]], "pictures": [], "tables": [],
                                  "charts": [], "shapes": [], "notes": []})
            for n in book["names"]:
                for key in ("sheet_index", "scope_sheet_index"):
                    if n.get(key) is not None and n[key] >= index:
                        n[key] += 1
            target = name
        elif func == "sheetDelete":
            del sheets[pos]
            book["names"] = [n for n in book["names"] if n.get("scope_sheet_index") != pos]
            for n in book["names"]:
                for key in ("sheet_index", "scope_sheet_index"):
                    if n.get(key) is not None and n[key] > pos:
                        n[key] -= 1
        elif func == "setValues":
            _set_values(sheets[pos], action["start_row"], action["start_column"],
                        action["values"])
        elif func == "namesAdd":
            name, refers_to = action["args"]
            if pos is None:
                index, address = _reference(sheets, refers_to)
                book["names"].append({"name": name, "sheet_index": index, "address": address,
                                      "book_scope": True, "scope_sheet_name": None,
                                      "scope_sheet_index": None, "refers_to": refers_to})
            else:
                book["names"].append(owner_name(sheets[pos]["name"], pos, refers_to) | {
                    "name": name})
        elif func == "nameDelete":
            _, _, bare, _, book_scope, scope_index = action["args"]
            book["names"] = [n for n in book["names"] if not (
                n["name"] == bare and bool(n["book_scope"]) == bool(book_scope)
                and (book_scope or n["scope_sheet_index"] == scope_index))]
        elif func == "activateSheet":
            book["book"]["active_sheet_index"] = action["args"][0]
            target = sheets[action["args"][0]]["name"]
        targets.append((func, target))
    return book, targets


def _reference(sheets: list[dict[str, Any]], refers_to: str) -> tuple[int | None, str | None]:
    """(sheet index, address) of a simple ``='Sheet'!$A$1`` reference, as clients report."""
    match = re.fullmatch(r"=(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]+)\$?(\d+)", refers_to)
    if not match:
        return None, None
    name = (match.group(1) or "").replace("''", "'") or match.group(2)
    index = next((i for i, s in enumerate(sheets) if s["name"] == name), None)
    return index, f"{match.group(3)}{match.group(4)}"


def _set_values(sheet: dict[str, Any], row0: int, col0: int, values: list[list[Any]]) -> None:
    grid = [list(r) for r in sheet["values"] if r is not None]
    for i, row in enumerate(values):
        r = row0 + i
        while len(grid) <= r:
            grid.append([])
        for j, value in enumerate(row):
            c = col0 + j
            while len(grid[r]) <= c:
                grid[r].append("")
            if isinstance(value, str) and value.startswith("'"):
                value = value[1:]  # Excel's text prefix is not part of the value
            grid[r][c] = "" if value is None else value
    width = max((len(r) for r in grid), default=0)
    sheet["values"] = [r + [""] * (width - len(r)) for r in grid]


def cell(book: dict[str, Any], sheet: str, address: str) -> Any:
    """A cell's value in a payload (None when empty)."""
    match = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert match, address
    col = 0
    for ch in match.group(1):
        col = col * 26 + ord(ch) - 64
    row = int(match.group(2))
    values = next(s for s in book["sheets"] if s["name"] == sheet)["values"]
    try:
        value = values[row - 1][col - 1]
    except IndexError:
        return None
    return None if value == "" else value


def sheet_values(book: dict[str, Any], sheet: str) -> dict[tuple[int, int], Any]:
    """Non-empty cells of a sheet: (row, col) -> value, 1-based."""
    values = next(s for s in book["sheets"] if s["name"] == sheet)["values"]
    return {(r + 1, c + 1): v for r, row in enumerate(values) for c, v in enumerate(row)
            if v not in ("", None)}


def open_book(book_payload: dict[str, Any]) -> Any:
    """A remote-engine ``xlwings.Book`` of a copy of the payload (the engine edits the dict it
    is given as the script runs, so the original stays the book *before* the run)."""
    import copy

    return xw.Book(json=copy.deepcopy(book_payload))


def use_remote_engine(monkeypatch: Any) -> None:
    """Make xlwings' remote engine (and its calamine reader) available for one test.

    The engine is xlwings PRO code under the PolyForm Noncommercial licence: the key
    ``noncommercial`` is set for the test only (``monkeypatch``). xlwings registers its PRO
    engines when it is first imported; if that happened before the key was set (another test
    module imported xlwings), the engine is registered here, and unregistered afterwards.
    """
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", NONCOMMERCIAL)
    have = [engine.name for engine in xw.engines]
    if "remote" in have and "calamine" in have:
        return
    from xlwings.main import Engine
    from xlwings.pro import _xlcalamine, _xlremote  # checks the key set above

    added = [Engine(impl=module.engine) for name, module in
             (("remote", _xlremote), ("calamine", _xlcalamine)) if name not in have]
    monkeypatch.setattr(xw.engines, "engines", [*xw.engines.engines, *added])
    for engine in added:
        monkeypatch.setitem(xw.engines.engines_by_name, engine.name, engine)
