"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import shutil

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
