"""``omplan new``: the input template as an .xlsx, or an .xlsm with the Run button."""

from __future__ import annotations

import os
from pathlib import Path

from omplan.files.template_sheets import build_template
from omplan.files.xlsm import write_xlsm
from omplan.files.xlsxio import save_workbook, source_date


def write_template(path: str | os.PathLike[str], *, sample: bool = False,
                   fiscal_year: int | None = None) -> Path:
    """Write the template to ``path`` atomically; returns the path.

    ``.xlsx``: the plain template. ``.xlsm``: the same sheets on xlwings' quickstart workbook
    with its RunPython macro and an xlwings.conf sheet (see :mod:`omplan.xlsm`).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".xlsm":
        return write_xlsm(target, sample=sample, fiscal_year=fiscal_year)
    if suffix != ".xlsx":
        raise ValueError("the template is an .xlsx workbook, or an .xlsm with the Run button")
    return save_workbook(build_template(fiscal_year, sample), target, source_date())

