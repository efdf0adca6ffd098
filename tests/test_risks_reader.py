"""The Risks sheet reader: drivers as the plan spells their targets, every bad cell located and
reported at once, from grids and from files written by openpyxl and XlsxWriter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from factories import parse, write_openpyxl, write_xlsxwriter
from risk_reference import ALL_DRIVERS, RISKS_HEAD, risk_sheets

from omplan.core.findings import Finding
from omplan.core.model import RiskDriver
from omplan.input.package import INPUT_SHEETS
from omplan.input.reader import parse_plan
from omplan.input.risks import RiskTargets, applies_to_choices, read_risks
from omplan.input.tables import SheetGrid


def targets() -> RiskTargets:
    plan, findings = parse(risk_sheets())
    assert plan is not None, findings
    return RiskTargets.of_plan(plan)


def read(rows: list[list[Any]], header: list[Any] | None = None
         ) -> tuple[list[RiskDriver], list[Finding]]:
    return read_risks(SheetGrid("Risks", [header or RISKS_HEAD, *rows]), targets())


def errors_at(findings: list[Finding]) -> dict[str, Finding]:
    """The error findings by location (one per location)."""
    out: dict[str, Finding] = {}
    for f in findings:
        if f.severity == "error":
            assert f.location not in out, findings
            out[f.location] = f
    return out


def test_every_driver_kind_reads_with_the_plan_spelling():
    drivers, findings = read(ALL_DRIVERS)
    assert findings == []
    assert [(d.driver, d.applies_to) for d in drivers] == [
        ("Rate", "*"), ("Rate", "Offshore"), ("Rate", "Acme"), ("Rate", "Bangalore"),
        ("FTE", "ERP"), ("FTE", "*"), ("FX", "INR"), ("FX", "EUR"), ("Other costs", "*"),
        ("Other costs", "ERP"), ("Transition", "*"), ("Escalation", "Offshore"),
        ("Escalation", "In-house"), ("Escalation", "Other costs"), ("Vendor overhead", "*")]
    assert drivers[3].distribution == "PERT"  # blank: the default
    assert drivers[0] == RiskDriver("Rate", "*", 0.95, 1.0, 1.1, "Uniform", "Risks!A2")
    assert [d.location for d in drivers] == [f"Risks!A{r}" for r in range(2, 17)]


def test_names_match_like_enumerated_values_and_targets_ignoring_case():
    rows = [["rates", "offshored", 0.9, 1, 1.2, "beta-pert"],
            ["Vendor_Overhead", None, 0.05, 0.1, 0.15, "triangle"],
            ["other-costs", "erp", 0, 1, 2, "UNIFORM"],
            ["fx", "inr", 0.9, 1, 1.1, None], ["Rate", "offshore VENDOR", 1, 1, 1, None],
            ["escalation", "other", 0.01, 0.02, 0.03, None], ["transition", "*", 0, 1, 2, None]]
    drivers, findings = read(rows)
    assert findings == []
    assert [(d.driver, d.applies_to, d.distribution) for d in drivers] == [
        ("Rate", "Offshore", "PERT"), ("Vendor overhead", "*", "Triangular"),
        ("Other costs", "ERP", "Uniform"), ("FX", "INR", "PERT"),
        ("Rate", "Offshore vendor", "PERT"), ("Escalation", "Other costs", "PERT"),
        ("Transition", "*", "PERT")]


def test_every_problem_is_reported_at_its_cell():
    rows = [
        ["Volume", "*", 0.9, 1, 1.1, None],                     # 2 unknown driver
        ["Rate", "Acmee", 0.9, 1, 1.1, None],                    # 3 near miss of a vendor
        ["FTE", "EPR", 0.9, 1, 1.1, None],                       # 4 near miss of a system
        ["FX", "GBP", 0.9, 1, 1.1, None],                        # 5 not on the FX sheet
        ["Transition", "ERP", 0.9, 1, 1.1, None],                # 6 only *
        ["Escalation", "*", 0.01, 0.02, 0.03, None],             # 7 one row per target
        ["Rate", "*", 1.1, 1.0, 1.2, None],                      # 8 Likely below Low
        ["FTE", "*", 0.9, 1.2, 1.1, None],                       # 9 High below Likely
        ["Rate", "Offshore", 0, 1, 1.1, None],                   # 10 factor must be > 0
        ["Escalation", "Offshore", -1, 0.07, 0.1, None],         # 11 rate must be > -1
        ["Escalation", "In-house", 0.02, 3, 5, None],            # 12 percents typed
        ["Vendor overhead", "*", 0.05, 10, 15, None],            # 13 percents typed
        ["Other costs", "*", 0.9, 100, 130, None],               # 14 factor as percent
        ["Rate", "Offshore", None, 1, "1,2", None],              # 15 blank, decimal comma
        ["FX", "INR", 0.9, 1, 1.1, "Normal"],                    # 16 unknown distribution
        ["rate", "OFFSHORE", 0.8, 1, 1.2, None],                 # 17 fine: row 10 was not kept
        ["Rate", "offshore", 0.8, 1, 1.2, None],                 # 18 duplicate of row 17
    ]
    drivers, findings = read(rows)
    errors = errors_at(findings)
    expected = {
        "Risks!A2": ("unknown-value", "Driver must be one of Rate, FTE, FX"),
        "Risks!B3": ("unknown-target", "vendor 'Acmee' is not in the plan: did you mean "
                                       "'Acme'?"),
        "Risks!B4": ("unknown-target", "system 'EPR' is not in the plan: did you mean 'ERP'?"),
        "Risks!B5": ("unknown-target", "currency 'GBP' is not on the FX sheet"),
        "Risks!B6": ("bad-target", "Applies to of Transition must be * "),
        "Risks!B7": ("bad-target", "Applies to of Escalation must be a sourcing"),
        "Risks!D8": ("bad-order", "Likely of Rate (1) is below Low (1.1)"),
        "Risks!E9": ("bad-order", "High of FTE (1.1) is below Likely (1.2)"),
        "Risks!C10": ("out-of-range", "Low of Rate (a factor, 1 = as planned) must be a "
                                      "number > 0, got 0"),
        "Risks!C11": ("out-of-range", "must be a number > -1, got -1"),
        "Risks!D12": ("percent-number", "enter 0.03"),
        "Risks!E12": ("percent-number", "enter 0.05"),
        "Risks!D13": ("percent-number", "Likely of Vendor overhead (a fraction)"),
        "Risks!E13": ("percent-number", "High of Vendor overhead"),
        "Risks!D14": ("percent-number", "enter 1"),
        "Risks!E14": ("percent-number", "enter 1.3"),
        "Risks!C15": ("missing-value", "Low of Rate (a factor, 1 = as planned) is required"),
        "Risks!E15": ("not-a-number", "(a decimal comma: use a decimal point, 1.2)"),
        "Risks!F16": ("unknown-value", "Distribution must be one of PERT, Triangular, "
                                       "Uniform, got 'Normal'"),
        "Risks!A18": ("duplicate", "Rate for Offshore is given twice (first at Risks!A17)"),
    }
    assert set(errors) == set(expected), sorted(errors)
    for location, (code, phrase) in expected.items():
        assert errors[location].code == code, errors[location]
        assert phrase in errors[location].message, errors[location]
    # rows with no error are kept: 17 (its first Offshore row 10 failed)
    assert [(d.applies_to, d.location) for d in drivers] == [("Offshore", "Risks!A17")]


def test_an_other_costs_row_for_a_system_without_costs_is_a_warning():
    drivers, findings = read([["Other costs", "Hub", 0.9, 1, 1.1, None]])
    assert [(f.severity, f.code, f.location) for f in findings] == [
        ("warning", "no-match", "Risks!B2")]
    assert "Hub" in findings[0].message and drivers[0].applies_to == "Hub"


def test_missing_columns_and_a_missing_sheet():
    drivers, findings = read([["Rate", "*", 0.9, 1, 1.1]],
                             header=["Driver", "Applies to", "Low", "High"])
    assert drivers == []
    assert [(f.code, f.location) for f in findings] == [("missing-column", "Risks!A1")]
    assert "'Likely'" in findings[0].message
    assert read_risks(None, targets()) == ([], [])


def test_a_table_below_a_title_and_right_of_column_a():
    grid = SheetGrid("Risks", [["Uncertain drivers of the plan"], [],
                               [None, *RISKS_HEAD], [None, "FTE", "*", 0.9, 1, 1.1, None]])
    drivers, findings = read_risks(grid, targets())
    assert findings == [] and drivers[0].location == "Risks!B4"


def test_unknown_names_are_accepted_when_their_sheet_had_errors():
    unknown = RiskTargets(systems=None, vendors=None, currencies=None, cost_systems=None)
    drivers, findings = read_risks(SheetGrid("Risks", [RISKS_HEAD, ["FTE", "Mainframe", 0.9, 1,
                                                                    1.1, None]]), unknown)
    assert findings == [] and drivers[0].applies_to == "Mainframe"


def test_the_drop_down_lists_every_target_of_the_plan():
    choices = applies_to_choices(targets())
    assert choices[:5] == ("*", "In-house", "Outsource", "Offshore", "Other costs")
    for name in ("ERP", "Portal", "Hub", "Acme", "Bangalore", "Offshore vendor", "INR", "EUR"):
        assert name in choices


# --------------------------------------------------------------------------- files


def _read_file(path: Path) -> tuple[list[RiskDriver], list[Finding]]:
    from omplan.input.reader import read_grids

    grids, _ = read_grids(path, [*INPUT_SHEETS, "Risks"])
    plan, findings = parse_plan(grids, path.name)
    assert plan is not None, findings
    return read_risks(grids["Risks"], RiskTargets.of_plan(plan))


@pytest.mark.parametrize("writer", [write_openpyxl, write_xlsxwriter])
def test_files_written_by_openpyxl_and_xlsxwriter(tmp_path, writer):
    sheets = {**risk_sheets(), "Risks": [RISKS_HEAD, *ALL_DRIVERS]}
    drivers, findings = _read_file(writer(sheets, tmp_path / "plan.xlsx"))
    assert findings == []
    assert drivers == read(ALL_DRIVERS)[0]  # XlsxWriter's percent cells read as fractions


def test_an_error_value_in_a_file_is_located(tmp_path):
    path = tmp_path / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in {**risk_sheets(), "Risks": [RISKS_HEAD, *ALL_DRIVERS[:2]]}.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
        if name == "Risks":
            ws.write_formula("E3", "=1/0", None, "#DIV/0!")
    wb.close()
    drivers, findings = _read_file(path)
    assert [(f.code, f.location) for f in findings] == [("error-value", "Risks!E3")]
    assert "High of Rate" in findings[0].message and "#DIV/0!" in findings[0].message
    assert [d.applies_to for d in drivers] == ["*"]
