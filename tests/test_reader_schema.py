"""The one input schema: a new sheet is one schema entry plus one function; the reader, the
template, the package scan, the docs and the canonical records all follow it."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from factories import grids, parse, tiny_plan, with_rows, write_openpyxl

from omplan.files.sample import SAMPLE_PLAN
from omplan.files.template import write_template
from omplan.files.template_sheets import HEADERS
from omplan.input import columns, lines, schema
from omplan.input.package import INPUT_SHEETS, scan_workbook
from omplan.input.parse import READERS, read_sheets
from omplan.input.reader import OPTIONAL_SHEETS, load_plan, read_grids
from omplan.input.reading import Reading
from omplan.input.records import canonical_records, record_key
from omplan.input.schema import NON_NEGATIVE, ColumnSpec, SheetSpec, sheet_spec
from omplan.input.tables import Table

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- a new sheet

# -- the addition: one schema entry ... (Widgets is made up; it fills no Plan field)
WIDGETS = SheetSpec(
    "Widgets", key=("Widget",), capacity=20, help="Made up: how many widgets each system has",
    columns=(ColumnSpec("Widget", width=20), ColumnSpec("System", lookup="Systems", width=24),
             ColumnSpec("Count", "number", blank="zero", maximum=1000, number_format="0",
                        check=NON_NEGATIVE)))


# -- ... and one function that turns its rows into model objects
def read_widgets(table: Table, reading: Reading) -> list[tuple[str, str, float, str]]:
    widgets = []
    for row in reading.rows(table):
        widget, system, count = row.get("Widget"), row.get("System"), row.get("Count")
        if widget is not None and system is not None and count is not None:
            widgets.append((widget, system, count, row.ref("Widget")))
    return widgets
# -- end of the addition


@pytest.fixture
def widgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetSpec]:
    """The schema and the reader's functions with Widgets added (restored afterwards)."""
    monkeypatch.setitem(READERS, "Widgets", read_widgets)
    schema.SHEETS.append(WIDGETS)
    try:
        yield WIDGETS
    finally:
        schema.SHEETS.remove(WIDGETS)


def _with_widgets() -> dict[str, list[list[Any]]]:
    """The tiny plan with a Widgets sheet (headers matched like any other sheet's)."""
    return with_rows(tiny_plan(), "Widgets", ["Sprocket", "ERP", 3], [" Gear ", "ERP", None],
                     ["Cog", "ERP", "lots"], header=["WIDGET", "System", " count "])


def test_the_reader_parses_a_new_sheet(widgets):
    sheets = _with_widgets()
    reading = read_sheets(grids(sheets), "tiny.xlsx")
    assert reading.values["Widgets"] == [("Sprocket", "ERP", 3.0, "Widgets!A2"),
                                        ("Gear", "ERP", 0.0, "Widgets!A3")]
    plan, findings = parse(sheets)
    assert plan is None  # the bad count is an error like any other, located and worded
    assert [(f.code, f.location, f.message) for f in findings] == [
        ("not-a-number", "Widgets!C4", "Count must be a number ≥ 0, got 'lots'")]
    # a missing required column, and an optional sheet left out
    sheets["Widgets"][0] = ["Name", "System", "Count"]
    assert [f.code for f in parse(sheets)[1]] == ["missing-column"]
    assert parse(tiny_plan())[1] == []
    assert "Widgets" in OPTIONAL_SHEETS and "Widgets" not in schema.REQUIRED_SHEETS


def test_the_template_writes_a_new_sheet(widgets, tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx", fiscal_year=2027))
    assert wb.sheetnames[-1] == "Widgets" and HEADERS["Widgets"] == ["Widget", "System", "Count"]
    ws = wb["Widgets"]
    assert [c.value for c in ws[1]] == ["Widget", "System", "Count"]
    assert ws.tables["WidgetsTable"].ref == "A1:C21"  # its capacity
    rules = {str(dv.sqref): (dv.type, dv.formula1) for dv in ws.data_validations.dataValidation}
    assert rules == {"B2:B21": ("list", "Systems!$A$2:$A$201"),
                     "C2:C21": ("decimal", "0")}
    assert ws["C2"].number_format == "0" and ws.column_dimensions["A"].width == 20
    start = " ".join(str(c.value) for c in wb["Start here"]["A"] if c.value)
    assert "FX, Actuals and Widgets are optional" in start


def test_the_package_scan_reads_a_new_sheet(widgets, tmp_path):
    path = write_openpyxl(_with_widgets(), tmp_path / "w.xlsx")
    assert "Widgets" in INPUT_SHEETS and "Widgets" in scan_workbook(path).sheet_parts
    grids_read, _ = read_grids(path)
    assert grids_read["Widgets"].rows[1] == ["Sprocket", "ERP", 3]
    assert [f.location for f in load_plan(path)[1]] == ["Widgets!C4"]


def test_without_the_entry_the_sheet_is_not_even_inflated(tmp_path):
    path = write_openpyxl(_with_widgets(), tmp_path / "w.xlsx")
    assert "Widgets" not in scan_workbook(path).sheet_parts
    assert load_plan(path)[1] == []


def test_the_docs_and_the_records_follow_a_new_sheet(widgets):
    table = schema.sheets_table_markdown()
    assert table.splitlines()[-1] == (
        "| **Widgets** | no | `Widget`, `System`, `Count` | Widget | Made up: how many widgets "
        "each system has |")
    docs = (ROOT / "docs" / "model.md").read_text()
    assert "**Widgets**" in table and "**Widgets**" not in docs  # test_docs asks for a paste
    records = canonical_records(grids(_with_widgets()))["Widgets"]
    assert records == [{"Widget": "Sprocket", "System": "ERP", "Count": 3.0},
                       {"Widget": "Gear", "System": "ERP", "Count": 0.0},
                       {"Widget": "Cog", "System": "ERP", "Count": "lots"}]


def test_a_sheets_value_fills_the_plan_field_its_schema_names(monkeypatch):
    assert sheet_spec("Profile").plan_field == "profile"
    monkeypatch.setitem(READERS, "Profile", lambda table, reading: {"Runs 24x7": True})
    plan, _ = parse(with_rows(tiny_plan(), "Profile", ["anything"], header=["Factor"]))
    assert plan is not None and plan.profile == {"Runs 24x7": True}
    left_out, _ = parse(tiny_plan())  # a sheet left out: the field keeps the model's default
    assert left_out is not None and left_out.profile == {}


def test_the_addition_is_small():
    source = Path(__file__).read_text()
    addition = source.split("# -- the addition")[1].split("# -- end of the addition")[0]
    assert len(addition.strip().splitlines()) <= 20


# --------------------------------------------------------------------------- the schema


def test_every_sheet_has_its_function_and_its_key_columns():
    assert list(READERS) == list(schema.INPUT_SHEETS)
    for spec in schema.SHEETS:
        names = spec.header
        assert set(spec.key) <= set(names), spec.name
        assert len(set(names)) == len(names), spec.name
        for column in spec.columns:
            assert column.lookup in (None, *schema.INPUT_SHEETS)
            if column.kind == "choice":
                assert set(column.choices) <= set(column.alias_map.values()), column.name


def test_the_schema_holds_what_the_reader_checks():
    assert sheet_spec("staffing") is sheet_spec("Staffing")
    assert sheet_spec("Staffing").column("FTE Q1") is None
    q3 = sheet_spec("Staffing").column("FY2028 Q3")
    assert q3 is not None and (q3.what, q3.maximum, q3.blank) == ("FTE FY2028 Q3", 1e5, "empty")
    assert sheet_spec("Rates").header_with("Currency") == [
        "Role", "Sourcing", "Monthly cost", "Currency"]
    with pytest.raises(ValueError):
        sheet_spec("Rates").header_with("Vendor")
    assert schema.REQUIRED_SHEETS[:] == ["Settings", "Roles", "Rates", "Allocation", "Staffing"]
    plan, findings = parse(with_rows(tiny_plan(), "Rates", ["Ops", "Offshore", 2e9]))
    assert [(f.code, f.message) for f in findings] == [(
        "out-of-range", "Monthly cost must be at most 1,000,000,000, got 2e+09: check the cell "
                        "for a typo")]


# --------------------------------------------------------------------------- canonical rows


def _reformatted(sheets: dict[str, list[list[Any]]]) -> dict[str, list[list[Any]]]:
    """The same plan typed differently: headers in upper case and columns in reverse order,
    whole numbers as floats, listed values in other spellings, a Vendor column left out."""
    out = {}
    for name, rows in sheets.items():
        rows = [[("In house" if v == "In-house" else "outsourced" if v == "Outsource" else
                  float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                 for v in row] for row in rows]
        header = [str(h).upper() for h in rows[0]]
        out[name] = [header[::-1], *(row[::-1] for row in rows[1:])]
    return out


def test_records_ignore_formatting_column_order_and_spelling():
    sample = canonical_records(grids(SAMPLE_PLAN))
    assert sample == canonical_records(grids(_reformatted(SAMPLE_PLAN)))
    assert list(sample) == [s for s in schema.INPUT_SHEETS if s in SAMPLE_PLAN]
    costs = sample["Costs"]
    once = next(r for r in costs if r["Item"] == "Cloud migration (adaptive work)")
    assert (once["Q1"], once["FY2027 Q3"], "FY2027 Q2" in costs[0]) == (0.0, 45000.0, False)
    staffing = sample["Staffing"]
    assert staffing[0]["Vendor"] is None
    without_vendor = copy.deepcopy(SAMPLE_PLAN)
    without_vendor["Staffing"] = [[v for c, v in enumerate(row) if c != 3]
                                  for row in SAMPLE_PLAN["Staffing"]]
    assert canonical_records(grids(without_vendor))["Staffing"][0] == staffing[0]
    settings = {r["Setting"]: r["Value"] for r in sample["Settings"]}
    assert (settings["fy_start_month"], settings["band_low"]) == (4, 0.4)
    assert record_key(sheet_spec("Rates"), sample["Rates"][0]) == (
        "Service desk agent", "In-house")
    changed = copy.deepcopy(SAMPLE_PLAN)
    changed["Rates"][1][2] += 1
    assert canonical_records(grids(changed))["Rates"] != sample["Rates"]


# --------------------------------------------------------------------------- column reading


def _cell_by_cell(block: columns.Block) -> columns.Block:
    return replace(block, clean=np.zeros_like(block.clean))


def test_reading_a_column_at_a_time_gives_what_reading_cell_by_cell_gives(monkeypatch):
    """Staffing and Costs build the clean rows' lines at once; with every row read cell by cell
    instead, plans with bad cells, copies and unknown names give the same plan and the same
    findings in the same order."""
    rng = random.Random(7)
    junk = [None, "", "three", -1, 1e9, True, "#REF!", " in house ", "Dev", "Ops", "CRM", 2.5,
            "Acme", "acme", "EUR", "xx", "Offshore", "Outsource", "Lead"]
    plans = []
    for k in range(60):
        sheets = with_rows(tiny_plan(), "Costs", ["ERP", "Licence", "Monitoring", 1, 2, 3, 4, None],
                           ["CRM", "Disk", "Routine tasks", 5, 5, 5, 5, "EUR"],
                           header=["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4",
                                   "Currency"])
        sheets["Roles"].append(["Lead", "PMO"])  # a role without an Allocation row
        if k % 2:
            sheets["Systems"] = [["System"], ["ERP"]]  # then CRM is an unknown system
        staffing = sheets["Staffing"]
        staffing += [["ERP", "Ops", "Offshore", None, 1, 1, 1, 1],  # no rate
                     ["ERP", "Ops", "Offshore", None, 0, 0, 0, 0],  # no rate, no FTE: fine
                     ["ERP", "Lead", "In-house", None, 1, 1, 1, 1],  # no allocation
                     ["CRM", "Dev", "In-house", "Acme", 1, 1, 1, 1]]
        staffing += [list(rng.choice(staffing[1:])) for _ in range(6)]
        rng.shuffle(staffing[1:])
        for _ in range(rng.randint(0, 6)):
            name = rng.choice(["Staffing", "Staffing", "Costs"])
            rows = sheets[name]
            rows[rng.randrange(1, len(rows))][rng.randrange(len(rows[0]))] = rng.choice(junk)
        plans.append(sheets)
    at_once = [parse(sheets) for sheets in plans]
    monkeypatch.setattr(lines, "read_block", lambda *a: _cell_by_cell(columns.read_block(*a)))
    assert [parse(sheets) for sheets in plans] == at_once
    codes = {f.code for _, findings in at_once for f in findings}
    assert {"duplicate-line", "not-a-number", "unknown-role", "missing-value", "missing-rate",
            "no-allocation", "unknown-system", "bad-currency"} <= codes


def test_a_staffing_copy_is_warned_at_the_copy_with_the_first_row():
    sheets = tiny_plan()
    sheets["Staffing"] += [list(sheets["Staffing"][1]), ["ERP", "Dev", "In-house", None,
                                                          "x", 1, 1, 1],
                           list(sheets["Staffing"][1])]
    plan, findings = parse(sheets)
    assert [(f.code, f.location) for f in findings] == [
        ("duplicate-line", "Staffing!A4"), ("not-a-number", "Staffing!E5"),
        ("duplicate-line", "Staffing!A6")]
    assert all("also at Staffing!A2" in f.message for f in findings if f.code != "not-a-number")
    assert re.search(r"\(ERP, Ops, In-house\)", findings[0].message)
