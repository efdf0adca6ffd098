"""Ordinary slips that gave silent wrong figures or hid problems, made the way a finance
manager makes them, on a plan of a European retailer: EUR, five years from January, six
systems, a nearshore vendor billed in PLN, four scenarios.

Each test writes the plan workbook with openpyxl or XlsxWriter, with one slip in it, and reads
it with omplan as a user would (``omplan.run_plan``, or the command line).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import ACTS, grids, write_openpyxl, write_xlsxwriter

from omplan.input.reader import parse_plan
from omplan.pipeline import run_plan

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ["POS", "E-commerce", "ERP", "Warehouse", "CRM", "Data platform"]
#: PLN per EUR as the market quotes it, and what the FX sheet asks for (EUR per one PLN)
PLN_PER_EUR = 4.31
EUR_PER_PLN = 0.232


def retailer_plan() -> dict[str, list[list[Any]]]:
    """A correct plan: Offshore rows are the Krakow vendor's, in PLN (about 0.6 times the
    EUR in-house rates once converted)."""
    staffing = [["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"]]
    for system in SYSTEMS:
        staffing += [
            [system, "Service desk agent", "In-house", None, 2, 2, 2, 2],
            [system, "Ops engineer", "In-house", None, 1.5, 1.5, 1.5, 1.5],
            [system, "DBA", "Outsource", "Acme Services", 0.5, 0.5, 0.5, 0.5],
            [system, "Developer", "Offshore", "Krakow Soft", 2, 2, 2, 2],
            [system, "Senior developer", "In-house", None, 1, 1, 1, 1],
            [system, "Service owner", "In-house", None, 0.25, 0.25, 0.25, 0.25],
        ]
    return {
        "Settings": [["Setting", "Value"], ["plan_name", "Retail O&M"], ["currency", "EUR"],
                     ["fiscal_year", 2027], ["fy_start_month", 1], ["horizon_years", 5]],
        "Roles": [["Role", "Level"], ["Service desk agent", "L1"], ["Ops engineer", "L2"],
                  ["DBA", "L2"], ["Developer", "L3"], ["Senior developer", "L3"],
                  ["Service owner", "PMO"]],
        "Rates": [["Role", "Sourcing", "Monthly cost", "Currency"],
                  ["Service desk agent", "In-house", 4800, None],
                  ["Service desk agent", "Outsource", 5500, None],
                  ["Service desk agent", "Offshore", 14000, "PLN"],
                  ["Ops engineer", "In-house", 7500, None],
                  ["Ops engineer", "Outsource", 8600, None],
                  ["Ops engineer", "Offshore", 21000, "PLN"],
                  ["DBA", "In-house", 8200, None],
                  ["DBA", "Outsource", 9400, None],
                  ["DBA", "Offshore", 23000, "PLN"],
                  ["Developer", "In-house", 8800, None],
                  ["Developer", "Outsource", 10100, None],
                  ["Developer", "Offshore", 25000, "PLN"],
                  ["Senior developer", "In-house", 10500, None],
                  ["Senior developer", "Outsource", 12000, None],
                  ["Senior developer", "Offshore", 30000, "PLN"],
                  ["Service owner", "In-house", 12500, None],
                  ["Service owner", "Outsource", 14400, None]],
        "Allocation": [["Role", *ACTS],
                       ["Service desk agent", 0.2, 0.5, 0.3, None, None, None, None, None],
                       ["Ops engineer", 0.3, 0.3, 0.2, 0.2, None, None, None, None],
                       ["DBA", 0.2, 0.2, 0.3, None, None, 0.3, None, None],
                       ["Developer", None, 0.1, None, None, 0.4, 0.2, 0.1, 0.2],
                       ["Senior developer", None, None, None, None, 0.3, 0.2, 0.2, 0.3],
                       ["Service owner", *([0.125] * 8)]],
        "Staffing": staffing,
        "Contracts": [["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"],
                      ["Krakow Soft", 4, 5], ["Acme Services", 2, 5]],
        "Scenarios": [["Scenario", "Role", "System", "Change", "Value", "From"],
                      ["Nearshore L3", "Senior developer", "*", "sourcing", "Offshore", None],
                      ["Nearshore L3", "Senior developer", "*", "vendor", "Krakow Soft", None],
                      ["Outsource L1", "Service desk agent", "*", "sourcing", "Outsource", "Q3"],
                      ["Outsource L1", "Service desk agent", "*", "vendor", "Acme Services",
                       "Q3"],
                      ["Lean", "*", "*", "fte_factor", 0.9, None],
                      ["Krakow rates", "Developer", "*", "rate_factor", 1.05, None]],
        "FX": [["Currency", "Fiscal year", "Rate"], ["PLN", None, EUR_PER_PLN]],
    }


def _write(tmp_path: Path, sheets: dict[str, list[list[Any]]], name: str = "retail.xlsx",
           writer: Any = write_openpyxl) -> Path:
    return writer(sheets, tmp_path / name)


def _codes(findings: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.code] = out.get(f.code, 0) + 1
    return out


def _baseline_total(path: Path) -> float:
    run = run_plan(path)
    assert run.ok, run.errors
    return run.figures.baseline.total


def _generated_plans(tmp_path: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import write_plan

    paths = [tmp_path / "gen_small.xlsx", tmp_path / "gen_mid.xlsx"]
    write_plan(paths[0], 60, 3, seed=1)
    write_plan(paths[1], 400, 6, seed=2)
    return paths


# --------------------------------------------------------------------------- correct plans


def test_correct_plans_get_no_new_warning(tmp_path):
    """The sample plan (INR offshore rates), the retailer (PLN) and generated plans: none of
    the new checks speaks."""
    new_codes = {"fx-suspicious", "rate-outlier", "similar-name", "fx-unused", "sheet-name"}
    plans = [ROOT / "src" / "omplan" / "data" / "sample_plan.xlsx",
             _write(tmp_path, retailer_plan()), *_generated_plans(tmp_path)]
    for path in plans:
        run = run_plan(path)
        assert run.ok, (path, run.errors)
        assert not new_codes & set(_codes(run.findings)), (path, run.findings)


# --------------------------------------------------------------------------- 1. FX


def test_fx_typed_the_market_way_is_warned_with_the_rate_meant(tmp_path):
    """4.31 PLN per EUR typed where the sheet asks for EUR per PLN multiplies the nearshore
    rates by 18.6 and the Baseline by 5.3: a warning at the FX cell names the Rates cell and
    the reciprocal to enter."""
    good = _baseline_total(_write(tmp_path, retailer_plan(), "good.xlsx"))
    sheets = retailer_plan()
    sheets["FX"][1][2] = PLN_PER_EUR
    run = run_plan(_write(tmp_path, sheets, writer=write_xlsxwriter))
    assert run.ok  # a warning: the figures are still produced
    assert run.figures.baseline.total / good == pytest.approx(5.28, abs=0.01)
    found = [f for f in run.findings if f.code == "fx-suspicious"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "warning" and f.location == "FX!C2"
    assert "the PLN rates come to 11.4 times above the same roles' EUR rates" in f.message
    assert "(25,000 PLN, Rates!C13) comes to 107,750 EUR a month" in f.message
    assert "the wrong way round" in f.message
    assert "enter 1/4.31 = 0.232," in f.message
    # the nearshore rates, 18.6 times too high, are not warned about a second time
    assert "rate-outlier" not in _codes(run.findings)


def test_fx_the_other_way_round_too(tmp_path):
    """An INR-per-USD rate on a USD plan (the sample's rupees) is the same slip."""
    from omplan.files.sample import SAMPLE_PLAN

    sheets = copy.deepcopy(SAMPLE_PLAN)
    sheets["FX"][1][2] = 82.5708
    plan, findings = parse_plan(grids(sheets), "sample_plan.xlsx")
    found = [f for f in findings if f.code == "fx-suspicious"]
    assert len(found) == 1 and found[0].location == "FX!C2"
    assert "enter 1/82.5708 = 0.01211" in found[0].message


def test_a_currency_with_parity_like_magnitudes_is_left_alone(tmp_path):
    """A EUR plan with a Swiss vendor in CHF at 1.05 EUR per CHF: rates a little above the
    EUR ones, nothing to warn about; the reciprocal would not be plausible either."""
    sheets = retailer_plan()
    sheets["FX"][1] = ["CHF", None, 1.05]
    for row in sheets["Rates"][1:]:
        if row[3] == "PLN":
            row[2], row[3] = round(row[2] * EUR_PER_PLN * 1.9), "CHF"
    run = run_plan(_write(tmp_path, sheets))
    assert run.ok and "fx-suspicious" not in _codes(run.findings)


# --------------------------------------------------------------------------- 2. vendor case


def test_a_vendor_in_other_capitals_is_the_same_vendor(tmp_path):
    """'Krakow soft' in Scenarios for the Staffing's 'Krakow Soft': no transition is charged
    for a change that is none, every figure is the correct plan's, and a warning points at
    the cell with the other spelling."""
    good = run_plan(_write(tmp_path, retailer_plan(), "good.xlsx"))
    sheets = retailer_plan()
    sheets["Scenarios"][2][4] = "Krakow soft"  # Nearshore L3's vendor row
    sheets["Staffing"][10][3] = "  KRAKOW SOFT "  # a later cell in capitals, spaces around
    run = run_plan(_write(tmp_path, sheets))
    assert run.ok
    for a, b in zip(good.figures.scenarios, run.figures.scenarios, strict=True):
        assert (b.name, b.total, b.npv_cost, b.components) == (a.name, a.total, a.npv_cost,
                                                              a.components)
    nearshore = run.figures.scenarios[1]
    assert nearshore.name == "Nearshore L3"
    assert nearshore.components["transition"] == good.figures.scenarios[1].components[
        "transition"]
    vendors = set(run.evaluation.ledger["vendor"].astype(str))
    assert "Krakow Soft" in vendors and not {"Krakow soft", "KRAKOW SOFT"} & vendors
    warned = {f.location: f.message for f in run.findings if f.code == "similar-name"}
    assert warned == {
        "Staffing!D11": "vendor 'KRAKOW SOFT' is 'Krakow Soft' (at Staffing!D5) in other "
                        "capitals or spacing: omplan takes both as one vendor, 'Krakow Soft'; "
                        "use one spelling",
        "Scenarios!E3": "vendor 'Krakow soft' is 'Krakow Soft' (at Staffing!D5) in other "
                        "capitals or spacing: omplan takes both as one vendor, 'Krakow Soft'; "
                        "use one spelling"}


def test_a_default_vendor_name_typed_in_other_capitals(tmp_path):
    """'offshore vendor' typed in a cell is the vendor a blank Offshore cell gets."""
    sheets = retailer_plan()
    for row in sheets["Staffing"][1:]:
        if row[3] == "Krakow Soft":
            row[3] = None
    sheets["Staffing"][4][3] = "offshore vendor"
    run = run_plan(_write(tmp_path, sheets))
    assert run.ok
    assert set(run.evaluation.ledger["vendor"].astype(str)) >= {"Offshore vendor"}
    assert "offshore vendor" not in set(run.evaluation.ledger["vendor"].astype(str))
    [f] = [f for f in run.findings if f.code == "similar-name"]
    assert f.location == "Staffing!D5"
    assert "(the name omplan gives a line with a blank Vendor cell)" in f.message


# --------------------------------------------------------------------------- 3. rate outliers


def test_a_rate_with_an_extra_zero_is_warned_with_the_rate_meant(tmp_path):
    sheets = retailer_plan()
    sheets["Rates"][4][2] = 75000  # Ops engineer, In-house: 7,500
    run = run_plan(_write(tmp_path, sheets, writer=write_xlsxwriter))
    assert run.ok
    [f] = [f for f in run.findings if f.code == "rate-outlier"]
    assert f.severity == "warning" and f.location == "Rates!C5"
    assert f.message == (
        "the In-house rate of 'Ops engineer', 75,000 EUR a month, is 8.5 times above the "
        "median of the other In-house rates (8,800 EUR) and 8.7 times above its Outsource "
        "rate (Rates!C6): a zero too many? If it is 7,500, correct the cell; if the rate is "
        "right, this warning can be ignored")


def test_a_foreign_rate_with_an_extra_zero_and_one_too_few(tmp_path):
    """Compared in plan currency: 300,000 PLN (for 30,000) is 10 times the other nearshore
    rates; 1,050 EUR (for 10,500) a tenth of the other in-house ones."""
    sheets = retailer_plan()
    sheets["Rates"][15][2] = 300000  # Senior developer, Offshore, PLN
    sheets["Rates"][13][2] = 1050  # Senior developer, In-house
    run = run_plan(_write(tmp_path, sheets))
    found = {f.location: f.message for f in run.findings if f.code == "rate-outlier"}
    assert set(found) == {"Rates!C16", "Rates!C14"}
    assert "300,000 PLN a month" in found["Rates!C16"]
    assert "If it is 30,000, correct the cell" in found["Rates!C16"]
    assert "a zero too few? If it is 10,500, correct the cell" in found["Rates!C14"]


def test_expensive_and_cheap_roles_that_are_meant_are_left_alone(tmp_path):
    """An architect at three times the median and offshore work at a third of in-house."""
    sheets = retailer_plan()
    sheets["Roles"].append(["Architect", "L3"])
    sheets["Rates"] += [["Architect", "In-house", 26000, None],
                        ["Architect", "Offshore", 20000, "PLN"]]
    sheets["Allocation"].append(["Architect", None, None, None, None, 0.5, None, 0.5, None])
    run = run_plan(_write(tmp_path, sheets))
    assert run.ok and "rate-outlier" not in _codes(run.findings)


# --------------------------------------------------------------------------- 4. all at once


def _many_errors() -> dict[str, list[list[Any]]]:
    sheets = retailer_plan()
    sheets["Settings"].append(["band_low", 40])  # a percent number
    sheets["Staffing"][3][4] = "three"  # FTE as a word
    sheets["Staffing"][8][1] = "Ops Engineer "  # a role in other capitals
    sheets["Rates"][8][2] = "n/a"  # DBA, Outsource
    sheets["Allocation"][2][2] = 0.4  # Ops engineer's shares add up to 1.1
    sheets["Scenarios"].append(["PMO nearshore", "Service owner", "*", "sourcing",
                                "Offshore", None])  # the role has no Offshore rate
    sheets["Scenarios"].append(["Lean", "*", "*", "fte_factor", 90, None])  # 90 for 0.9
    sheets["FX"][1][0] = "PNL"  # the currency typo
    return sheets


def test_every_problem_is_reported_in_one_run(tmp_path):
    """A currency typo on FX (the PLN rates then have none) and a rate a scenario needs are
    reported with the reader's errors, not after they are fixed."""
    run = run_plan(_write(tmp_path, _many_errors()))
    assert not run.ok
    errors = {(f.code, f.location) for f in run.errors}
    assert errors == {
        ("percent-number", "Settings!B7"), ("not-a-number", "Staffing!E4"),
        ("unknown-role", "Staffing!B9"), ("not-a-number", "Rates!C9"),
        ("shares-not-one", "Allocation!A3"), ("percent-number", "Scenarios!E9"),
        ("missing-rate", "Scenarios!A8"),
        # the typo, which stands for the missing PLN rates
        ("bad-currency", "FX!A2")}
    [typo] = [f for f in run.findings if f.code == "bad-currency"]
    assert typo.message == ("FX rate for PNL: no Rates or Costs row is in PNL, and the PLN "
                            "amounts (Rates!D4) have no FX rate: did you mean PLN?")
    [unknown] = [f for f in run.errors if f.code == "unknown-role"]
    assert unknown.message == ("role 'Ops Engineer' is not listed on the Roles sheet: did you "
                               "mean 'Ops engineer'?")


def test_every_problem_in_the_terminal(tmp_path):
    from test_cli import no_traceback, omplan_cmd

    path = _write(tmp_path, _many_errors())
    result = omplan_cmd("run", path)
    no_traceback(result)
    assert result.returncode == 2
    text = " ".join(result.stderr.split())  # the terminal wraps long lines
    assert "retail.xlsx: 8 errors; no figures were produced" in text
    assert "FX!A2: FX rate for PNL: no Rates or Costs row is in PNL, and the PLN amounts " \
           "(Rates!D4) have no FX rate: did you mean PLN?" in text
    assert "Scenarios!A8: scenario 'PMO nearshore' puts Service owner on POS" in text


def test_a_missing_fx_rate_is_reported_with_the_reader_errors(tmp_path):
    """No typo to point at: the PLN row deleted. The engine's error for the rates that need
    it comes in the same run as an error elsewhere."""
    sheets = retailer_plan()
    sheets["FX"][1] = ["CHF", None, 1.05]
    sheets["Staffing"][3][4] = "three"
    run = run_plan(_write(tmp_path, sheets))
    assert [(f.code, f.location) for f in run.errors] == [
        ("not-a-number", "Staffing!E4"), ("missing-fx-rate", "Rates!D13"),
        ("missing-fx-rate", "Rates!D16")]


def test_a_rate_row_with_an_error_explains_the_scenario_that_needs_it(tmp_path):
    """No second error for a rate whose row is already reported wrong."""
    sheets = retailer_plan()
    sheets["Rates"][17][2] = "n/a"  # Service owner, Outsource
    sheets["Scenarios"].append(["PMO out", "Service owner", "*", "sourcing", "Outsource", None])
    run = run_plan(_write(tmp_path, sheets))
    assert [(f.code, f.location) for f in run.errors] == [("not-a-number", "Rates!C18")]


# --------------------------------------------------------------------------- 6. did you mean


def test_a_sheet_renamed_with_its_year_is_named(tmp_path):
    sheets = retailer_plan()
    sheets["Staffing 2027"] = sheets.pop("Staffing")
    sheets["Senarios"] = sheets.pop("Scenarios")
    run = run_plan(_write(tmp_path, sheets))
    assert [str(f) for f in run.errors] == [
        "Staffing: required sheet 'Staffing' is missing: sheet 'Staffing 2027' looks like it; "
        "rename it to 'Staffing'"]
    [f] = [f for f in run.findings if f.code == "sheet-name"]
    assert str(f) == ("Senarios: sheet 'Senarios' is not read: omplan reads the optional sheet "
                      "'Scenarios' by that name only; rename it to 'Scenarios' if it holds that "
                      "table")


def test_sheets_that_only_look_alike_are_not_named(tmp_path):
    """A report's own sheets, a scenario sheet and a sheet of notes are no plan sheets."""
    sheets = retailer_plan()
    sheets.pop("Contracts")
    for name in ("Summary", "Checks", "About", "Costs cut", "Notes", "Ledger"):
        sheets[name] = [["x"]]
    run = run_plan(_write(tmp_path, sheets))
    assert run.ok and "sheet-name" not in _codes(run.findings)


# --------------------------------------------------------------------------- 5. outputs


def test_json_never_overwrites_a_gl_export(tmp_path):
    """`--json gl.csv` (the GL export meant for --actuals): exit 2, one sentence, the file
    as it was, nothing run."""
    from test_cli import no_traceback, omplan_cmd

    plan = _write(tmp_path, retailer_plan())
    gl = tmp_path / "gl.csv"
    gl.write_text("Month;System;Activity;Amount\n2027-01;POS;Monitoring;1.000,00\n")
    before = gl.read_bytes()
    result = omplan_cmd("run", plan, "--json", gl)
    no_traceback(result)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"omplan: --json {gl} is an existing file: the JSON summary is written to a file whose "
        "name ends in .json; nothing was run")
    assert gl.read_bytes() == before


def test_json_replaces_only_its_own_summary(tmp_path):
    from test_cli import omplan_cmd

    plan = _write(tmp_path, retailer_plan())
    summary = tmp_path / "summary.json"
    assert omplan_cmd("run", plan, "--json", summary).returncode == 0
    assert omplan_cmd("run", plan, "--json", summary).returncode == 0  # ours: replaced
    assert json.loads(summary.read_text())["plan"] == "Retail O&M"
    theirs = tmp_path / "settings.json"
    theirs.write_text('{"theme": "dark"}')
    result = omplan_cmd("run", plan, "--json", theirs)
    assert result.returncode == 2 and theirs.read_text() == '{"theme": "dark"}'
    assert "exists and is not a JSON summary omplan wrote" in result.stderr
    result = omplan_cmd("run", plan, "--json", tmp_path / "summary.txt")
    assert result.returncode == 2 and "is not a .json name" in result.stderr
    assert not (tmp_path / "summary.txt").exists()


def test_out_never_overwrites_a_workbook_of_yours(tmp_path):
    """--out onto the plan, onto a CSV, onto a colleague's workbook: refused before running;
    onto a report omplan wrote: replaced."""
    from test_cli import no_traceback, omplan_cmd

    plan = _write(tmp_path, retailer_plan())
    budget = write_xlsxwriter({"Budget": [["Item", "Amount"], ["Servers", 1000]]},
                              tmp_path / "budget.xlsx")
    gl = tmp_path / "gl.csv"
    gl.write_text("Month,System,Activity,Amount\n")
    cases = {plan: "is the plan itself", budget: "exists and is not a report omplan wrote",
             gl: "is an existing file: the report is an Excel workbook"}
    for target, why in cases.items():
        before = target.read_bytes()
        result = omplan_cmd("run", plan, "--out", target)
        no_traceback(result)
        assert result.returncode == 2 and result.stdout == "", target
        assert why in result.stderr and "nothing was run" in result.stderr
        assert target.read_bytes() == before
    report = tmp_path / "report.xlsx"
    assert omplan_cmd("run", plan, "--out", report).returncode == 0
    first = report.stat().st_mtime_ns
    result = omplan_cmd("run", plan, "--out", report, "--json", tmp_path / "s.json")
    assert result.returncode == 0, result.stderr
    assert report.stat().st_mtime_ns >= first and (tmp_path / "s.json").exists()


# --------------------------------------------------------------------------- 15. GL export


def _european_gl(path: Path, rows: int = 101) -> tuple[Path, float]:
    """A GL export as a German-locale ERP writes it: semicolons, day-first dates with dots,
    decimal commas with points between thousands; returns the file and its total."""
    lines = ["Month;System;Activity;Amount;Currency;Item"]
    total = 0.0
    for i in range(rows):
        cents = 592113 + 1000 * i
        amount = cents / 100
        total += amount
        text = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        month = 1 + i % 6
        lines.append(f"{10 + i % 18:02d}.{month:02d}.2027;{SYSTEMS[i % 6]};Monitoring;{text};"
                     f"EUR;Rechnung {i}")
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    return path, total


def test_a_european_gl_export_is_read_as_such(tmp_path):
    plan = _write(tmp_path, retailer_plan())
    gl, total = _european_gl(tmp_path / "gl.csv")
    assert "5.921,13" in gl.read_text(encoding="cp1252")
    run = run_plan(plan, gl)
    assert run.ok, run.errors[:3]
    assert [f for f in run.findings if f.severity == "error"] == []
    assert sum(line.amount for line in run.plan.actuals) == pytest.approx(total)
    assert {line.month for line in run.plan.actuals} == set(range(6))  # Jan-Jun 2027
    # rows of one month, system and activity add up: POS in January is rows 0, 6, 12, ...
    pos_january = sum((592113 + 1000 * i) / 100 for i in range(0, 101, 6))
    first = next(line for line in run.plan.actuals if line.location == "gl.csv line 2")
    assert (first.month, first.system) == (0, "POS")
    assert first.amount == pytest.approx(pos_january)


def test_the_decimal_style_can_be_forced_and_a_wrong_one_is_one_message(tmp_path):
    """--csv-decimal point on the European file: one message for the Amount column, with
    the way out, instead of one per line."""
    from test_cli import no_traceback, omplan_cmd

    plan = _write(tmp_path, retailer_plan())
    gl, _ = _european_gl(tmp_path / "gl.csv")
    result = omplan_cmd("run", plan, "--actuals", gl, "--csv-decimal", "point")
    no_traceback(result)
    assert result.returncode == 2
    text = " ".join(result.stderr.split())
    assert "retail.xlsx: 1 error; no figures were produced" in text
    assert ("gl.csv line 2, column Amount: column Amount: 101 of 101 rows have the same "
            "problem, the first at gl.csv line 2, column Amount: Amount must be a number, got "
            "'5.921,13' (a decimal comma: use a decimal point, 5921.13); omplan read the "
            "amounts with a decimal point: if "
            "the file uses a "
            "decimal comma, run with --csv-decimal comma") in text
    assert "Text to Columns" not in text
    forced = omplan_cmd("run", plan, "--actuals", gl, "--csv-decimal", "comma")
    assert forced.returncode == 0, forced.stderr


def test_a_value_in_the_other_decimal_style_is_its_own_error(tmp_path):
    """Most amounts have decimal commas: the one with a decimal point is located."""
    plan = _write(tmp_path, retailer_plan())
    gl = tmp_path / "gl.csv"
    gl.write_text("Month;System;Activity;Amount\n28.01.2027;POS;Monitoring;1.234,50\n"
                  "28.02.2027;POS;Monitoring;99.95\n28.03.2027;POS;Monitoring;10,5\n")
    run = run_plan(plan, gl)
    assert [str(f) for f in run.errors] == [
        "gl.csv line 3, column Amount: Amount must be a number, got '99.95' (a decimal point)"]


def test_a_comma_separated_file_keeps_decimal_points(tmp_path):
    plan = _write(tmp_path, retailer_plan())
    gl = tmp_path / "gl.csv"
    gl.write_text('Month,System,Activity,Amount\n2027-01-31,POS,Monitoring,"1,234.50"\n'
                  "2027-02-28,POS,Monitoring,12.5\n")
    run = run_plan(plan, gl)
    assert run.ok
    assert [line.amount for line in run.plan.actuals] == [1234.5, 12.5]


def test_an_actuals_file_is_checked_with_a_plan_that_has_errors(tmp_path):
    """The GL export's problems come in the same run as the plan's."""
    sheets = retailer_plan()
    sheets["Staffing"][3][4] = "three"
    plan = _write(tmp_path, sheets)
    gl = tmp_path / "gl.csv"
    gl.write_text("Month;System;Activity;Amount\n28.01.2027;POS;Monitoring;1.234,50\n"
                  "31.13.2027;POS;Monitoring;10,00\n")
    run = run_plan(plan, gl)
    assert run.plan is None and run.evaluation is None
    assert [(f.code, f.location) for f in run.errors] == [
        ("not-a-number", "Staffing!E4"), ("bad-month", "gl.csv line 3, column Month")]
    assert run.errors[1].message.endswith(
        "(there is no month 13: dates with dots are read day first, as 28.01.2027)")
