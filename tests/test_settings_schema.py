"""One Settings schema drives the model's defaults, the reader, the template and the docs."""

from __future__ import annotations

import dataclasses

import pytest
from factories import parse, tiny_plan, with_rows

from omplan.core.model import Settings
from omplan.core.settings import (
    SETTING_KEYS,
    SETTINGS,
    month_number,
    settings_rows,
    settings_table_markdown,
)
from omplan.files.template_sheets import default_settings


def test_the_model_has_exactly_the_schema_settings_with_its_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert list(fields) != [] and set(fields) == set(SETTING_KEYS)
    for spec in SETTINGS:
        if spec.default is not None:
            assert fields[spec.key] == spec.default, spec.key


def test_the_template_writes_every_setting_with_its_default_and_help():
    rows = default_settings(2031)
    assert [r[0] for r in rows] == list(SETTING_KEYS)
    assert dict((r[0], r[1]) for r in rows)["fiscal_year"] == 2031
    assert dict((r[0], r[1]) for r in rows)["transition_months"] == 2  # no '2.0' in the sheet
    assert all(r[2] == spec.help for r, spec in zip(rows, SETTINGS, strict=True))


def test_the_template_defaults_read_back_as_the_model_defaults():
    rows = [[k, v] for k, v, _ in default_settings(2027) if v is not None]
    sheets = tiny_plan()
    sheets["Settings"] = [["Setting", "Value"], *rows]
    plan = parse(sheets)[0]
    assert plan is not None and plan.settings == Settings("tiny", 2027)


def test_unknown_setting_lists_the_schema_keys():
    [warning] = parse(with_rows(tiny_plan(), "Settings", ["horizon", 3]))[1]
    assert warning.code == "unknown-setting" and ", ".join(SETTING_KEYS) in warning.message


def test_schema_bounds_are_enforced():
    [error] = parse(with_rows(tiny_plan(), "Settings", ["transition_months", 240]))[1]
    assert (error.code, error.location) == ("out-of-range", "Settings!B5")
    assert "from 0 to 120" in error.message


def test_settings_rows_for_the_about_sheet():
    settings = Settings("Plan", 2027, fy_start_month=4)
    rows = settings_rows(settings)
    assert [k for k, _ in rows] == list(SETTING_KEYS)
    assert dict(rows)["fy_start_month"] == 4 and dict(rows)["band_low"] == 0.40


def test_the_docs_table_has_a_row_per_setting():
    lines = settings_table_markdown().splitlines()
    assert len(lines) == 2 + len(SETTINGS)
    assert "| `band_low` | 40% |" in settings_table_markdown()


@pytest.mark.parametrize(("text", "month"), [("April", 4), ("apr", 4), ("Sept", 9),
                                             ("MAY", 5), ("ma", None), ("Aprli", None)])
def test_month_number(text, month):
    assert month_number(text) == month
