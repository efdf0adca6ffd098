"""The report layout as data, tested without any renderer (design: layout once, rendered twice).

``tiny_plan()`` by hand: Ops 30,000 a quarter, all Monitoring; Dev 36,000 a quarter, half
Incident response, half Corrective. A quarter: operation 48,000, maintenance 18,000.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from factories import parse, tiny_plan, with_rows

import omplan.report.layout as layout_mod
from omplan.core.engine import evaluate
from omplan.core.periods import quarter_labels
from omplan.core.summary import summary_json
from omplan.report.common import LEDGER_HEADER
from omplan.report.layout import (
    RESERVED_SHEETS,
    ReportTooLarge,
    SourceInfo,
    sheet_names,
)
from omplan.report.plan_report import build_report_layout
from omplan.report.summary_sheet import SUMMARY_HEADER

SCENARIOS = ["Scenario", "Role", "System", "Change", "Value"]


def tiny_layout(sheets=None, **kw):
    plan, findings = parse(sheets or tiny_plan())
    assert plan is not None, findings
    evaluation = evaluate(plan)
    assert evaluation.ok, evaluation.errors
    kw.setdefault("generated", datetime(2027, 1, 2, 3, 4, 5))
    return evaluation, build_report_layout(evaluation, input_findings=findings, **kw)


@pytest.fixture(scope="module")
def tiny():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Offshore dev", "Dev", "*", "sourcing",
                                                  "Offshore"], header=SCENARIOS)
    return tiny_layout(sheets)


def test_sheets_in_order(tiny):
    _, lay = tiny
    assert [s.name for s in lay.sheets] == ["Summary", "Business case", "Baseline",
                                            "Offshore dev", "Ledger",
                                            "Checks", "About"]


def test_activity_quarter_matrix_by_hand(tiny):
    _, lay = tiny
    m = lay.sheet("Baseline").block("activity_quarter")
    q1, fy = m.header[1], "FY"
    assert q1 == "Q1 (Jan–Mar)"
    assert m.value("Monitoring", q1) == pytest.approx(30_000)
    assert m.value("Incident response", q1) == pytest.approx(18_000)
    assert m.value("Corrective", fy) == pytest.approx(72_000)
    assert m.value("Preventive", fy) == 0
    assert m.value("Operation", q1) == pytest.approx(48_000)
    assert m.value("Maintenance", fy) == pytest.approx(72_000)
    assert m.value("Total", fy) == pytest.approx(264_000)
    assert m.value("Operation share", q1) == pytest.approx(48 / 66)
    assert m.value("Band status", fy) == "operation-heavy"
    assert m.row_kinds == {4: "subtotal", 9: "subtotal", 10: "total"}


def test_breakdowns_by_hand(tiny):
    _, lay = tiny
    sheet = lay.sheet("Baseline")
    level = sheet.block("by_level")
    assert level.value("L2 Operations Engineer", "Operation") == pytest.approx(120_000)
    assert level.value("L3 Maintenance Engineer", "Maintenance") == pytest.approx(72_000)
    assert level.value("L3 Maintenance Engineer", "Share of total") == pytest.approx(144 / 264)
    assert level.value("Total", "Total") == pytest.approx(264_000)
    sourcing = sheet.block("by_sourcing")
    assert sourcing.value("In-house", "Total") == pytest.approx(264_000)
    assert sourcing.value("Offshore", "Total") == 0
    assert sourcing.value("In-house", "of which labour") == pytest.approx(264_000)
    system = sheet.block("by_system")
    assert system.value("ERP", "Operation share") == pytest.approx(192 / 264)
    assert system.value("ERP", "Band status") == "operation-heavy"
    comps = sheet.block("components")
    assert comps.value("Labour", "FY") == pytest.approx(264_000)
    assert comps.value("Vendor management", "FY") == 0
    billing = sheet.block("billing")
    assert billing.value("External labour", "FY") == 0  # all in-house
    assert billing.value("Adaptive", "Billing basis") == "Separate estimate"


def test_offshore_scenario_by_hand(tiny):
    """Dev offshore at 6,000: labour 18,000 a quarter, vendor management 10 %, transition
    2 months x 6,000 x 1 FTE in Q1; operation is now split between in-house Ops and the
    offshore vendor, so coordination is 5 % of the vendor's 19,800 a quarter."""
    _, lay = tiny
    sheet = lay.sheet("Offshore dev")
    comps = sheet.block("components")
    q1 = comps.header[1]
    assert comps.value("Labour", "FY") == pytest.approx(120_000 + 72_000)
    assert comps.value("Vendor management", "FY") == pytest.approx(7_200)
    assert comps.value("Transition", q1) == pytest.approx(12_000)
    assert comps.value("Coordination", "FY") == pytest.approx(4 * 990)
    billing = sheet.block("billing")
    assert billing.value("Fixed fee", "FY") == pytest.approx(72_000)
    assert billing.value("Separate estimate", "FY") == 0
    summary = lay.sheet("Summary").block("scenarios")
    total = 192_000 + 7_200 + 12_000 + 3_960
    assert summary.value("Offshore dev", "Total") == pytest.approx(total)
    assert summary.value("Offshore dev", "Δ total vs Baseline") == pytest.approx(total - 264_000)
    assert summary.value("Offshore dev", "Δ % vs Baseline") == pytest.approx(
        total / 264_000 - 1)
    assert summary.value("Offshore dev", "Transition") == pytest.approx(12_000)
    assert summary.value("Offshore dev", "Fixed fee") == pytest.approx(72_000)


def test_summary_rows_by_hand(tiny):
    """Baseline: 264,000, operation 4 x (30,000 + 18,000) = 192,000, no profile so the
    target is 0.50. Offshore dev (see test_offshore_scenario_by_hand): 215,160, of which
    operation = Ops 120,000 + half of Dev's labour 36,000, vendor management 3,600 and
    transition 6,000 + coordination 3,960 x (30,000 + 9,900) / (30,000 + 19,800)."""
    evaluation, lay = tiny
    block = lay.sheet("Summary").block("scenarios")
    assert tuple(block.header) == SUMMARY_HEADER
    rows = {row[0]: dict(zip(block.header, row, strict=True)) for row in block.rows}
    assert list(rows) == ["Baseline", "Offshore dev"]
    base, off = rows["Baseline"], rows["Offshore dev"]
    assert base["Total"] == pytest.approx(264_000)
    assert base["Operation share"] == pytest.approx(192 / 264)
    assert base["Share vs target"] == pytest.approx((192 / 264 - 0.50) * 100)  # points
    assert base["Band status"] == "operation-heavy"
    operation = 120_000 + 36_000 + 3_600 + 6_000 + 3_960 * 39_900 / 49_800
    assert off["Total"] == pytest.approx(215_160)
    assert off["Operation share"] == pytest.approx(operation / 215_160)
    assert off["Share vs target"] == pytest.approx((operation / 215_160 - 0.50) * 100)
    assert off["Band status"] == "operation-heavy"
    for name, row in rows.items():
        found = evaluation.scenario_findings[name]
        assert row["Warnings"] == sum(f.severity == "warning" for f in found)
        assert row["Info"] == sum(f.severity == "info" for f in found)
    assert (base["Warnings"], base["Info"]) == (1, 1)  # out-of-band; l3-offshore-candidate


def quiet_plan():
    """The tiny plan balanced (Ops half Monitoring, half Preventive; Dev L2) so that it has
    no findings, and with nothing staffed in Q4."""
    sheets = tiny_plan()
    sheets["Roles"][2][1] = "L2"
    sheets["Allocation"][1] = ["Ops", 0.5, None, None, None, None, 0.5, None, None]
    for row in sheets["Staffing"][1:]:
        row[7] = 0
    return sheets


def test_no_cost_quarter_and_no_findings():
    evaluation, lay = tiny_layout(quiet_plan())
    assert evaluation.scenario_findings == {"Baseline": []}
    m = lay.sheet("Baseline").block("activity_quarter")
    q4 = m.header[4]
    assert m.value("Total", q4) == 0
    assert m.value("Operation share", q4) is None
    assert m.value("Band status", q4) == "no-cost"
    assert m.value("Band status", "FY") == "within"
    assert [list(r) for r in lay.sheet("Baseline").block("findings").rows] == [
        ["none", "", "", "No findings for this scenario."]]
    checks = lay.sheet("Checks")
    assert list(checks.block("checks").rows) == []
    assert checks.tables[0].ref.a1 == "A1:E2"  # a table keeps one (empty) data row


def test_charts_refer_to_the_blocks(tiny):
    _, lay = tiny
    summary = lay.sheet("Summary")
    table = summary.block("scenarios")
    split = summary.chart("split")
    assert split.stacked
    assert split.categories.first_row == table.first_row
    assert split.categories.last_row == table.last_row
    assert [s.values.first_col for s in split.series] == [3, 4]  # Operation, Maintenance
    share = summary.chart("share")
    assert [s.title for s in share.series] == ["Operation share", "Band low", "Band high",
                                               "Target"]
    assert [s.line for s in share.series] == [False, True, True, True]
    chart = lay.sheet("Baseline").chart("quarters")
    m = lay.sheet("Baseline").block("activity_quarter")
    assert chart.categories.first_row == m.header_row
    op = chart.series[0].values
    assert op.first_row == op.last_row == m.first_row + 4  # the Operation subtotal row
    assert (op.first_col, op.last_col) == (2, 5)


def test_out_of_band_shares_are_highlighted(tiny):
    evaluation, lay = tiny
    st = evaluation.plan.settings
    formats = lay.sheet("Summary").conditional_formats
    share = formats[0]
    assert share.outside == (st.band_low, st.band_high)
    assert (share.ref.first_col, share.ref.last_col) == (5, 5)
    m = lay.sheet("Baseline").block("activity_quarter")
    quarter = lay.sheet("Baseline").conditional_formats[0]
    assert quarter.ref.first_row == m.first_row + 11 and quarter.outside is not None


def test_ledger_block_is_the_ledger(tiny):
    evaluation, lay = tiny
    sheet = lay.sheet("Ledger")
    block = sheet.block("ledger")
    assert block.bulk and tuple(block.header) == LEDGER_HEADER
    assert len(block.rows) == len(evaluation.ledger)
    assert tuple(block.header[-2:]) == ("Amount", "FTE")
    assert sum(r[-2] for r in block.rows) == pytest.approx(evaluation.ledger["amount"].sum())
    # FTE of labour rows: Ops and Dev, 1 FTE each in 4 quarters, in both scenarios: 16
    assert sum(r[-1] for r in block.rows) == pytest.approx(2 * 4 * 2)
    first = evaluation.ledger.iloc[0]
    assert block.rows[0][:3] == (str(first["scenario"]), str(first["system"]),
                                 str(first["quarter"]))
    table = sheet.tables[0]
    assert table.name == "Ledger" and table.ref.last_row == len(evaluation.ledger) + 1
    assert sheet.freeze == (2, 1)


def test_checks_list_every_finding(tiny):
    evaluation, lay = tiny
    js = summary_json(evaluation.plan, [], evaluation)
    expected = [[sc["name"], f["severity"], f["code"], f["location"], f["message"]]
                for sc in js["scenarios"] for f in sc["findings"]]
    assert expected  # l3-offshore-candidate for Dev in Baseline
    assert [list(r) for r in lay.sheet("Checks").block("checks").rows] == expected


def test_about_sheet():
    _, lay = tiny_layout(source=SourceInfo("tiny.xlsx", "ab" * 32), version="9.9",
                         generated_note="SOURCE_DATE_EPOCH=1")
    about = lay.sheet("About")
    report = about.block("report")
    values = {row[0]: row[1] for row in report.rows}
    assert values["Produced by"] == "omplan 9.9"
    assert values["Plan file"] == "tiny.xlsx"
    assert values["Plan file SHA-256"] == "ab" * 32
    assert values["Generated (UTC)"] == datetime(2027, 1, 2, 3, 4, 5)
    assert values["Generation time source"] == "SOURCE_DATE_EPOCH=1"
    settings = {row[0]: row[1] for row in about.block("settings").rows}
    assert settings["currency"] == "EUR" and settings["band_low"] == 0.4


@pytest.mark.parametrize(("names", "expected"), [
    (["Baseline", "Outsource L1/L2"], ["Baseline", "Outsource L1-L2"]),
    (["Baseline", "a[b]:c*d?e/f\\g"], ["Baseline", "a-b--c-d-e-f-g"]),
    (["Baseline", "summary", "LEDGER", "History"],
     ["Baseline", "summary (2)", "LEDGER (2)", "History (2)"]),
    (["Baseline", "x" * 40, "x" * 35], ["Baseline", "x" * 31, "x" * 27 + " (2)"]),
    (["Baseline", "'quoted'", "   "], ["Baseline", "quoted", "Scenario"]),
    (["Baseline", "A/B", "A:B", "a-b"], ["Baseline", "A-B", "A-B (2)", "a-b (3)"]),
])
def test_sheet_names(names, expected):
    got = list(sheet_names(names).values())
    assert got == expected
    assert all(len(n) <= 31 for n in got)
    lowered = [n.casefold() for n in got] + [r.casefold() for r in RESERVED_SHEETS]
    assert len(set(lowered)) == len(lowered)


def test_quarter_labels_follow_the_fiscal_year():
    assert quarter_labels(4) == ["Q1 (Apr–Jun)", "Q2 (Jul–Sep)", "Q3 (Oct–Dec)",
                                 "Q4 (Jan–Mar)"]
    assert quarter_labels(11)[1] == "Q2 (Feb–Apr)"


def test_too_many_ledger_rows_is_refused(monkeypatch):
    monkeypatch.setattr(layout_mod, "EXCEL_MAX_ROWS", 10)
    with pytest.raises(ReportTooLarge, match="--json"):
        tiny_layout()


def test_layout_imports_no_spreadsheet_library():
    code = ("import sys, omplan.report.layout, omplan.report.styles; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'xlwings', "
            "'xlsxwriter')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_column_width_from_the_widest_values_equals_every_cell_measured():
    """fit_widths formats only each style's extreme numbers; that must be the widest cell."""
    import random

    from omplan.report import styles as stl
    from omplan.report.builder import _column_need, _display_len

    rng = random.Random(7)
    styles = [stl.MONEY, stl.PERCENT_STYLE, stl.FTE_STYLE, stl.INTEGER_STYLE, stl.TEXT_STYLE,
              stl.LABEL_STYLE, f"{stl.MONEY} total", f"{stl.PERCENT_STYLE} subtotal",
              *(s for s in stl.report_styles("EUR") if "signed" in s or "points" in s)]
    assert any("signed" in s for s in styles)
    checked = 0
    for style in styles:
        for _ in range(40):
            values = [rng.choice([
                rng.uniform(-1e7, 1e7), rng.uniform(-1, 1), rng.randint(-99_999, 99_999),
                -0.4, 0.5, 999.5, -999.5, 9_999_999.5, None, True, "", "Operation",
                "two\nlines of text", float("nan"), float("inf")]) for _ in range(12)]
            want = max((_display_len(v, style, "EUR") for v in values), default=0)
            assert _column_need(values, style, "EUR") == want, (style, values)
            checked += 1
    assert checked == 40 * len(styles)


def _page_of_rows(sheet, row_pt: float, page_w_in: float, page_h_in: float) -> dict[int, int]:
    """Row -> printed page, as a printer paginates a sheet fitted to one page wide: manual
    breaks first, then a new page wherever the next row does not fit."""
    last_col = max([b.last_col for b in sheet.blocks] + [c.end[1] for c in sheet.charts])
    width_pt = sum((sheet.column_widths.get(c, 8.43) * 7 + 5) * 0.75
                   for c in range(1, last_col + 1))
    scale = min(1.0, (page_w_in - 0.8) * 72 / width_pt)
    capacity = (page_h_in - 1.5) * 72 / scale
    titles = sum(sheet.row_heights.get(r, row_pt) for r in range(1, 4))
    last_row = max(sheet.max_row, *(c.end[0] for c in sheet.charts))
    page, used, pages = 1, 0.0, {}
    for row in range(1, last_row + 1):
        h = sheet.row_heights.get(row, row_pt)
        if used + h > capacity:
            page, used = page + 1, titles
        used += h
        pages[row] = page
        if row in sheet.row_breaks:
            page, used = page + 1, titles
    return pages


@pytest.mark.parametrize("paper", [(11.0, 8.5), (11.69, 8.27)], ids=["letter", "a4"])
@pytest.mark.parametrize("row_pt", [12.75, 15.0], ids=["libreoffice", "excel"])
def test_no_chart_is_cut_by_a_page_break(paper, row_pt):
    from omplan.apps.cli import sample_plan_path
    from omplan.files.run import run_plan

    evaluation = run_plan(sample_plan_path()).evaluation
    layout = build_report_layout(evaluation, generated=datetime(2027, 1, 1), version="t")
    business = next(s for s in layout.sheets if s.name == "Business case")
    assert len([c for c in business.charts if c.key.startswith("waterfall")]) >= 4
    assert business.row_breaks  # without them a waterfall straddles two pages
    for sheet in layout.sheets:
        if not sheet.charts or sheet.print_setup.pages_wide != 1:
            continue
        pages = _page_of_rows(sheet, row_pt, *paper)
        for chart in sheet.charts:
            assert pages[chart.anchor[0]] == pages[chart.end[0]], (sheet.name, chart.key)


def test_a_plan_without_figures_or_a_scenario_is_a_report_error():
    """The builders raise omplan's own exception (an OmplanError, and a ValueError as
    before), never a bare ValueError."""
    from omplan.core.errors import OmplanError
    from omplan.report.budget import build_quarter_layout
    from omplan.report.errors import ReportError

    zero = tiny_plan()
    zero["Staffing"] = [zero["Staffing"][0], ["ERP", "Ops", "In-house", None, 0, 0, 0, 0]]
    plan, _ = parse(zero)
    evaluation = evaluate(plan)
    assert [f.code for f in evaluation.errors] == ["zero-total"]
    with pytest.raises(ReportError, match="the plan has errors") as raised:
        build_report_layout(evaluation)
    assert isinstance(raised.value, OmplanError) and isinstance(raised.value, ValueError)
    with pytest.raises(ReportError, match="the plan has errors"):
        build_quarter_layout(evaluation, "Baseline", "Q1")
    good = evaluate(parse(tiny_plan())[0])
    with pytest.raises(ReportError, match="no scenario 'Lean'"):
        build_quarter_layout(good, "Lean", "Q1")
    with pytest.raises(ReportError, match="not a quarter"):
        build_quarter_layout(good, "Baseline", "Q5")
    with pytest.raises(ReportError, match="outside the plan's horizon"):
        build_quarter_layout(good, "Baseline", "FY2029 Q1")
    assert issubclass(ReportTooLarge, ReportError)
