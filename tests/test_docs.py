"""The docs stand on their own: no links outside the repository, the settings table is generated
from the schema, and the worked example's figures are the engine's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import ACTS, grids

from omplan.core.engine import evaluate
from omplan.core.settings import settings_table_markdown
from omplan.core.summary import summary_json
from omplan.files.template_sheets import HEADERS
from omplan.input import schema
from omplan.input.reader import parse_plan
from omplan.input.scenarios import LARGE_FACTOR, PERCENT_FACTOR

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "docs" / "model.md"
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: The worked example of docs/model.md, as plan data.
EXAMPLE = {
    "Settings": [["Setting", "Value"], ["plan_name", "Worked example"], ["fiscal_year", 2027],
                 ["currency", "EUR"]],
    "Roles": [["Role", "Level"], ["Ops", "L2"], ["Dev", "L3"], ["Lead", "PMO"]],
    "Rates": [["Role", "Sourcing", "Monthly cost"], ["Ops", "In-house", 10000],
              ["Ops", "Outsource", 12000], ["Dev", "In-house", 12000],
              ["Lead", "In-house", 14000]],
    "Allocation": [["Role", *ACTS], ["Ops", 1, None, None, None, None, None, None, None],
                   ["Dev", None, 0.25, None, None, 0.75, None, None, None], ["Lead"]],
    "Staffing": [["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"],
                 ["ERP", "Ops", "In-house", None, 2, 2, 2, 2],
                 ["ERP", "Dev", "In-house", None, 1, 1, 1, 1],
                 ["ERP", "Lead", "In-house", None, 0.5, 0.5, 0.5, 0.5]],
    "Costs": [["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"],
              ["ERP", "Monitoring tool", "Monitoring", 3000, 3000, 3000, 3000]],
    "Profile": [["Factor", "Applies"], ["Runs 24x7", "yes"]],
    "Scenarios": [["Scenario", "Role", "System", "Change", "Value"],
                  ["Outsource ops", "Ops", "*", "sourcing", "Outsource"],
                  ["Outsource ops", "Ops", "*", "vendor", "Acme"]],
}


def _between(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"docs/model.md has no {name} block"
    return match.group(1)


def test_the_settings_table_is_generated_from_the_schema():
    assert _between(MODEL.read_text(), "settings-table") == settings_table_markdown(), (
        "docs/model.md is out of date: paste settings_table_markdown() between the markers")


def test_the_sheets_table_is_generated_from_the_input_schema():
    assert _between(MODEL.read_text(), "sheets-table") == schema.sheets_table_markdown(), (
        "docs/model.md is out of date: paste omplan.input.schema.sheets_table_markdown() "
        "between the markers")


def _engine_figures() -> dict[str, list[float]]:
    plan, findings = parse_plan(grids(EXAMPLE), "example.xlsx")
    assert plan is not None and not [f for f in findings if f.severity == "error"], findings
    summary = summary_json(plan, findings, evaluate(plan), "example.xlsx")
    rows: dict[str, list[float]] = {}
    for s in summary["scenarios"]:
        for key in ("total", "operation", "maintenance"):
            rows.setdefault(key, []).append(s[key])
        for key, value in s["components"].items():
            rows.setdefault(key, []).append(value)
        for q in s["quarters"][:2]:
            rows.setdefault(f"{q['quarter']} total", []).append(q["total"])
        rows.setdefault("operation share (%)", []).append(100 * s["operation_share"])
        rows.setdefault("target share (%)", []).append(100 * summary["target_operation_share"])
    return rows


def test_the_worked_example_matches_the_engine():
    table = _between(MODEL.read_text(), "worked-example").strip().splitlines()
    assert table[0] == "| Figure | Baseline | Outsource ops |"
    engine = _engine_figures()
    seen = set()
    for line in table[2:]:
        label, *cells = [c.strip() for c in line.strip("|").split("|")]
        decimals = 1 if "%" in label else 0
        assert cells == [f"{v:,.{decimals}f}" for v in engine[label]], label
        seen.add(label)
    assert seen == set(engine)  # every figure the engine gives is on the page


def test_the_hand_derivation_in_the_text_agrees():
    text = MODEL.read_text()
    for figure in ("13,125", "1,968.75", "5,906.25", "87,093.75", "32,906.25", "3,960",
                   "48,000", "191,160", "143,160"):
        assert figure in text
    engine = _engine_figures()
    assert engine["Q1 total"] == [120_000, 191_160]
    assert engine["coordination"][1] == 4 * 3_960


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_stand_on_their_own(path):
    text = path.read_text()
    assert "../shared" not in text and "shared/spec" not in text
    assert not re.search(r"spec §|§\s?\d", text), "cite the model in the project's own words"


def test_the_readme_points_to_the_model_reference():
    assert "(docs/model.md)" in (ROOT / "README.md").read_text()


def test_every_sheet_column_and_bound_is_documented():
    text = MODEL.read_text()
    prose = text.replace(_between(text, "sheets-table"), "")  # each sheet has its section
    for sheet in schema.INPUT_SHEETS:
        assert f"**{sheet}**" in prose, sheet
    for sheet, header in HEADERS.items():
        for column in header:
            if sheet != "Settings" and column not in ("Q2", "Q3"):
                assert f"`{column}`" in prose or column in prose, (sheet, column)
    for bound in (schema.MAX_MONTHLY_COST, schema.MAX_FTE, schema.MAX_COST):
        assert f"{bound:,.0f}" in text
    assert f"factor of {PERCENT_FACTOR:g} or more" in text
    assert f"above {LARGE_FACTOR:g}" in text
