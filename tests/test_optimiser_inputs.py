"""The optimiser's inputs: the Options sheet, the Max FTE column and the settings checks."""

from __future__ import annotations

import pytest
from factories import grids, parse, tiny_plan, with_rows

from omplan.core.model import IN_HOUSE, OFFSHORE, OptionRow, Settings
from omplan.core.settings import SETTINGS_BY_KEY, settings_table_markdown
from omplan.input.options import (
    check_optimiser_settings,
    read_optimiser_inputs,
    read_options,
)


def _read(*rows, header=("Role", "System", "Sourcing", "Vendor"), sheets=None):
    sheets = sheets or tiny_plan()
    plan, findings = parse(sheets)
    assert plan is not None, findings
    full = with_rows(sheets, "Options", *rows, header=list(header))
    return read_optimiser_inputs(grids(full), plan)


def test_options_rows_are_read_with_their_location():
    plan, findings = _read(["Dev", "ERP", "offshore", "Bangalore"], ["*", "*", "in house"])
    assert findings == []
    assert plan.options == [OptionRow("Dev", "ERP", OFFSHORE, "Bangalore", "Options!A2"),
                            OptionRow("*", "*", IN_HOUSE, "", "Options!A3")]


def test_a_vendor_column_is_optional():
    plan, findings = _read(["Dev", "*", "Offshore"], header=("Role", "System", "Sourcing"))
    assert findings == [] and plan.options[0].vendor == ""


@pytest.mark.parametrize(("row", "code", "where", "hint"), [
    (["Devv", "ERP", "Offshore"], "unknown-role", "Options!A2", "did you mean 'Dev'?"),
    (["Dev", "EPR", "Offshore"], "unknown-system", "Options!B2", "did you mean 'ERP'?"),
    (["Dev", "ERP", "Ofshore"], "unknown-value", "Options!C2", "did you mean 'Offshore'?"),
])
def test_an_unknown_name_is_a_located_error_with_a_suggestion(row, code, where, hint):
    plan, findings = _read(row)
    [error] = [f for f in findings if f.severity == "error"]
    assert (error.code, error.location) == (code, where)
    assert hint in error.message
    assert plan.options == []


def test_every_bad_row_is_reported_at_once():
    _, findings = _read(["Devv", "ERP", "Offshore"], ["Dev", "EPR", "Offshore"],
                        ["Ops", "ERP", "Ofshore"])
    assert [f.location for f in findings] == ["Options!A2", "Options!B3", "Options!C4"]


def test_rows_that_offer_nothing_are_warned_about():
    # the tiny plan has no Offshore rate for Ops
    plan, findings = _read(["Ops", "*", "Offshore"], ["Dev", "*", "In-house", "Acme"])
    assert [(f.severity, f.code, f.location) for f in findings] == [
        ("warning", "option-no-rate", "Options!C2"),
        ("warning", "vendor-ignored", "Options!D3")]
    assert plan.options[1].vendor == ""


def test_max_fte_is_read_from_contracts():
    sheets = with_rows(tiny_plan(), "Contracts", ["Acme", 4, 10, 3.5], ["Beta", 4, 10, None],
                       header=["Vendor", "Emergency response SLA hours",
                               "Permanent fix SLA days", "Max FTE"])
    plan, findings = _read(["Dev", "*", "Offshore"], sheets=sheets)
    assert findings == []
    assert plan.contracts["acme"].max_fte == 3.5 and plan.contracts["beta"].max_fte is None


def test_a_bad_max_fte_is_a_located_error():
    sheets = with_rows(tiny_plan(), "Contracts", ["Acme", 4, 10, "three"],
                       header=["Vendor", "Emergency response SLA hours",
                               "Permanent fix SLA days", "Max FTE"])
    _, findings = _read(["Dev", "*", "Offshore"], sheets=sheets)
    [error] = findings
    assert (error.code, error.location) == ("not-a-number", "Contracts!D2")
    assert "Max FTE of 'Acme'" in error.message


def _settings_plan(*settings_rows):
    sheets = tiny_plan()
    sheets["Settings"] += [list(r) for r in settings_rows]
    sheets = with_rows(sheets, "Scenarios", ["Offshore", "Dev", "*", "sourcing", "Offshore"],
                       header=["Scenario", "Role", "System", "Change", "Value"])
    plan, findings = parse(sheets)
    assert plan is not None, findings
    return plan


def test_the_optimiser_settings_are_read_with_their_defaults():
    plan = _settings_plan(["optimise_from", "Q3"], ["max_changes", 2],
                          ["transition_budget", 50000], ["min_inhouse_share", 0.3])
    st = plan.settings
    assert (st.optimise_from, st.max_changes, st.transition_budget, st.min_inhouse_share,
            st.optimised_name, st.optimise_seconds) == ("Q3", 2, 50000.0, 0.3, "Optimised",
                                                         60.0)
    assert check_optimiser_settings(plan) == []
    blank = Settings("p", 2027)
    assert (blank.max_changes, blank.transition_budget, blank.optimise_from) == (None, None,
                                                                                 "")


def test_the_docs_table_lists_the_optimiser_settings():
    table = settings_table_markdown()
    assert "| `max_changes` | blank | a whole number from 0 to 100,000 |" in table
    assert "| `transition_budget` | blank | an amount ≥ 0 in the plan's currency |" in table
    assert SETTINGS_BY_KEY["optimised_name"].default == "Optimised"


@pytest.mark.parametrize(("rows", "code", "text"), [
    ([["optimise_from", "Q5"]], "bad-period", "optimise_from must be a quarter"),
    ([["optimise_from", "FY2030 Q1"]], "outside-horizon", "outside the plan"),
    ([["optimised_name", "offshore"]], "duplicate", "already a scenario"),
    ([["optimised_name", "Baseline"]], "duplicate", "already the plan as entered"),
])
def test_a_wrong_optimiser_setting_is_an_error_at_its_cell(rows, code, text):
    plan = _settings_plan(*rows)
    [error] = check_optimiser_settings(plan)
    assert error.code == code and text in error.message
    assert error.location == "Settings!B5"


def test_a_negative_max_changes_is_refused_by_the_schema():
    sheets = tiny_plan()
    sheets["Settings"].append(["max_changes", -1])
    plan, findings = parse(sheets)
    assert plan is None and findings[0].location == "Settings!B5"


def test_read_options_without_a_sheet_is_empty():
    plan, _ = parse(tiny_plan())
    assert read_options(None, plan) == ([], [])
