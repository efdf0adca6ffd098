"""The Optimiser sheet (layout, the file, LibreOffice) and the terminal's optimiser lines."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from test_optimiser import sample_with_options

from omplan.core.engine import evaluate
from omplan.core.optimiser import optimise, paste_rows, with_optimised
from omplan.core.summary import plan_figures
from omplan.render.xlsx import render_workbook
from omplan.report import styles as st
from omplan.report.layout import ReportLayout
from omplan.report.optimiser import PASTE_HEADER, best_hand_made, optimiser_sheet, optimiser_text


@pytest.fixture(scope="module")
def sample():
    plan = sample_with_options()
    opt = optimise(plan)
    full = with_optimised(plan, opt)
    return plan, opt, plan_figures(full, [], evaluate(full))


def test_the_changes_are_scenarios_rows_ready_to_paste(sample):
    plan, opt, figures = sample
    sheet = optimiser_sheet(opt, figures, plan).finish("USD")
    block = sheet.block("paste")
    assert tuple(block.header) == PASTE_HEADER
    assert block.rows == paste_rows(plan, opt)
    # each moved line: a sourcing and a vendor row, from Q3 of the first fiscal year
    assert len(block.rows) == 2 * len(opt.changes)
    assert {row[5] for row in block.rows} == {"FY2027 Q3"}
    assert [r[4] for r in block.rows if r[3] == "vendor"] == ["Bangalore Dev Center"] * len(
        opt.changes)
    # Order platform has two Senior developer lines: its row names its Staffing line
    order = [r for r in block.rows if r[2] == "Order platform"]
    assert order and all(r[6] == "Staffing!A5" for r in order)


def test_every_rule_is_listed_with_value_limit_and_slack(sample):
    plan, opt, figures = sample
    sheet = optimiser_sheet(opt, figures, plan).finish("USD")
    rules = sheet.block("rules")
    assert len(rules.rows) == len(opt.constraints)
    capacity = rules.row_of("Capacity: Bangalore Dev Center")
    assert capacity[1:5] == [5.0, 5.0, 0.0, "binding"]
    band = rules.row_of("Band FY2028, high edge")
    assert band[2] == 0.6 and band[3] == pytest.approx(0.6 - band[1])


def test_savings_against_baseline_and_the_best_hand_made_scenario(sample):
    plan, opt, figures = sample
    hand = best_hand_made(figures, opt.scenario)
    assert hand is not None and hand.name == "Outsource L1/L2"  # the others leave the band
    sheet = optimiser_sheet(opt, figures, plan).finish("USD")
    result = sheet.block("result")
    assert result.value("Savings vs Baseline (NPV)", "Value") == pytest.approx(opt.npv_savings)
    assert result.value("Savings vs Outsource L1/L2 (NPV)", "Value") == pytest.approx(
        hand.npv_cost - opt.npv_cost)
    assert result.value("NPV of cost", "Value") == pytest.approx(
        figures.scenarios[-1].npv_cost)


def test_the_terminal_lines_fit_80_columns(sample):
    plan, opt, figures = sample
    text = optimiser_text(opt, figures, plan)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.startswith("Optimiser: Optimised is optimal, from FY2027 Q3.")
    words = " ".join(text.split())
    assert f"saves {opt.npv_savings:,.0f} against Baseline" in words
    assert "against Outsource L1/L2" in words
    assert "Held back by: capacity Bangalore Dev Center." in words
    for change in opt.changes:
        assert change.location in text


def test_an_infeasible_plan_says_why_on_the_sheet_and_the_terminal(sample):
    plan, _, figures = sample
    strict = dataclasses.replace(plan, settings=dataclasses.replace(plan.settings,
                                                                    min_inhouse_share=0.5))
    opt = optimise(strict)
    assert opt.status == "infeasible"
    sheet = optimiser_sheet(opt, figures, strict).finish("USD")
    why = sheet.block("infeasible")
    assert why.row_of("Rule that cannot be met")[1] == "min_inhouse_share HR & payroll"
    assert why.row_of("Its limit")[1] == "50.0%"
    text = optimiser_text(opt, figures, strict)
    assert text.splitlines()[0] == "Optimiser: no mix meets the rules."
    assert all(len(line) <= 80 for line in text.splitlines())


def _workbook(sample, path: Path) -> Path:
    plan, opt, figures = sample
    sheet = optimiser_sheet(opt, figures, plan).finish("USD")
    layout = ReportLayout([sheet], st.report_styles("USD"), dict(st.HIGHLIGHTS), "Optimiser",
                          datetime(2026, 1, 1))
    render_workbook(layout, path)
    return path


def test_the_sheet_is_written_as_laid_out(sample, tmp_path):
    plan, opt, _ = sample
    ws = openpyxl.load_workbook(_workbook(sample, tmp_path / "opt.xlsx"))["Optimiser"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = next(i for i, row in enumerate(values) if tuple(row[:7]) == PASTE_HEADER)
    pasted = [row[:7] for row in values[header + 1: header + 1 + 2 * len(opt.changes)]]
    assert pasted == [[v if v != "" else None for v in r] for r in paste_rows(plan, opt)]


def test_libreoffice_opens_and_prints_the_sheet(sample, tmp_path, soffice):
    from test_libreoffice import convert

    book = _workbook(sample, tmp_path / "opt.xlsx")
    result = convert(soffice, [book], "pdf", tmp_path / "pdf", tmp_path / "profile")
    assert result.returncode == 0, result.stdout + result.stderr
    pdf = tmp_path / "pdf" / "opt.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000
