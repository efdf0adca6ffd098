"""A quarterly budget signed Final and a plan changed since: the changed-after-final warning."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from factories import grids, tiny_plan

from omplan.core.engine import evaluate
from omplan.core.versions import plan_fingerprint
from omplan.input.reader import parse_plan
from omplan.input.signoff import FINGERPRINT_LABEL, changed_after_final, read_sign_off
from omplan.render.xlsx import render_workbook
from omplan.report.quarterly import build_quarter_layout


def budget(tmp_path: Path, sheets, status: str | None, fingerprint: str | None) -> Path:
    """A quarterly budget as omplan writes it, then signed in a spreadsheet: Status set and
    (as the lead's wiring will write it) the inputs fingerprint under Status."""
    plan, findings = parse_plan(grids(sheets), "bu1.xlsx")
    assert plan is not None, findings
    path = tmp_path / "bu1_FY2027_Q1.xlsx"
    layout = build_quarter_layout(evaluate(plan), "Baseline", "Q1",
                                  generated=datetime(2027, 4, 1))
    render_workbook(layout, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Budget"]
    status_cell = next(c for row in ws.iter_rows() for c in row if c.value == "Status")
    below = ws.cell(status_cell.row + 1, status_cell.column)
    assert below.value is None
    if status is not None:
        ws.cell(status_cell.row, status_cell.column + 1).value = status
    if fingerprint is not None:
        below.value = FINGERPRINT_LABEL
        ws.cell(below.row, below.column + 1).value = fingerprint
    wb.save(path)
    return path


@pytest.fixture
def sheets():
    return tiny_plan()


def fingerprint_of(sheets) -> str:
    plan, _ = parse_plan(grids(sheets), "bu1.xlsx")
    assert plan is not None
    return plan_fingerprint(plan)


def test_a_final_budget_of_other_inputs_gives_the_warning(tmp_path, sheets):
    signed = fingerprint_of(sheets)
    path = budget(tmp_path, sheets, "Final", signed)
    sign_off = read_sign_off(path)
    assert sign_off is not None and sign_off.final and sign_off.fingerprint == signed
    assert sign_off.status_cell.startswith("Budget!")
    changed = copy.deepcopy(sheets)
    changed["Rates"][1][2] = 11000
    now = fingerprint_of(changed)
    warning = changed_after_final(path, now)
    assert warning is not None
    assert (warning.severity, warning.code) == ("warning", "changed-after-final")
    assert warning.message.startswith(
        f"bu1_FY2027_Q1.xlsx was signed Final ({sign_off.status_cell}) for inputs {signed[:12]}…")
    assert now[:12] in warning.message and "omplan diff" in warning.message


def test_no_warning_for_the_same_inputs_a_draft_or_an_unsigned_budget(tmp_path, sheets):
    signed = fingerprint_of(sheets)
    assert changed_after_final(budget(tmp_path, sheets, "Final", signed), signed) is None
    other = "0" * 64
    assert changed_after_final(budget(tmp_path, sheets, "Draft", signed), other) is None
    assert changed_after_final(budget(tmp_path, sheets, "Final", None), other) is None
    assert changed_after_final(tmp_path / "missing.xlsx", other) is None
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    assert changed_after_final(broken, other) is None
