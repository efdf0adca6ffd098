"""What ``omplan diff`` shows: the 80-column text, the JSON file and the comparison workbook."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from factories import grids
from test_versions import EDITS, scenario_plan

from omplan.files.diff import write_diff_json, write_diff_workbook
from omplan.files.report import ReportError
from omplan.input.versions import compare_grids
from omplan.report.diff import CHANGES_HEADER, diff_layout, waterfall_axis_min
from omplan.report.diff_text import diff_text, format_value

REPO = Path(__file__).resolve().parents[1]
CHECKER = next((p for p in (REPO.parent / "shared", REPO.parent.parent / "shared")
                if (p / "tools" / "ooxml" / "check_ooxml.py").is_file()), None)


def comparison_of(old, new):
    result = compare_grids(grids(old), grids(new), "budget_v1.xlsx", "budget_v2.xlsx")
    assert result.comparison is not None, result.error_lines()
    return result.comparison


@pytest.fixture(scope="module")
def edited():
    old = scenario_plan()
    new = copy.deepcopy(old)
    for category in ("Rates", "Staffing", "Costs, Billing, Contracts, Profile and Systems"):
        EDITS[category](new)
    for q in range(8):  # many Staffing changes: more than the text shows of one sheet
        new["Staffing"].append(["HR", "Ops", "In-house", None, 0.1 * (q + 1), 0, 0, 0])
    return comparison_of(old, new)


def test_text_fits_80_columns_and_says_what_changed(edited):
    text = diff_text(edited, limit=5)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    assert lines[0] == "omplan diff: budget_v1.xlsx → budget_v2.xlsx"
    assert f"     inputs {edited.old.fingerprint}" in lines
    assert f"     inputs {edited.new.fingerprint}" in lines
    assert "Inputs differ: 11 changes in 3 sheets." in lines
    assert "  Staffing (9)" in lines and "    … and 4 more" in lines
    assert "    Ops / In-house: Monthly cost 10,000 → 12,600" not in lines
    assert "    Dev / In-house: Monthly cost 12,000 → 12,600" in lines
    assert "    CRM / Ops / Outsource / Acme: Q3 2 → 3" in lines
    base = edited.bridge
    rates = base.steps[3].scenarios["Baseline"].total
    assert any(line.startswith("    Rates") and line.endswith(
        f"{rates:+,.0f}{base.steps[3].scenarios['Baseline'].npv_cost:>+14,.0f}")
        for line in lines)
    assert "    (5 other steps: 0)" in lines
    new_total = f"{base.new['Baseline'].total:,.0f}"
    assert any(line.startswith("    NEW") and new_total in line for line in lines)


def test_text_of_the_same_inputs():
    sheets = scenario_plan()
    text = diff_text(comparison_of(sheets, copy.deepcopy(sheets)))
    assert "Same inputs: the two plans hold the same values (formatting aside)." in text
    assert "Changes by sheet" not in text
    assert text.count("(every step: 0)") == 3  # one per scenario


def test_values_read_as_numbers_and_words():
    assert format_value(10200.0) == "10,200"
    assert format_value(0.125) == "0.125"
    assert format_value(True) == "yes" and format_value(None) == "(blank)"
    assert format_value("In-house") == "In-house"


def test_waterfall_axis_starts_below_the_steps_when_they_are_small():
    assert waterfall_axis_min([11_572_270, 11_587_961, 11_496_401, 11_533_456]) == 11_450_000
    assert waterfall_axis_min([100.0, 40.0, 90.0]) is None        # large steps: from 0
    assert waterfall_axis_min([0.0, 10.0]) is None
    start = waterfall_axis_min([1_000_000.0, 1_000_010.0])
    assert start is not None and start < 1_000_000


def test_layout_has_the_bridge_the_change_log_table_and_a_waterfall_per_scenario(edited):
    layout = diff_layout(edited, datetime(2027, 1, 1))
    assert [s.name for s in layout.sheets] == ["Bridge", "Changes", "About"]
    bridge = layout.sheet("Bridge")
    total = bridge.block("bridge_total")
    assert total.header == ("Step", "Baseline", "Offshore dev", "Lean")
    assert total.column("Step")[0] == "OLD" and total.column("Step")[-1] == "NEW"
    for j in range(1, len(edited.bridge.scenarios) + 1):
        values = [row[j] for row in total.rows]
        assert math_sum(values[1:-1]) == pytest.approx(values[-1] - values[0], abs=1e-6)
    assert len(bridge.charts) == 3
    for i, chart in enumerate(bridge.charts):
        base, *shown = chart.series
        assert base.hidden and not base.legend and base.labels is None
        assert all(s.labels for s in shown) and all(s.legend for s in shown)
        data = bridge.block(f"waterfall_{i}")
        rows = data.rows
        name = edited.bridge.scenarios[i]
        assert rows[0][2] == edited.bridge.old[name].total
        assert rows[-1][2] == edited.bridge.new[name].total
        moved = rows[0][2] + math_sum(r[3] or 0 for r in rows) - math_sum(r[4] or 0 for r in rows)
        assert moved == pytest.approx(rows[-1][2], abs=1e-6)
        assert chart.y_min is not None and chart.y_min < min(r[1] or r[2] for r in rows[1:-1])
    changes = layout.sheet("Changes")
    assert changes.tables[0].columns == CHANGES_HEADER
    assert len(changes.block("changes").rows) == len(edited.changes)


def math_sum(values):
    import math

    return math.fsum(values)


def test_the_workbook_and_the_json_are_written_atomically_and_read_back(edited, tmp_path):
    out = write_diff_workbook(edited, tmp_path / "diff.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Bridge", "Changes", "About"]
    ws = wb["Changes"]
    assert [c.value for c in ws[1]] == list(CHANGES_HEADER)
    assert ws.max_row == len(edited.changes) + 1
    assert "Changes" in ws.tables
    assert len(wb["Bridge"]._charts) == 3
    path = write_diff_json(edited, tmp_path / "diff.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(edited.to_json()))
    assert data["bridge"][3]["scenarios"]["Baseline"]["total"] == \
        edited.bridge.steps[3].scenarios["Baseline"].total
    with pytest.raises(ReportError):
        write_diff_workbook(edited, tmp_path / "diff.csv")
    plan = tmp_path / "v1.xlsx"
    plan.write_bytes(b"not really a plan")
    with pytest.raises(ReportError):
        write_diff_workbook(edited, plan, sources=[plan])
    assert plan.read_bytes() == b"not really a plan"


@pytest.mark.skipif(CHECKER is None, reason="shared/tools/ooxml/check_ooxml.py not found")
def test_the_workbook_passes_the_ecma_schemas(edited, tmp_path):
    out = write_diff_workbook(edited, tmp_path / "diff.xlsx")
    assert CHECKER is not None
    done = subprocess.run([sys.executable, str(CHECKER / "tools" / "ooxml" / "check_ooxml.py"),
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 violations" in done.stdout + done.stderr


def test_libreoffice_opens_and_prints_the_workbook(edited, tmp_path, soffice):
    out = write_diff_workbook(edited, tmp_path / "diff.xlsx")
    done = subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                           "--headless", "--norestore", "--convert-to", "pdf", "--outdir",
                           str(tmp_path), str(out)], capture_output=True, text=True,
                          timeout=300)
    pdf = tmp_path / "diff.pdf"
    assert pdf.is_file(), done.stdout + done.stderr
    assert pdf.stat().st_size > 10_000


def test_plans_in_other_currencies_get_the_change_log_and_a_plain_note(tmp_path):
    from factories import tiny_plan

    old = tiny_plan()
    new = copy.deepcopy(old)
    new["Settings"][3][1] = "USD"
    comparison = comparison_of(old, new)
    text = diff_text(comparison)
    assert "    currency: Value EUR → USD" in text
    assert "Note: no bridge: OLD is in EUR and NEW in USD" in text
    assert "Bridge from OLD to NEW" not in text
    wb = openpyxl.load_workbook(write_diff_workbook(comparison, tmp_path / "d.xlsx"))
    assert wb["Bridge"]._charts == []
    notes = [c.value for row in wb["Bridge"].iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("no bridge")]
    assert len(notes) == 1
