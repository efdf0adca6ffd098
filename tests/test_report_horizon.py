"""Reports of a plan over three fiscal years: scenario sheets, Summary, Business case, Ledger,
FTE tables, the terminal table, OM_PAYBACK and the batch's FY quarters.

The tiny plan is built directly (``horizon_years`` 3 via ``dataclasses.replace`` on a parsed
plan, 12 FTE values per Staffing line), so these tests do not depend on how a workbook spells
a multi-year plan; the sample plan spans FY2027–FY2029 itself.

``tiny3()`` by hand (FY2027–FY2029, Dev offshore from FY2028 Q1, six transition months):

- Baseline: Ops (L2, in-house, 10,000 a month, all Monitoring) has 1 FTE in FY2027, 2 in
  FY2028 and 1 in FY2029: 30,000 / 60,000 / 30,000 a quarter. Dev (L3, in-house, 12,000,
  half Incident response, half Corrective) has 1 FTE: 36,000 a quarter. Quarter totals 66,000
  (FY2027), 96,000 (FY2028), 66,000 (FY2029); years 264,000, 384,000, 264,000; total 912,000.
- Offshore dev from FY2028 Q1: Dev at 6,000 offshore costs 18,000 + vendor management 1,800
  + coordination 990 (5 % of 19,800: operation is split between in-house Ops and the vendor)
  = 20,790 a quarter, and once 6 × 6,000 × 1 FTE = 36,000 of transition in FY2028 Q1.
  Quarters: 66,000 × 4; 116,790, 80,790 × 3; 50,790 × 4. Savings: 0 × 4; -20,790, 15,210 × 3;
  15,210 × 4. Cumulative: 0 × 4, -20,790, -5,580, +9,630, ... +85,680: payback after
  quarter k = 6 (FY2028 Q3), 3 × 7 = 21 months.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from factories import parse, tiny_plan, with_rows
from python_calamine import CalamineWorkbook

from omplan.apps.cli import sample_plan_path
from omplan.core.engine import evaluate
from omplan.core.model import LEVELS, SOURCINGS, Plan, level_label
from omplan.core.summary import plan_figures
from omplan.input.reader import load_plan
from omplan.render.xlsx import render_workbook
from omplan.report.common import LEDGER_HEADER
from omplan.report.layout import ReportLayout
from omplan.report.plan_report import build_report_layout

CENT = 0.005
SCENARIOS = ["Scenario", "Role", "System", "Change", "Value"]
LABELS = [f"FY{y} Q{q}" for y in (2027, 2028, 2029) for q in (1, 2, 3, 4)]
YEARS = ["FY2027", "FY2028", "FY2029"]


def cents(value: float) -> Any:
    """Equal to the cent, as a PMO reconciles."""
    return pytest.approx(value, abs=CENT)


def three_years(plan: Plan, fte: dict[str, list[float]] | None = None,
                start: dict[str, int] | None = None, **settings: Any) -> Plan:
    """``plan`` over FY2027–FY2029: each line's Q1–Q4 repeated every year (or the 12 values
    of ``fte[role]``), scenario rows from period ``start[scenario]``."""
    fte = fte or {}
    start = start or {}
    staffing = [replace(line, fte=tuple(fte.get(line.role, list(line.fte) * 3)))
                for line in plan.staffing]
    costs = [replace(c, amounts=tuple(c.amounts) * 3) for c in plan.costs]
    changes = [replace(c, start=start.get(c.scenario, 0)) for c in plan.scenario_changes]
    return replace(plan, settings=replace(plan.settings, horizon_years=3, **settings),
                   staffing=staffing, costs=costs, scenario_changes=changes)


def tiny3() -> Plan:
    sheets = with_rows(tiny_plan(), "Scenarios",
                       ["Offshore dev", "Dev", "*", "sourcing", "Offshore"], header=SCENARIOS)
    plan, findings = parse(sheets)
    assert plan is not None, findings
    return three_years(plan, fte={"Ops": [1] * 4 + [2] * 4 + [1] * 4},
                       start={"Offshore dev": 4}, transition_months=6)


@pytest.fixture(scope="module")
def tiny():
    evaluation = evaluate(tiny3())
    assert evaluation.ok, evaluation.errors
    layout = build_report_layout(evaluation)
    return evaluation, layout, plan_figures(evaluation.plan, [], evaluation).to_json()


@pytest.fixture(scope="module")
def sample3(tmp_path_factory):
    """The shipped sample plan (FY2027–FY2029: escalation, INR offshore rates, Outsource
    L1/L2 from Q3, two quarters of actuals) with FTE up 10 % a year and Offshore L3 from
    FY2028 Q1, its report written and read back, and its JSON."""
    plan, findings = load_plan(sample_plan_path())
    assert plan is not None
    assert plan.settings.horizon_years == 3  # the sample spans three years itself
    assert all(len(line.fte) == 12 for line in plan.staffing)
    plan3 = replace(plan, scenario_changes=[
        replace(c, start=4) if c.scenario == "Offshore L3" else c
        for c in plan.scenario_changes])
    plan3 = replace(plan3, staffing=[
        replace(line, fte=tuple(f * (1 + 0.1 * (k // 4)) for k, f in enumerate(line.fte)))
        for line in plan3.staffing])
    evaluation = evaluate(plan3)
    assert evaluation.ok, evaluation.errors
    layout = build_report_layout(evaluation, input_findings=findings)
    path = tmp_path_factory.mktemp("horizon") / "sample3.xlsx"
    with path.open("wb") as out:
        render_workbook(layout, out)
    summary = plan_figures(plan3, findings, evaluation).to_json()
    return evaluation, layout, summary, path


def read_sheet(path: Path, name: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(
        skip_empty_area=False)


def block_cells(grid: list[list[Any]], block) -> list[list[Any]]:
    """The data rows of ``block`` as the file holds them (an empty cell as None)."""
    return [[None if v == "" else v for v in grid[r - 1][block.col - 1: block.col - 1
                                                           + block.width]]
            for r in range(block.first_row, block.last_row + 1)]


# --------------------------------------------------------------------------- scenario sheets


def test_scenario_sheet_columns_are_the_ledgers_quarters_then_the_years(tiny):
    evaluation, lay, _ = tiny
    m = lay.sheet("Baseline").block("activity_quarter")
    assert list(m.header) == ["Activity", *LABELS, *YEARS, "Total"]
    assert list(evaluation.ledger["quarter"].cat.categories) == LABELS
    # Monitoring: Ops 1, 2, 1 FTE × 3 × 10,000 a quarter
    assert m.row_of("Monitoring")[1:] == [cents(v) for v in (
        *[30_000] * 4, *[60_000] * 4, *[30_000] * 4, 120_000, 240_000, 120_000, 480_000)]
    assert m.row_of("Total")[1:] == [cents(v) for v in (
        *[66_000] * 4, *[96_000] * 4, *[66_000] * 4, 264_000, 384_000, 264_000, 912_000)]
    # operation: Ops + half of Dev (18,000); FY2028: (60,000 + 18,000) / 96,000
    assert m.value("Operation share", "FY2028") == pytest.approx(78 / 96)
    assert m.value("Operation share", "Total") == pytest.approx((48 + 78 + 48) * 4 / 912)
    assert m.value("Band status", "FY2027 Q1") == "operation-heavy"


def test_offshore_from_fy2028_by_hand(tiny):
    _, lay, _ = tiny
    comps = lay.sheet("Offshore dev").block("components")
    assert comps.value("Transition", "FY2027 Q4") == 0
    assert comps.value("Transition", "FY2028 Q1") == cents(36_000)  # 6 × 6,000 × 1 FTE
    assert comps.value("Transition", "FY2028") == cents(36_000)
    assert comps.value("Vendor management", "FY2029") == cents(4 * 1_800)
    assert comps.value("Coordination", "Total") == cents(8 * 990)  # 8 offshore quarters
    total = comps.row_of("Total")[1:]
    assert total == [cents(v) for v in (
        *[66_000] * 4, 116_790, *[80_790] * 3, *[50_790] * 4,
        264_000, 116_790 + 3 * 80_790, 4 * 50_790, 264_000 + 359_160 + 203_160)]
    billing = lay.sheet("Offshore dev").block("billing")
    # external labour: Dev offshore, 18,000 a quarter from FY2028, half of it Corrective
    assert billing.value("External labour", "FY2027") == 0
    assert billing.value("External labour", "FY2029") == cents(72_000)
    assert billing.value("Fixed fee", "Total") == cents(8 * 18_000)  # both activities fixed


def test_fte_tables_by_hand(tiny):
    """FTE per quarter by level and sourcing; a year's is the mean of its quarters."""
    _, lay, _ = tiny
    base = lay.sheet("Baseline")
    level = base.block("fte_level")
    assert list(level.header) == ["Role level", *LABELS, "FY2027 average", "FY2028 average",
                                  "FY2029 average", "Average"]
    l2 = level.row_of(level_label("L2"))[1:]
    assert l2 == [cents(v) for v in ([1] * 4 + [2] * 4 + [1] * 4 + [1, 2, 1, 16 / 12])]
    assert level.row_of(level_label("L3"))[1:] == [cents(1)] * 16
    assert level.row_of("Total")[1:] == [cents(v) for v in (
        [2] * 4 + [3] * 4 + [2] * 4 + [2, 3, 2, 28 / 12])]
    sourcing = lay.sheet("Offshore dev").block("fte_sourcing")
    assert sourcing.row_of("Offshore")[1:] == [cents(v) for v in (
        [0] * 4 + [1] * 8 + [0, 1, 1, 8 / 12])]
    assert sourcing.row_of("In-house")[1:] == [cents(v) for v in (
        [2] * 4 + [2] * 4 + [1] * 4 + [2, 2, 1, 20 / 12])]


def test_fte_tables_are_the_staffing_fte(sample3):
    """Every scenario's FTE by level and by sourcing adds up, quarter by quarter, to the FTE
    of its Staffing lines (the JSON's quarter fte), and per level to the Staffing rows of the
    roles at that level (Baseline: the lines as entered)."""
    evaluation, lay, summary, _ = sample3
    plan = evaluation.plan
    for sc in summary["scenarios"]:
        sheet = lay.sheet(lay.scenario_sheets[sc["name"]])
        for key in ("fte_level", "fte_sourcing"):
            block = sheet.block(key)
            total = block.row_of("Total")
            assert total[1:13] == [cents(q["fte"]) for q in sc["quarters"]], key
            assert total[13:16] == [cents(y["fte"]) for y in sc["years"]], key
            body = [row for row in block.rows if row[0] != "Total"]
            for k in range(12):
                assert sum(row[1 + k] for row in body) == cents(sc["quarters"][k]["fte"])
    level = lay.sheet("Baseline").block("fte_level")
    for lv in LEVELS:
        staffed = [sum(line.fte[k] for line in plan.staffing
                       if plan.roles[line.role].level == lv) for k in range(12)]
        assert level.row_of(level_label(lv))[1:13] == [cents(v) for v in staffed], lv
    sourcing = lay.sheet("Baseline").block("fte_sourcing")
    for src in SOURCINGS:
        staffed = [sum(line.fte[k] for line in plan.staffing if line.sourcing == src)
                   for k in range(12)]
        assert sourcing.row_of(src)[1:13] == [cents(v) for v in staffed], src


def test_scenario_sheets_in_the_file_equal_the_json(sample3):
    """Read back from the file: every quarter, year and horizon total and share, to the
    cent, and the by-activity totals."""
    _, lay, summary, path = sample3
    for sc in summary["scenarios"]:
        sheet = lay.sheet(lay.scenario_sheets[sc["name"]])
        grid = read_sheet(path, sheet.name)
        m = sheet.block("activity_quarter")
        cells = {row[0]: row[1:] for row in block_cells(grid, m)}
        assert grid[m.header_row - 1][:17] == ["Activity", *LABELS, *YEARS, "Total"]
        assert cells["Total"] == [cents(v) for v in (
            *(q["total"] for q in sc["quarters"]), *(y["total"] for y in sc["years"]),
            sc["total"])]
        assert cells["Operation"] == [cents(v) for v in (
            *(q["operation"] for q in sc["quarters"]), *(y["operation"] for y in sc["years"]),
            sc["operation"])]
        assert cells["Band status"] == [*(q["band_status"] for q in sc["quarters"]),
                                        *(y["band_status"] for y in sc["years"]),
                                        sc["band_status"]]
        for share, want in zip(cells["Operation share"][12:15], sc["years"], strict=True):
            assert share == pytest.approx(want["operation_share"], abs=1e-12)
        for activity, amount in sc["by_activity"].items():
            assert cells[activity][-1] == cents(amount)
        comps = {row[0]: row[1:] for row in block_cells(grid, sheet.block("components"))}
        labels = {"labour": "Labour", "vendor_management": "Vendor management",
                  "coordination": "Coordination", "transition": "Transition",
                  "other": "Other costs"}
        for key, label in labels.items():
            assert comps[label][12:15] == [cents(y["components"][key]) for y in sc["years"]]
            assert comps[label][-1] == cents(sc["components"][key])


# --------------------------------------------------------------------------- Summary


def test_summary_has_the_per_year_figures_of_the_json(sample3):
    _, lay, summary, path = sample3
    sheet = lay.sheet("Summary")
    block = sheet.block("years")
    grid = read_sheet(path, "Summary")
    rows = block_cells(grid, block)
    assert grid[block.header_row - 1][:11] == list(block.header)
    base_years = summary["scenarios"][0]["years"]
    target = summary["target_operation_share"]
    i = 0
    for sc in summary["scenarios"]:
        for y, year in enumerate(sc["years"]):
            row = dict(zip(block.header, rows[i], strict=True))
            assert row["Scenario"] == (sc["name"] if y == 0 else None)
            assert row["Fiscal year"] == year["fiscal_year"]
            for key in ("Total", "Operation", "Maintenance"):
                assert row[key] == cents(year[key.lower()])
            assert row["Operation share"] == pytest.approx(year["operation_share"], abs=1e-12)
            assert row["Band status"] == year["band_status"]
            assert row["Share vs target"] == pytest.approx(
                (year["operation_share"] - target) * 100, abs=1e-9)
            assert (row["Δ total vs Baseline"] or 0) == cents(
                year["total"] - base_years[y]["total"])
            assert row["FTE (mean)"] == cents(year["fte"])
            i += 1
    assert i == len(rows) == 3 * len(summary["scenarios"])
    # the scenario table above holds the horizon's totals
    table = sheet.block("scenarios")
    for row, sc in zip(block_cells(grid, table), summary["scenarios"], strict=True):
        assert row[:6] == [sc["name"], cents(sc["total"]), cents(sc["operation"]),
                           cents(sc["maintenance"]),
                           pytest.approx(sc["operation_share"], abs=1e-12), sc["band_status"]]
        assert sc["total"] == cents(sum(y["total"] for y in sc["years"]))
    # the recommendation is named (Lean 2027 is operation-heavy every year)
    texts = [t.value for t in sheet.texts]
    assert f"Recommended: {summary['recommended']} " in texts[2]
    facts = {row[0]: row[1] for row in sheet.block("plan").rows}
    assert facts["Fiscal years"] == "2027–2029 (3 years)"
    assert "Fiscal years 2027–2029 (3 years)" in texts[1]


# --------------------------------------------------------------------------- Business case


def test_business_case_by_hand(tiny):
    _, lay, summary = tiny
    sheet = lay.sheet("Business case")
    ranking = sheet.block("ranking")
    off = dict(zip(ranking.header, next(r for r in ranking.rows if r[1] == "Offshore dev"),
                   strict=True))
    assert off["Payback (months)"] == 21
    assert off["Pays back in"] == "FY2028 Q3"
    # counted from the change (FY2028 Q1, k0 = 4): 21 − 3 × 4 = 9 months
    assert off["Payback from change (months)"] == 9
    # Baseline 912,000 against 264,000 + (116,790 + 3 × 80,790) + 4 × 50,790 = 826,320
    assert off["Savings vs Baseline"] == cents(912_000 - 826_320)
    assert off["One-off (transition)"] == cents(36_000)
    assert off["Run-rate savings"] == cents(4 * 15_210)  # FY2029 has no transition
    cumulative = sheet.block("cumulative")  # several years: a row per quarter
    assert list(cumulative.header) == ["Quarter", "Offshore dev"]
    assert cumulative.column("Quarter") == LABELS
    assert cumulative.column("Offshore dev") == [cents(v) for v in (
        0, 0, 0, 0, -20_790, -5_580, 9_630, 24_840, 40_050, 55_260, 70_470, 85_680)]
    years = sheet.block("years")
    fy2028 = next(r for r in years.rows if r[0] == "Offshore dev" and r[1] == 2028)
    assert fy2028[2:4] == [cents(359_160), cents(384_000 - 359_160)]
    assert summary["scenarios"][1]["business_case"]["payback_months"] == 21
    assert summary["scenarios"][1]["business_case"]["payback_from_change_months"] == 9


def test_business_case_equals_the_json(sample3):
    _, lay, summary, path = sample3
    sheet = lay.sheet("Business case")
    grid = read_sheet(path, "Business case")
    by_name = {s["name"]: s for s in summary["scenarios"]}
    ranking = sheet.block("ranking")
    rows = block_cells(grid, ranking)
    assert [r[1] for r in rows] == sorted(by_name, key=lambda n: by_name[n]["npv_cost"])
    for row in rows:
        sc = by_name[row[1]]
        case = sc["business_case"]
        assert row[2] == cents(sc["npv_cost"]) and row[3] == cents(sc["total"])
        if case is None:  # Baseline
            assert row[4:9] == [None] * 5 and row[10] is None
            continue
        assert row[4:8] == [cents(case[k]) for k in ("savings", "npv_savings", "one_off",
                                                     "run_rate_savings")]
        assert row[8] == case["payback_months"]
        quarter = case["payback_quarter"]
        if quarter is not None:
            assert row[9] == f"FY{quarter['fiscal_year']} {quarter['quarter']}"
        assert row[10] == case["payback_from_change_months"]
    assert rows[[r[1] for r in rows].index(summary["recommended"])][11] == "recommended"
    block = sheet.block("cumulative")
    cells = block_cells(grid, block)
    assert [r[0] for r in cells] == LABELS
    cumulative = {name: [r[1 + i] for r in cells] for i, name in enumerate(block.header[1:])}
    assert list(cumulative) == [s["name"] for s in summary["scenarios"][1:]]
    for name, values in cumulative.items():
        base = by_name["Baseline"]["quarters"]
        own = by_name[name]["quarters"]
        running, want = 0.0, []
        for b, s in zip(base, own, strict=True):
            running += b["total"] - s["total"]
            want.append(cents(running))
        assert values == want, name
    bridge = {r[0]: r[1:] for r in block_cells(grid, sheet.block("bridge"))}
    others = [s for s in summary["scenarios"] if s["business_case"]]
    for key, label in (("fte", "FTE (volume)"), ("rate", "Rates (price)"),
                       ("transition", "Transition (one-off)")):
        assert bridge[label] == [cents(s["business_case"]["bridge"][key]) for s in others]
    assert bridge["Change in total"] == [
        cents(s["total"] - by_name["Baseline"]["total"]) for s in others]
    years = block_cells(grid, sheet.block("years"))
    assert len(years) == 3 * len(summary["scenarios"])
    for row in years:
        year = next(y for y in by_name[row[0]]["years"] if y["fiscal_year"] == row[1])
        assert row[2] == cents(year["total"]) and row[7] == year["band_status"]
        assert row[8] == cents(year["fte"])
    # one line per scenario over all 12 quarters; a waterfall per scenario
    chart = sheet.chart("cumulative")
    assert [s.title for s in chart.series] == [s["name"] for s in others]
    assert all(s.values.last_row - s.values.first_row == 11 for s in chart.series)
    assert chart.categories.first_row == block.first_row
    assert len([c for c in sheet.charts if c.key.startswith("waterfall_")]) == len(others)


# --------------------------------------------------------------------------- Ledger


def test_ledger_sheet_has_the_fy_quarters_and_fte(sample3):
    evaluation, _, summary, path = sample3
    grid = read_sheet(path, "Ledger")
    assert grid[0] == list(LEDGER_HEADER)
    assert LEDGER_HEADER[-2:] == ("Amount", "FTE")
    rows = grid[1:]
    assert len(rows) == len(evaluation.ledger)
    assert {r[2] for r in rows} == set(LABELS)
    base = [r for r in rows if r[0] == "Baseline"]
    for k, label in enumerate(LABELS):
        in_q = [r for r in base if r[2] == label]
        assert sum(r[-2] for r in in_q) == cents(summary["scenarios"][0]["quarters"][k]["total"])
        assert sum(r[-1] for r in in_q) == cents(summary["scenarios"][0]["quarters"][k]["fte"])


def test_one_year_reports_keep_their_columns():
    """A one-year plan: quarter headers with their months and one FY column, as before; the
    FTE tables have one 'FY average' column."""
    sheets = with_rows(tiny_plan(), "Scenarios",
                       ["Offshore dev", "Dev", "*", "sourcing", "Offshore"], header=SCENARIOS)
    plan, _ = parse(sheets)
    assert plan is not None
    lay: ReportLayout = build_report_layout(evaluate(plan))
    m = lay.sheet("Baseline").block("activity_quarter")
    assert list(m.header) == ["Activity", "Q1 (Jan–Mar)", "Q2 (Apr–Jun)", "Q3 (Jul–Sep)",
                              "Q4 (Oct–Dec)", "FY"]
    fte = lay.sheet("Baseline").block("fte_level")
    assert list(fte.header)[-1] == "FY average"
    assert fte.row_of("Total")[1:] == [2.0] * 5  # Ops and Dev, 1 FTE each
    with pytest.raises(KeyError):
        lay.sheet("Summary").block("years")  # one year: no per-year table


# --------------------------------------------------------------------------- the JSON is the JSON


def test_the_fixture_json_is_what_omplan_run_writes(tiny):
    """The figures above are the JSON summary's own (no report-side arithmetic)."""
    evaluation, _, summary = tiny
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text)["horizon"] == {"first_fiscal_year": 2027, "years": 3}
    assert [q["quarter"] for q in summary["scenarios"][0]["quarters"]] == \
        [re.sub(r"FY\d+ ", "", label) for label in LABELS]


# --------------------------------------------------------------------------- terminal


def test_terminal_table_of_three_years_fits_80_columns(tiny, capsys, monkeypatch):
    from omplan.apps.cli import print_summary

    monkeypatch.setenv("COLUMNS", "80")
    evaluation, _, _ = tiny
    print_summary(plan_figures(evaluation.plan, [], evaluation), findings=False)
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, text
    assert lines[0].startswith("Tiny — FY2027–FY2029 (3-year totals), amounts in EUR")
    assert re.search(r"^Baseline\s+912,000\s", text, re.MULTILINE)  # the horizon's total
    # per fiscal year, * where the year is out of band (Baseline is operation-heavy)
    assert re.search(r"^Baseline\s+264,000\*\s+384,000\*\s+264,000\*$", text, re.MULTILINE)
    assert re.search(r"^Offshore dev\s+264,000\*\s+359,160\*\s+203,160\*$", text,
                     re.MULTILINE)
    # Δ total 826,320 - 912,000; one-off 36,000; payback after FY2028 Q3
    assert re.search(r"^Offshore dev\s+-85,680\s+36,000\s+\+[\d,]+\s+21 mo \(FY2028 Q3\)",
                     text, re.MULTILINE), text
    assert "Against Baseline over 3 years" in text
    assert "No scenario is recommended" in text


def test_terminal_names_the_recommendation_over_three_years(sample3, capsys, monkeypatch):
    from omplan.apps.cli import print_summary

    monkeypatch.setenv("COLUMNS", "80")
    evaluation, _, summary, _ = sample3
    print_summary(plan_figures(evaluation.plan, [], evaluation), findings=False)
    text = capsys.readouterr().out
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80, text
    assert f"Recommended: {summary['recommended']} (lowest NPV of cost" in text
    for sc in summary["scenarios"][1:]:
        case = sc["business_case"]
        line = next(x for x in text.splitlines() if x.startswith(sc["name"] + "  ")
                    and f"{-case['savings']:+,.0f}" in x)
        if case["payback_months"] is None:
            assert line.rstrip().endswith("never")
        elif case["payback_quarter"] is not None:
            q = case["payback_quarter"]
            assert f"{case['payback_months']} mo (FY{q['fiscal_year']} {q['quarter']})" in line


# --------------------------------------------------------------------------- batch


@pytest.fixture()
def batch3(monkeypatch, tmp_path):
    """``tiny3`` behind a plan file: the batch task reads the file, gets the 3-year plan."""
    from factories import write_openpyxl

    import omplan.pipeline as run_module

    path = write_openpyxl(tiny_plan(), tmp_path / "unit.xlsx")
    monkeypatch.setattr(run_module, "load_plan", lambda p: (tiny3(), []))
    return path


def test_batch_budgets_a_quarter_of_a_later_year(batch3, tmp_path):
    """FY2028Q2 of the 3-year plan: Offshore dev pays 80,790 in that quarter, Baseline
    96,000 (see the module docstring); the workbook is named after FY2028."""
    from omplan.apps.batch import run_plan_task
    from omplan.apps.batch.rollups import write_rollups
    from omplan.core.summary import scenario_quarters

    out = tmp_path / "out"
    result = run_plan_task(str(batch3), "fy2028q2", str(out))
    assert result.ok, result.errors
    assert result.outputs == ["unit_FY2028_Q2.xlsx"]
    q = result.quarters[0]
    assert (q["fiscal_year"], q["quarter"], q["total"]) == (2028, "Q2", cents(96_000))
    assert q["months"] == ["Apr 2028", "May 2028", "Jun 2028"]
    budget = read_sheet(out / "unit_FY2028_Q2.xlsx", "Budget")
    assert budget[0][0] == "Tiny: Q2 FY2028 budget"
    flat = [v for row in budget for v in row]
    assert "Full year FY2028" in flat
    full = next(row for row in budget if row[0] == "Full year FY2028")
    assert full[2] == cents(384_000)  # FY2028 only, not the horizon
    ytd = next(row for row in budget if row[0] == "Year to date")
    assert ytd[2] == cents(2 * 96_000)  # FY2028 Q1 and Q2
    ledger = read_sheet(out / "unit_FY2028_Q2.xlsx", "Ledger")
    assert {r[2] for r in ledger[1:]} == {"FY2028 Q2"}
    assert sum(r[-2] for r in ledger[1:]) == cents(96_000)

    offshore = run_plan_task(str(batch3), "FY2028 Q1", str(out), scenario="Offshore dev")
    evaluation = evaluate(tiny3())
    want = scenario_quarters(evaluation, "Offshore dev")[4].total
    assert offshore.quarters[0]["total"] == want == cents(116_790)

    written, totals, unwritten = write_rollups([result], "Baseline", out,
                                               datetime(2027, 1, 1), "")
    assert [r["file"] for r in written] == ["rollup_FY2028_Q2.xlsx"] and not unwritten
    assert totals[0]["total"] == cents(96_000)


def test_batch_all_covers_every_quarter_of_the_horizon(batch3, tmp_path):
    from omplan.apps.batch import run_plan_task
    from omplan.apps.batch.rollups import write_rollups

    out = tmp_path / "out"
    result = run_plan_task(str(batch3), "all", str(out))
    assert result.ok, result.errors
    names = [f"unit_FY{y}_Q{q}.xlsx" for y in (2027, 2028, 2029) for q in (1, 2, 3, 4)]
    assert result.outputs == names  # unique per fiscal year
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert [q["total"] for q in result.quarters] == [cents(v) for v in (
        [66_000] * 4 + [96_000] * 4 + [66_000] * 4)]
    written, _, _ = write_rollups([result], "Baseline", out,
                                  datetime(2027, 1, 1), "")
    assert [r["file"] for r in written] == [f"rollup_{n[5:]}" for n in names]
    # Q3 alone is Q3 of the first fiscal year
    first = run_plan_task(str(batch3), "Q3", str(tmp_path / "q3"))
    assert first.outputs == ["unit_FY2027_Q3.xlsx"]


def test_batch_quarter_beyond_the_horizon_is_a_located_error(batch3, tmp_path):
    from omplan.apps.batch import run_plan_task

    result = run_plan_task(str(batch3), ["FY2030 Q1", "Q1"], str(tmp_path / "out"))
    assert not result.ok and result.outputs == []
    assert result.errors == [{
        "severity": "error", "code": "quarter-outside-horizon",
        "message": "--quarter FY2030 Q1 is outside this plan's horizon, FY2027–FY2029 "
                   "(fiscal_year 2027, horizon_years 3), so no workbook was written for it; "
                   "choose a quarter within it or raise horizon_years",
        # the file has no horizon_years row: the fiscal_year cell (Settings row 3)
        "location": "Settings!B3"}]
    before = run_plan_task(str(batch3), "FY2026 Q4", str(tmp_path / "out"))
    assert before.errors[0]["location"] == "Settings!B3"
    assert before.errors[0]["message"].endswith("choose a quarter from that year on")


# --------------------------------------------------------------------------- the Run button


def test_run_button_writes_a_three_year_report(monkeypatch):
    """run_in_book on xlwings' remote engine (see test_excel_live.py) with the 3-year plan:
    the scenario sheets carry the FY quarters and the Summary the per-year figures."""
    from xlwings_payload import apply_actions, open_book, payload, sheet_values, use_remote_engine

    import omplan.apps.excel.button as excel
    import omplan.pipeline

    use_remote_engine(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.setattr(omplan.pipeline, "parse_plan", lambda grids, name: (tiny3(), []))
    book_payload = payload(tiny_plan())
    book = open_book(book_payload)
    result = excel.run_in_book(book)
    assert result.ok, result.message
    after, _ = apply_actions(book_payload, book.json()["actions"])
    base = sheet_values(after, "Baseline")
    header = next(r for (r, c), v in sorted(base.items()) if v == "Activity" and c == 1)
    assert [base.get((header, c)) for c in range(1, 18)] == ["Activity", *LABELS, *YEARS,
                                                             "Total"]
    total = next(r for (r, c), v in sorted(base.items()) if v == "Total" and c == 1)
    assert base[(total, 17)] == cents(912_000)
    summary = sheet_values(after, "Summary")
    years = [(v, summary.get((r, c + 1))) for (r, c), v in summary.items()
             if c == 2 and v in (2027, 2028, 2029)]
    assert sorted(years)[:3] == [(2027, cents(264_000)), (2027, cents(264_000)),
                                 (2028, cents(359_160))]


def test_terminal_puts_ten_years_in_several_tables(capsys, monkeypatch):
    """Ten fiscal years do not fit 80 columns side by side: the next years follow in another
    table; every year is there once. Baseline: 66,000 × 4 = 264,000 every year."""
    from omplan.apps.cli import print_summary

    monkeypatch.setenv("COLUMNS", "80")
    plan, _ = parse(tiny_plan())
    assert plan is not None
    plan = replace(plan, settings=replace(plan.settings, horizon_years=10),
                   staffing=[replace(line, fte=tuple(line.fte) * 10) for line in plan.staffing])
    evaluation = evaluate(plan)
    print_summary(plan_figures(plan, [], evaluation), findings=False)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    heads = [line.split() for line in lines if line.startswith("Scenario") and "FY20" in line]
    assert len(heads) >= 2
    years = [y for head in heads for y in head[1:]]
    assert years == [f"FY{y}" for y in range(2027, 2037)]
    rows = [line.split() for line in lines if line.startswith("Baseline ")][1:]
    assert [v for row in rows for v in row[1:]] == ["264,000*"] * 10  # operation-heavy
