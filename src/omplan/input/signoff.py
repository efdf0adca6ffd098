"""The sign-off of a quarterly budget workbook written earlier, and the ``changed-after-final``
warning (spec §12, plan versions).

Where the signed fingerprint is kept: in the budget workbook itself. The Budget sheet's
sign-off block (Prepared by, Reviewed by, Approved by, Date, Version, Status) gains a row
``Inputs fingerprint`` that omplan fills with the fingerprint of the plan's inputs the budget was
made from (a value, not a cell to fill in). When finance sets Status to ``Final`` and saves, the
workbook holds both: what was approved and from which inputs. A later run that is about to write
the same budget (same plan, quarter and scenario) reads that block first: Final with another
fingerprint means the plan changed after its budget was signed.

The block is found by its labels, not by cell addresses, so it may move on the sheet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omplan.core.findings import FileProblem, Finding
from omplan.input.tables import SheetGrid, is_blank, norm_header

SIGN_OFF_SHEET = "Budget"
SIGN_OFF_HEADER = "Sign-off"
STATUS_LABEL = "Status"
FINGERPRINT_LABEL = "Inputs fingerprint"
FINAL = "Final"
#: rows below the block's header searched for its labels
_BLOCK_ROWS = 12


@dataclass(frozen=True, slots=True)
class SignOff:
    """What a budget workbook's sign-off block says (cells as ``Budget!H9``)."""

    status: str
    fingerprint: str
    status_cell: str
    fingerprint_cell: str

    @property
    def final(self) -> bool:
        return norm_header(self.status) == norm_header(FINAL)


def sign_off_of(grid: SheetGrid) -> SignOff | None:
    """The sign-off block of a Budget sheet's grid: the cell ``Sign-off`` and, below it in the
    same column, the labels Status and Inputs fingerprint with their values to the right."""
    for r, row in enumerate(grid.rows):
        for c, value in enumerate(row):
            if isinstance(value, str) and norm_header(value) == norm_header(SIGN_OFF_HEADER):
                return _block(grid, r, c)
    return None


def _block(grid: SheetGrid, top: int, col: int) -> SignOff:
    found: dict[str, tuple[str, str]] = {}
    for r in range(top + 1, min(top + 1 + _BLOCK_ROWS, len(grid.rows))):
        label = grid.value(r, col)
        if is_blank(label):
            break
        value = grid.value(r, col + 1)
        text = "" if is_blank(value) else " ".join(str(value).split())
        found[norm_header(label)] = (text, grid.ref(r, col + 1))
    status = found.get(norm_header(STATUS_LABEL), ("", ""))
    fingerprint = found.get(norm_header(FINGERPRINT_LABEL), ("", ""))
    return SignOff(status[0], fingerprint[0].lower(), status[1], fingerprint[1])


def read_sign_off(path: str | os.PathLike[str]) -> SignOff | None:
    """The sign-off block of a budget workbook (None when there is no such file, sheet or
    block). Only the Budget sheet is read, after the package safety checks every plan gets;
    FileProblem for a file that is not a readable workbook."""
    from omplan.input.workbook import read_grids

    if not Path(path).is_file():
        return None
    grids, _ = read_grids(path, [SIGN_OFF_SHEET])
    grid = next((g for name, g in grids.items()
                 if norm_header(name) == norm_header(SIGN_OFF_SHEET)), None)
    return None if grid is None else sign_off_of(grid)


def changed_after_final(path: str | os.PathLike[str], fingerprint: str) -> Finding | None:
    """The ``changed-after-final`` warning when the budget workbook at ``path`` was signed
    Final for inputs other than ``fingerprint`` (those of the plan being run); None when the
    file is missing or unreadable, not Final, or carries no fingerprint (written before omplan
    kept one, so nothing can be compared)."""
    try:
        sign_off = read_sign_off(path)
    except FileProblem:
        return None
    if sign_off is None or not sign_off.final or not sign_off.fingerprint:
        return None
    if sign_off.fingerprint == fingerprint.lower():
        return None
    name = Path(path).name
    return Finding(
        "warning", "changed-after-final",
        f"{name} was signed Final ({sign_off.status_cell}) for inputs "
        f"{sign_off.fingerprint[:12]}…, but the plan's inputs have changed since (now "
        f"{fingerprint[:12]}…): the budget written now no longer matches the signed one. Run "
        "'omplan diff' on the signed version of the plan and this one to see what changed, "
        "and have the new budget signed again.", "")


__all__ = ["FINAL", "FINGERPRINT_LABEL", "SignOff", "changed_after_final", "read_sign_off",
           "sign_off_of"]
