"""The report workbook as written: every figure reconciles with the ledger and the JSON, read
back with openpyxl and python-calamine; text stays text; same input, same bytes; too big is
refused before writing; the CLI writes it."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from factories import tiny_plan, with_rows
from python_calamine import CalamineWorkbook

import omplan
import omplan.report.layout as layout_mod
from omplan.apps.cli import cli, sample_plan_path
from omplan.core.model import (
    ACTIVITIES,
    EXTERNAL_SOURCINGS,
    LEVEL_GUIDANCE,
    LEVELS,
    QUARTERS,
    level_label,
)
from omplan.core.periods import quarter_labels
from omplan.files.report import ReportError, report_layout, write_report
from omplan.files.run import run_plan
from omplan.report.scenario_sheet import COMPONENT_LABELS, NO_ROLE, NO_SOURCING

SAMPLE = sample_plan_path()
EPOCH = 1_800_000_000  # 2027-01-15 08:00:00 UTC
REL = 1e-12
INJECTIONS = ["=1+1", "@SUM(A1)", "-2+3", "+cmd|' /C calc'!A0", "=HYPERLINK(\"x\")"]


def approx(value: float) -> Any:
    return pytest.approx(value, rel=REL, abs=1e-6)


def _report(source: Path, out: Path):
    """The report of the plan at ``source``, written with SOURCE_DATE_EPOCH, and its layout."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    try:
        run = run_plan(source)
        path = out / "sample_report.xlsx"
        write_report(run, path)
        lay = report_layout(run.evaluation, input_findings=run.findings, source_path=source)
    finally:
        mp.undo()
    return run, path, lay


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The shipped sample plan's report (FY2027-FY2029, with actuals) and its layout."""
    return _report(SAMPLE, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def sample_one_year(tmp_path_factory, one_year_sample):
    """The one-year sample's report: one fiscal year, so each scenario sheet has the columns
    Q1-Q4 and FY, which the cell-by-cell reconciliations below address."""
    return _report(one_year_sample, tmp_path_factory.mktemp("report_one_year"))


_VALUES: dict[Path, dict[str, dict[tuple[int, int], Any]]] = {}


def cell_values(path: Path) -> dict[str, dict[tuple[int, int], Any]]:
    """Every non-empty cell of every sheet, read with openpyxl (cached per file)."""
    if path not in _VALUES:
        _VALUES[path] = _read_values(path)
    return _VALUES[path]


def _read_values(path: Path) -> dict[str, dict[tuple[int, int], Any]]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                         if c.value is not None}
    return out


def write_text_plan(sheets: dict[str, list[list[Any]]], path: Path) -> Path:
    """A plan workbook whose text cells are literal strings even when they look like
    formulas or error values (the factories' writers would turn them into formulas)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"
    wb.save(path)
    return path


# --------------------------------------------------------------------------- reconciliation


def ledger_sum(led: pd.DataFrame, of: str = "amount", **where: Any) -> float:
    """Sum of column ``of`` over the ledger rows matching ``where``."""
    for column, value in where.items():
        values = value if isinstance(value, list | tuple | set) else [value]
        led = led[led[column].isin(values)]
    return float(led[of].sum())


def expected_cell(key: str, label: Any, head: str, led: pd.DataFrame, sc: dict, plan,
                  qmap: dict[str, str]) -> Any:
    """What a scenario-sheet cell must hold, from the ledger (and the JSON for statuses)."""
    where: dict[str, Any] = {}
    if head in qmap:
        where["quarter"] = qmap[head]
    total = ledger_sum(led, **where)
    if key == "activity_quarter":
        if label == "Operation share":
            return None if total == 0 else ledger_sum(led, kind="operation", **where) / total
        if label == "Band status":
            return (sc["band_status"] if head == "FY" else
                    sc["quarters"][QUARTERS.index(qmap[head])]["band_status"])
        if label in ("Operation", "Maintenance"):
            where["kind"] = label.lower()
        elif label != "Total":
            where["activity"] = label
        return ledger_sum(led, **where)
    if key in ("by_level", "by_sourcing", "by_system"):
        if head == "Sourcing guidance":
            return None  # text: checked separately
        if label != "Total":
            if key == "by_level":
                where["level"] = "" if label == NO_ROLE else label.split()[0]
            elif key == "by_sourcing":
                where["sourcing"] = "" if label == NO_SOURCING else label
            else:
                where["system"] = label
        if head == "Band status":
            amount = ledger_sum(led, **where)
            if amount == 0:
                return "no-cost"
            share = ledger_sum(led, kind="operation", **where) / amount
            low, high = plan.settings.band_low, plan.settings.band_high
            return ("maintenance-heavy" if share < low else
                    "operation-heavy" if share > high else "within")
        if head == "Share of total":
            return ledger_sum(led, **where) / total
        if head == "Operation share":
            amount = ledger_sum(led, **where)
            return None if amount == 0 else ledger_sum(led, kind="operation", **where) / amount
        if head == "of which labour":
            where["component"] = "labour"
        elif head in ("Operation", "Maintenance"):
            where["kind"] = head.lower()
        return ledger_sum(led, **where)
    if key == "components":
        if label != "Total":
            where["component"] = {v: k for k, v in COMPONENT_LABELS.items()}[label]
        return ledger_sum(led, **where)
    if key == "billing":
        if head == "Billing basis":
            return None
        where.update(component="labour", sourcing=list(EXTERNAL_SOURCINGS))
        if label in ACTIVITIES:
            where["activity"] = label
        elif label != "External labour":
            where["activity"] = [a for a in ACTIVITIES if plan.billing[a] == label]
        return ledger_sum(led, **where)
    if key in ("fte_level", "fte_sourcing"):
        if label != "Total":
            if key == "fte_level":
                where["level"] = next(lv for lv in LEVELS if level_label(lv) == label)
            else:
                where["sourcing"] = label
        fte = ledger_sum(led, of="fte", **where)
        return fte if head in qmap else fte / 4  # FY average: the mean of four quarters
    raise AssertionError(f"unexpected block {key}")


def test_scenario_sheets_reconcile_with_ledger_and_json(sample_one_year):
    run, path, lay = sample_one_year
    values = cell_values(path)
    summary = run.summary()
    plan = run.evaluation.plan
    ledger = run.evaluation.ledger
    qmap = dict(zip(quarter_labels(plan.settings.fy_start_month), QUARTERS, strict=True))
    checked = 0
    for sc in summary["scenarios"]:
        sheet = lay.sheet(lay.scenario_sheets[sc["name"]])
        got = values[sheet.name]
        led = ledger[ledger["scenario"] == sc["name"]]
        for block in sheet.blocks:
            assert got[(block.header_row, block.col)] == block.header[0]
            if block.key == "findings":
                continue
            for i, row in enumerate(block.rows):
                r = block.first_row + i
                assert got[(r, block.col)] == row[0]
                for j, head in enumerate(block.header[1:], start=1):
                    cell = got.get((r, block.col + j))
                    want = expected_cell(block.key, row[0], head, led, sc, plan, qmap)
                    if isinstance(want, float):
                        assert cell == approx(want), (sheet.name, block.key, row[0], head)
                        checked += 1
                    elif want is None and isinstance(row[j], str | type(None)):
                        assert cell == (row[j] or None)
                    else:
                        assert cell == want, (sheet.name, block.key, row[0], head)
        # the same figures as the JSON
        components = sheet.block("components")
        for comp, label in COMPONENT_LABELS.items():
            assert got[(components.first_row + list(COMPONENT_LABELS).index(comp),
                        components.col + 5)] == approx(sc["components"][comp])
            assert components.value(label, "FY") == sc["components"][comp]
        billing = sheet.block("billing")
        assert billing.value("Fixed fee", "FY") == approx(sc["billing"]["fixed_fee"])
        assert billing.value("Separate estimate", "FY") == approx(
            sc["billing"]["separate_estimate"])
        sourcing = sheet.block("by_sourcing")
        for s, amount in sc["by_sourcing"].items():
            assert sourcing.value(s, "of which labour") == approx(amount)
        level = sheet.block("by_level")
        for lv in LEVELS:
            assert level.row_of(level_label(lv))[-1] == LEVEL_GUIDANCE[lv]
        matrix = sheet.block("activity_quarter")
        for a in ACTIVITIES:
            assert matrix.value(a, "FY") == approx(sc["by_activity"][a])
        for q, label in zip(sc["quarters"], matrix.header[1:5], strict=True):
            assert matrix.value("Total", label) == approx(q["total"])
            assert matrix.value("Operation share", label) == approx(q["operation_share"])
        findings = sheet.block("findings")
        assert [list(r) for r in findings.rows] == [
            [f["code"], f["severity"], f["location"], f["message"]] for f in sc["findings"]]
        for i, f in enumerate(sc["findings"]):
            assert got[(findings.first_row + i, findings.col + 3)] == f["message"]
    assert checked > 1000


def test_summary_sheet_reconciles_with_ledger_and_json(sample):
    run, path, lay = sample
    got = cell_values(path)["Summary"]
    summary = run.summary()
    ledger = run.evaluation.ledger
    block = lay.sheet("Summary").block("scenarios")
    head = {h: block.col + j for j, h in enumerate(block.header)}
    base = summary["scenarios"][0]["total"]
    target = summary["target_operation_share"]
    for i, sc in enumerate(summary["scenarios"]):
        r = block.first_row + i
        led = ledger[ledger["scenario"] == sc["name"]]
        assert got[(r, head["Scenario"])] == sc["name"]
        assert got[(r, head["Total"])] == approx(ledger_sum(led)) == approx(sc["total"])
        assert got[(r, head["Operation"])] == approx(ledger_sum(led, kind="operation"))
        assert got[(r, head["Maintenance"])] == approx(sc["maintenance"])
        assert got[(r, head["Operation share"])] == approx(sc["operation_share"])
        assert got[(r, head["Band status"])] == sc["band_status"]
        assert got[(r, head["Share vs target"])] == approx((sc["operation_share"] - target) * 100)
        assert got.get((r, head["Δ total vs Baseline"]), 0) == approx(sc["total"] - base)
        assert got.get((r, head["Δ % vs Baseline"]), 0) == approx(sc["total"] / base - 1)
        assert got[(r, head["Fixed fee"])] == approx(sc["billing"]["fixed_fee"])
        assert got[(r, head["Separate estimate"])] == approx(
            sc["billing"]["separate_estimate"])
        assert got.get((r, head["Transition"]), 0) == approx(
            ledger_sum(led, component="transition"))
        for severity, column in (("warning", "Warnings"), ("info", "Info")):
            assert got.get((r, head[column]), 0) == sum(
                f["severity"] == severity for f in sc["findings"])
    facts = {row[0]: row[1] for row in lay.sheet("Summary").block("plan").rows}
    assert facts["Target operation share"] == target
    assert facts["Plan"] == summary["plan"] and facts["Currency"] == summary["currency"]


def test_numbers_read_back_exactly_as_in_the_json(sample_one_year):
    """All digits are written: what a reader gets is the JSON's float, not a neighbour."""
    run, path, lay = sample_one_year
    book = CalamineWorkbook.from_path(path)
    summary = run.summary()
    grid = book.get_sheet_by_name("Summary").to_python(skip_empty_area=False)
    table = lay.sheet("Summary").block("scenarios")
    for i, sc in enumerate(summary["scenarios"]):
        row = grid[table.first_row - 1 + i]
        assert row[1:5] == [sc["total"], sc["operation"], sc["maintenance"],
                            sc["operation_share"]]
        assert row[9:11] == [sc["billing"]["fixed_fee"], sc["billing"]["separate_estimate"]]
        sheet = lay.sheet(lay.scenario_sheets[sc["name"]])
        cells = book.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
        matrix = sheet.block("activity_quarter")
        for k, activity in enumerate(ACTIVITIES):
            r = matrix.first_row - 1 + k + (1 if k >= 4 else 0)
            assert cells[r][0] == activity and cells[r][5] == sc["by_activity"][activity]
        total = cells[matrix.first_row - 1 + 10]
        assert total[1:6] == [*(q["total"] for q in sc["quarters"]), sc["total"]]
        comps = sheet.block("components")
        fy = [cells[comps.first_row - 1 + k][5] for k in range(5)]
        assert fy == list(sc["components"].values())


def test_ledger_sheet_reproduces_every_total(sample):
    run, path, _ = sample
    frame = pd.read_excel(path, sheet_name="Ledger", engine="calamine")
    assert list(frame.columns) == [*(c.capitalize() for c in
                                     omplan.core.ledger.LEDGER_COLUMNS), "FTE"]
    assert len(frame) == len(run.evaluation.ledger)
    totals = frame.groupby("Scenario", sort=False)["Amount"].sum()
    for sc in run.summary()["scenarios"]:
        assert totals[sc["name"]] == approx(sc["total"])
        kinds = frame[frame["Scenario"] == sc["name"]].groupby("Kind")["Amount"].sum()
        assert kinds["operation"] == approx(sc["operation"])


def test_checks_sheet_lists_every_finding(sample):
    run, path, _ = sample
    rows = CalamineWorkbook.from_path(path).get_sheet_by_name("Checks").to_python()
    assert rows[0] == ["Scenario", "Severity", "Code", "Location", "Message"]
    expected = [[sc["name"], f["severity"], f["code"], f["location"], f["message"]]
                for sc in run.summary()["scenarios"] for f in sc["findings"]]
    assert rows[1:] == expected


def test_openpyxl_and_calamine_read_the_same_values(sample):
    _, path, _ = sample
    values = cell_values(path)
    book = CalamineWorkbook.from_path(path)
    assert book.sheet_names == list(values)
    for name, cells in values.items():
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for (r, c), value in cells.items():
            other = grid[r - 1][c - 1]
            if isinstance(value, bool) or isinstance(value, str | datetime):
                assert other == value, (name, r, c)
            else:
                assert other == approx(value), (name, r, c)


def test_workbook_structure(sample):
    run, path, lay = sample
    wb = openpyxl.load_workbook(path)
    names = [s["name"] for s in run.summary()["scenarios"]]
    # the sample has an Actuals sheet: Plan vs actual follows the Business case
    assert wb.sheetnames == ["Summary", "Business case", "Plan vs actual",
                             *[lay.scenario_sheets[n] for n in names], "Ledger",
                             "Checks", "About"]
    assert "Outsource L1-L2" in wb.sheetnames
    ledger = wb["Ledger"]
    table = ledger.tables["Ledger"]
    assert table.ref == f"A1:L{len(run.evaluation.ledger) + 1}"  # L: the FTE column
    assert table.autoFilter is not None
    assert [c.name for c in table.tableColumns] == [c.value for c in ledger[1]]
    assert ledger.freeze_panes == "A2"
    assert wb["Checks"].tables["Checks"].ref.startswith("A1:E")
    summary = wb["Summary"]
    assert summary.freeze_panes == "B3"
    assert summary.page_setup.orientation == "landscape"
    assert summary.page_setup.fitToWidth == 1 and summary.sheet_properties.pageSetUpPr.fitToPage
    assert summary.print_title_rows == "$1:$2"
    assert summary.print_area is not None
    assert wb["Baseline"].freeze_panes == "B4"
    money = next(s for s in wb.named_styles if s == "omplan money")
    assert money
    total = summary.cell(lay.sheet("Summary").block("scenarios").first_row, 2)
    assert total.number_format == '#,##0 "USD"'
    share = summary.cell(lay.sheet("Summary").block("scenarios").first_row, 5)
    assert share.number_format == "0.0%"
    assert summary.column_dimensions["A"].width >= 15
    rules = summary.conditional_formatting
    assert any("E" in str(cf.sqref) for cf in rules)
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        # Summary 2, one per scenario sheet, Business case: cumulative + a waterfall per
        # scenario other than Baseline, Plan vs actual: plan and actual by month
        assert len(charts) == 2 + len(names) + 1 + (len(names) - 1) + 1
        chart_xml = b"".join(z.read(n) for n in charts).decode()
        assert "'Outsource L1-L2'!$B$" in chart_xml
        assert '<grouping val="stacked"/>' in chart_xml


def test_openpyxl_uses_lxml():
    """The renderer streams through lxml (much faster than the stdlib fallback)."""
    assert openpyxl.LXML


def test_no_formulas_are_written(sample):
    _, path, _ = sample
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", z.read(name)), name


def test_about_sheet_names_the_input(sample):
    _, path, _ = sample
    about = {row[0]: row[1] for row in
             CalamineWorkbook.from_path(path).get_sheet_by_name("About").to_python()
             if len(row) > 1 and row[0]}
    assert about["Produced by"] == f"omplan {omplan.__version__}"
    assert about["Plan file"] == "sample_plan.xlsx"
    assert about["Plan file SHA-256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    generated = datetime.fromtimestamp(EPOCH, tz=UTC).replace(tzinfo=None)
    assert about["Generated (UTC)"] == generated
    assert about["Generation time source"] == f"SOURCE_DATE_EPOCH={EPOCH}"


# --------------------------------------------------------------------------- safety


def test_text_from_inputs_stays_text(tmp_path):
    sheets = tiny_plan()
    sheets["Settings"][1] = ["plan_name", "=cmd()"]
    system, vendor, role, scenario = INJECTIONS[0], INJECTIONS[1], INJECTIONS[2], INJECTIONS[3]
    for row in sheets["Roles"][1:] + sheets["Rates"][1:] + sheets["Allocation"][1:]:
        row[0] = role if row[0] == "Dev" else row[0]
    sheets["Staffing"][1][0] = system
    sheets["Staffing"][2][0] = INJECTIONS[4]
    sheets["Staffing"][2][1] = role
    sheets = with_rows(sheets, "Staffing", ["@", "Ops", "Outsource", vendor, 1, 1, 1, 1])
    sheets = with_rows(sheets, "Scenarios", [scenario, role, "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan_path = write_text_plan(sheets, tmp_path / "inject.xlsx")
    run = run_plan(plan_path)
    assert run.ok, run.errors
    out = write_report(run, tmp_path / "report.xlsx")

    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", z.read(name)), name
    wb = openpyxl.load_workbook(out)
    found = {text: 0 for text in [*INJECTIONS, "=cmd()"]}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in found:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found[cell.value] += 1
    assert all(found.values()), found
    assert "+cmd|' -C calc'!A0" in wb.sheetnames
    book = CalamineWorkbook.from_path(out)
    ledger = book.get_sheet_by_name("Ledger").to_python()
    columns = {value for row in ledger[1:] for value in row}
    assert set(INJECTIONS) <= columns


def test_renderer_writes_error_codes_and_formula_lookalikes_as_text(tmp_path):
    from omplan.render.xlsx import render_workbook
    from omplan.report.layout import ReportLayout, SheetLayout, Text
    from omplan.report.styles import HIGHLIGHTS, report_styles

    texts = [*INJECTIONS, "#N/A", "#DIV/0!", "bell\x07char", "x" * 40_000]
    sheet = SheetLayout("S", texts=[Text(i + 1, 1, t, "omplan text")
                                    for i, t in enumerate(texts)])
    layout = ReportLayout([sheet], report_styles("EUR"), dict(HIGHLIGHTS), "t",
                          datetime(2027, 1, 1))
    out = tmp_path / "t.xlsx"
    render_workbook(layout, out)
    with zipfile.ZipFile(out) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    assert not re.search(rb"<f[ >]", xml) and b't="e"' not in xml
    ws = openpyxl.load_workbook(out)["S"]
    got = [ws.cell(i + 1, 1) for i in range(len(texts))]
    assert all(c.data_type == "s" for c in got)
    assert [c.value for c in got[:7]] == texts[:7]
    assert got[7].value == "bell\N{REPLACEMENT CHARACTER}char"
    assert len(got[8].value) == 32_767


def test_same_input_gives_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    run = run_plan(SAMPLE)
    a = write_report(run, tmp_path / "a.xlsx").read_bytes()
    b = write_report(run_plan(SAMPLE), tmp_path / "b.xlsx").read_bytes()
    assert a == b
    moment = datetime.fromtimestamp(EPOCH, tz=UTC)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {
            (moment.year, moment.month, moment.day, moment.hour, moment.minute,
             moment.second)}
        core = z.read("docProps/core.xml").decode()
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert core.count(stamp) == 2  # created and modified


def test_too_big_ledger_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(layout_mod, "EXCEL_MAX_ROWS", 100)
    run = run_plan(SAMPLE)
    target = tmp_path / "report.xlsx"
    with pytest.raises(layout_mod.ReportTooLarge, match=r"at most 99 rows.*--json"):
        write_report(run, target)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_the_old_report(tmp_path, monkeypatch):
    import omplan.render.xlsx as render

    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old report")

    def broken(layout, fh):
        fh.write(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(render, "render_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(run_plan(SAMPLE), target)
    assert target.read_bytes() == b"old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_sheet_names_with_quotes_in_charts(tmp_path):
    sheets = with_rows(tiny_plan(), "Scenarios", ["Bob's [plan]", "Dev", "*", "fte_factor", 2],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    out = write_report(run_plan(write_text_plan(sheets, tmp_path / "p.xlsx")),
                           tmp_path / "r.xlsx")
    assert openpyxl.load_workbook(out).sheetnames[3] == "Bob's -plan-"
    with zipfile.ZipFile(out) as z:
        # Summary 2, Business case 2 (cumulative, one waterfall), Baseline, then this
        xml = z.read("xl/charts/chart6.xml").decode()
    assert "'Bob''s -plan-'!$B$" in xml


def test_report_file_name_is_checked(tmp_path):
    run = run_plan(SAMPLE)
    with pytest.raises(ReportError, match=r"\.xlsx"):
        write_report(run, tmp_path / "report.xls")
    copy = tmp_path / "plan.xlsx"
    copy.write_bytes(SAMPLE.read_bytes())
    with pytest.raises(ReportError, match="the plan itself"):
        write_report(run_plan(copy), copy)
    assert copy.read_bytes() == SAMPLE.read_bytes()


def test_plan_with_errors_has_no_report(tmp_path):
    sheets = tiny_plan()
    sheets["Rates"][1][2] = 0
    run = run_plan(write_text_plan(sheets, tmp_path / "bad.xlsx"))
    assert not run.ok
    with pytest.raises(ReportError, match="errors"):
        write_report(run, tmp_path / "r.xlsx")
    assert not (tmp_path / "r.xlsx").exists()


def test_write_report_takes_the_run_as_write_into_does(tmp_path):
    run = run_plan(SAMPLE)
    with pytest.raises(TypeError, match=r"omplan.write_report\(omplan.run_plan\(PLAN\)"):
        write_report(run.evaluation, tmp_path / "plain.xlsx")  # the call of before
    assert not (tmp_path / "plain.xlsx").exists()


# --------------------------------------------------------------------------- CLI


def test_cli_run_writes_the_report(tmp_path):
    out = tmp_path / "sub" / "report.xlsx"
    result = CliRunner().invoke(cli, ["run", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Report written to {out}" in result.output.replace("\n", "")
    assert openpyxl.load_workbook(out, read_only=True).sheetnames[0] == "Summary"


def test_cli_demo_writes_the_report_where_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    default = Path("omplan-demo") / "sample_plan_report.xlsx"
    assert (tmp_path / default).is_file()
    assert str(default) in result.output
    result = CliRunner().invoke(cli, ["demo", "--out", "mine.xlsx"])
    assert result.exit_code == 0 and (tmp_path / "mine.xlsx").is_file()


def test_cli_refuses_a_too_big_report(tmp_path, monkeypatch):
    monkeypatch.setattr(layout_mod, "EXCEL_MAX_ROWS", 100)
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(cli, ["run", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 2
    assert "no report written" in result.output and "--json" in result.output
    assert not out.exists()


def test_cli_plan_with_errors_writes_no_report(tmp_path):
    sheets = tiny_plan()
    sheets["Rates"][1][2] = 0
    plan = write_text_plan(sheets, tmp_path / "bad.xlsx")
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(cli, ["run", str(plan), "--out", str(out)])
    assert result.exit_code == 2
    assert "no report written" in result.output
    assert not out.exists()
