"""An FX rate typed the wrong way round (INR per USD where the sheet asks for USD per INR)
passes every bound, so the reader warns, at the FX cell, when it makes a rate absurd."""

from __future__ import annotations

import copy

from factories import grids

from omplan.files.sample import SAMPLE_PLAN
from omplan.input.reader import parse_plan


def _fx_findings(rate: float) -> list:
    sheets = copy.deepcopy(SAMPLE_PLAN)
    sheets["FX"][1][2] = rate
    plan, findings = parse_plan(grids(sheets), "sample_plan.xlsx")
    assert plan is not None  # a warning, not an error: the figures are still produced
    return [f for f in findings if f.code == "fx-suspicious"]


def test_the_shipped_rate_is_not_suspicious():
    # every INR rate lands near half its role's USD rates, e.g. the service desk's 269,900 INR
    # x (1 / 82.5708) = 3,268.71 USD against 7,190.5 (the mean of 6,537 and 7,844): 0.45 times,
    # well inside 1/3..3
    assert _fx_findings(1 / 82.5708) == []


def test_an_inverted_rate_is_warned_once_at_its_cell():
    # 82.5708 entered as "USD per INR": the typical INR row of Rates (Service desk agent,
    # 269,900 INR) comes to 269,900 x 82.5708 = 22,285,859 USD a month, 3,099 times the mean
    # of its USD rates (6,537 and 7,844: 7,190.5); at the reciprocal it is 0.45 times
    found = _fx_findings(82.5708)
    assert len(found) == 1
    f = found[0]
    assert f.severity == "warning" and f.location == "FX!C2"
    assert "(269,900 INR, Rates!C4) comes to 22,285,859 USD a month" in f.message
    assert "3,099 times above the same role's 7,190 USD" in f.message
    assert "the wrong way round" in f.message
    assert "enter 1/82.5708 = 0.01211" in f.message
