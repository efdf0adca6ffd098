"""Plan workbook file -> grids of cell values (python-calamine, after the package safety
scan) -> :class:`Plan` with :func:`omplan.input.parse.parse_plan`."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from omplan.core.findings import FileProblem, Finding, cell_ref, column_letter
from omplan.core.model import Plan
from omplan.input.parse import parse_plan
from omplan.input.tables import SheetGrid, error_value_fragment, norm_header, split_ref

__all__ = ["grids_from_file", "load_plan", "read_grids"]


#: Bounds of a sheet read from a file: columns kept (far more than any plan table needs) and
#: the extent up to which python-calamine reads a sheet as one dense grid.
MAX_READ_COLUMNS = 100
DENSE_READ_CELLS = 2_000_000
MAX_READ_ROWS = 1_048_576  # Excel's grid


def grids_from_file(path: str | os.PathLike[str]) -> dict[str, SheetGrid]:
    """Read the input sheets' values with python-calamine after the package safety scan.

    Raises :class:`FileProblem` for file-level problems (not a workbook, encrypted, bomb, ...).
    """
    return read_grids(path)[0]


def read_grids(path: str | os.PathLike[str], sheets: Collection[str] | None = None,
               all_names: list[str] | None = None
               ) -> tuple[dict[str, SheetGrid], list[Finding]]:
    """The input sheets' values (or those of ``sheets``) and warnings about cells left out;
    ``all_names``, when given, receives the name of every sheet of the workbook.

    Only the sheets omplan reads are touched. A sheet whose cells stay within
    ``DENSE_READ_CELLS`` is read by python-calamine as one grid; a larger one (a stray value
    far out, say at XFD1048576) is streamed cell by cell, keeping the first
    ``MAX_READ_COLUMNS`` columns, so memory and time follow the cells, not the extent.
    """
    from python_calamine import CalamineWorkbook

    from omplan.input.package import read_sheet_sparse, scan_workbook

    scan = scan_workbook(path) if sheets is None else scan_workbook(path, sheets)
    file_name = Path(path).name
    special: dict[str, dict[tuple[int, int], tuple[str, str] | str]] = {}
    for cell in scan.special_cells:
        try:
            r, c = split_ref(cell.ref)
        except ValueError:
            raise FileProblem(f"'{file_name}' is damaged (sheet '{cell.sheet}' has a cell with "
                              f"the malformed reference '{cell.ref}'); open it in Excel and "
                              "save a fresh .xlsx.", "damaged") from None
        if cell.kind == "error":
            problem = ("error-value", error_value_fragment(cell.value))
        else:
            problem = ("no-cached-value", (
                f"has a formula (={cell.value}) but no saved value: the file was probably "
                "written by a program that does not calculate formulas (such as openpyxl); "
                "open it in Excel or LibreOffice and save it, or run: soffice --headless "
                f"--convert-to xlsx --outdir calculated '{file_name}', so the values are stored"))
        special.setdefault(norm_header(cell.sheet), {})[(r - 1, c - 1)] = problem
    findings: list[Finding] = []
    try:
        workbook = CalamineWorkbook.from_path(os.fspath(path))
        if all_names is not None:
            all_names.extend(workbook.sheet_names)
        grids = {}
        for name in workbook.sheet_names:
            if name not in scan.sheet_parts:
                continue  # not a sheet omplan reads: never parsed
            last_row, last_col = scan.extents.get(name, (0, 0))
            if last_col <= MAX_READ_COLUMNS and last_row * last_col <= DENSE_READ_CELLS:
                rows: list[list[Any]] = workbook.get_sheet_by_name(name).to_python(
                    skip_empty_area=False)
            else:
                sparse = read_sheet_sparse(path, scan, name, MAX_READ_COLUMNS, MAX_READ_ROWS)
                rows = sparse.rows
                if sparse.ignored:
                    where = cell_ref(name, *split_ref(sparse.first_ignored))
                    beyond = (f"beyond column {column_letter(MAX_READ_COLUMNS)}, outside any "
                              "table omplan reads")
                    findings.append(Finding("warning", "cells-ignored", (
                        f"the value at {where} lies {beyond}, and is ignored; delete it if it "
                        "is stray") if sparse.ignored == 1 else (
                        f"{sparse.ignored:,} values, the first at {where}, lie {beyond}, and "
                        "are ignored; delete them if they are stray"), where))
            grids[name] = SheetGrid(name, rows, special=special.get(norm_header(name), {}))
    except FileProblem:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged parts
        raise FileProblem(f"'{file_name}' could not be read as a workbook ({exc}); open it "
                          "in Excel and save it again as .xlsx.", "damaged") from None
    return grids, findings


def load_plan(path: str | os.PathLike[str],
              read: Callable[[str | os.PathLike[str]], Mapping[str, SheetGrid]] = grids_from_file,
              *, partial: bool = False) -> tuple[Plan | None, list[Finding]]:
    """Read a plan workbook: the plan (None on errors; with ``partial``, as far as it reads,
    see :func:`~omplan.input.parse.parse_plan`) and every finding, never raising."""
    extra: list[Finding] = []
    names: list[str] | None = None
    try:
        grids: Mapping[str, SheetGrid]
        if read is grids_from_file:
            names = []
            grids, extra = read_grids(path, all_names=names)
        else:
            grids = read(path)
    except FileProblem as problem:
        return None, [problem.as_finding()]
    plan, findings = parse_plan(grids, Path(path).name, names, partial=partial)
    return plan, extra + findings
