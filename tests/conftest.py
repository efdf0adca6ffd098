"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice's ``soffice``, the real spreadsheet application that opens, recalculates
    and renders our workbooks; the tests that need it skip, saying why, where it is missing."""
    if os.environ.get("OMPLAN_SKIP_LIBREOFFICE"):
        pytest.skip("OMPLAN_SKIP_LIBREOFFICE is set")
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice is not installed ('soffice' is not on PATH): the reports "
                    "cannot be checked in a real spreadsheet application here")
    return found


@pytest.fixture(scope="session")
def one_year_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plan as it was before plans spanned several years (one fiscal year, every
    rate in USD, no actuals): tests that check its hand-derived v1 figures read this one."""
    from omplan.files.sample import SAMPLE_PLAN_ONE_YEAR, write_plan_workbook

    path = tmp_path_factory.mktemp("one_year") / "sample_plan.xlsx"
    write_plan_workbook(SAMPLE_PLAN_ONE_YEAR, path)
    return path
