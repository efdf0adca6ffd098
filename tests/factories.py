"""Small factories for plan workbooks: a plan as ``{sheet: [header, *rows]}`` data.

``tiny_plan()`` is the hand-computed plan the unit tests state their arithmetic on.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from omplan.input.reader import SheetGrid, parse_plan

ACTS = ["Monitoring", "Incident response", "Routine tasks", "Security operations",
        "Corrective", "Preventive", "Adaptive", "Perfective"]


def tiny_plan() -> dict[str, list[list[Any]]]:
    """One system, two roles. Rates 10,000 (ops, in-house) and 12,000 (dev, in-house).

    Ops: 1 FTE every quarter, 100 % Monitoring -> 30,000 a quarter, all operation.
    Dev: 1 FTE every quarter, 50 % Corrective / 50 % Incident response -> 36,000 a quarter.
    """
    return {
        "Settings": [["Setting", "Value"], ["plan_name", "Tiny"], ["fiscal_year", 2027],
                     ["currency", "EUR"]],
        "Roles": [["Role", "Level"], ["Ops", "L2"], ["Dev", "L3"]],
        "Rates": [["Role", "Sourcing", "Monthly cost"], ["Ops", "In-house", 10000],
                  ["Dev", "In-house", 12000], ["Ops", "Outsource", 12000],
                  ["Dev", "Offshore", 6000]],
        "Allocation": [["Role", *ACTS], ["Ops", 1, None, None, None, None, None, None, None],
                       ["Dev", None, 0.5, None, None, 0.5, None, None, None]],
        "Staffing": [["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"],
                     ["ERP", "Ops", "In-house", None, 1, 1, 1, 1],
                     ["ERP", "Dev", "In-house", None, 1, 1, 1, 1]],
    }


def grids(sheets: dict[str, list[list[Any]]]) -> dict[str, SheetGrid]:
    return {name: SheetGrid(name, [list(r) for r in rows]) for name, rows in sheets.items()}


def parse(sheets: dict[str, list[list[Any]]]):
    return parse_plan(grids(sheets), "tiny.xlsx")


def with_rows(sheets: dict[str, list[list[Any]]], sheet: str, *rows: list[Any],
              header: list[Any] | None = None) -> dict[str, list[list[Any]]]:
    """A copy of ``sheets`` with ``rows`` appended to ``sheet`` (created with ``header``)."""
    out = copy.deepcopy(sheets)
    if sheet not in out:
        out[sheet] = [header or []]
    out[sheet].extend(list(r) for r in rows)
    return out


def write_openpyxl(sheets: dict[str, list[list[Any]]], path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def write_xlsxwriter(sheets: dict[str, list[list[Any]]], path: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    pct = wb.add_format({"num_format": "0%"})
    # a date needs a date format: without one XlsxWriter stores a bare serial number (46478),
    # which reads back as a number, not a date
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                fmt = pct if isinstance(value, float) and 0 < value < 1 else None
                if isinstance(value, dt.date):
                    fmt = date
                ws.write(r, c, value, fmt)
    wb.close()
    return path


def horizon_plan(years: int = 3) -> dict[str, list[list[Any]]]:
    """``tiny_plan()`` over ``years`` fiscal years from FY2027 (Settings rows: plan_name at
    row 2, fiscal_year 3, currency EUR 4, horizon_years 5)."""
    sheets = tiny_plan()
    sheets["Settings"].append(["horizon_years", years])
    return sheets
