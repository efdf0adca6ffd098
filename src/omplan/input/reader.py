"""Plan workbook -> typed :class:`Plan` plus located findings (spec §2): the reader's public
names in one place.

The reader is three modules: :mod:`omplan.input.workbook` reads a file into grids of cell
values (python-calamine after the package safety scan), :mod:`omplan.input.parse` turns grids
into a plan by the input schema (:mod:`omplan.input.schema`), with one function per sheet
(:mod:`omplan.input.sheets`, :mod:`~omplan.input.lines`, :mod:`~omplan.input.scenarios`,
:mod:`~omplan.input.multiyear`, :mod:`~omplan.input.settings_sheet`,
:mod:`~omplan.input.actuals`).
"""

from __future__ import annotations

from omplan.input.parse import parse_plan, read_sheets
from omplan.input.scenarios import LARGE_FACTOR, PERCENT_FACTOR
from omplan.input.schema import (
    MAX_COST,
    MAX_FTE,
    MAX_FX_RATE,
    MAX_MONTHLY_COST,
    OPTIONAL_SHEETS,
    REQUIRED_SHEETS,
)
from omplan.input.sheets import read_profile
from omplan.input.tables import (
    EXCEL_ERRORS,
    SheetGrid,
    error_value_fragment,
    norm_enum,
    norm_header,
    parse_yes_no,
)
from omplan.input.workbook import grids_from_file, load_plan, read_grids

__all__ = [
    "EXCEL_ERRORS", "LARGE_FACTOR", "MAX_COST", "MAX_FTE", "MAX_FX_RATE", "MAX_MONTHLY_COST",
    "OPTIONAL_SHEETS", "PERCENT_FACTOR", "REQUIRED_SHEETS", "SheetGrid", "error_value_fragment",
    "grids_from_file", "load_plan", "norm_enum", "norm_header", "parse_plan", "parse_yes_no",
    "read_grids", "read_profile", "read_sheets",
]
