"""The engine's three steps called one by one: arrays -> ledger -> advisories give what
``evaluate`` gives; ``totals`` matches the ledger without building it; one check per code."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import parse

from omplan.apps.cli import sample_plan_path
from omplan.core import advisories
from omplan.core.engine import build_ledger, compute_arrays, evaluate, totals
from omplan.core.ledger import kind_totals
from omplan.files.run import run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import make_plan  # noqa: E402


@pytest.fixture(scope="module")
def plans():
    generated, findings = parse(make_plan(150, 4, seed=11))
    assert generated is not None, findings
    return {"sample": run_plan(sample_plan_path()).plan, "generated": generated}


@pytest.mark.parametrize("name", ["sample", "generated"])
def test_steps_one_by_one_give_what_evaluate_gives(plans, name):
    plan = plans[name]
    evaluation = evaluate(plan)
    arrays = compute_arrays(plan)
    assert arrays.errors == []
    ledger = build_ledger(arrays)
    pd.testing.assert_frame_equal(ledger, evaluation.ledger)
    assert advisories.advise(arrays, ledger) == evaluation.scenario_findings


@pytest.mark.parametrize("name", ["sample", "generated"])
def test_totals_without_a_ledger_match_the_ledger(plans, name):
    plan = plans[name]
    arrays = compute_arrays(plan)
    got = totals(arrays)
    expected = kind_totals(evaluate(plan).ledger, "scenario")
    assert list(got) == plan.scenario_names
    for scenario, figures in got.items():
        for kind in ("operation", "maintenance", "total"):
            assert figures[kind] == pytest.approx(float(expected.loc[scenario, kind]), rel=1e-12)
    assert got["Baseline"]["total"] > 0


def test_ledger_codes_are_narrow_and_written_once(plans):
    ledger = evaluate(plans["generated"]).ledger
    for column in ("scenario", "quarter", "level", "sourcing", "activity", "kind", "component"):
        assert ledger[column].cat.codes.dtype == np.int8, column
    assert (ledger[ledger["component"] == "vendor_management"]["sourcing"] != "In-house").all()
    assert (ledger["amount"] != 0).all()


def test_one_check_per_code_in_one_tuple(plans):
    assert [c.__name__ for c in advisories.CHECKS] == [
        "out_of_band", "pmo_outsourced", "split_contract", "sla_undefined",
        "l3_offshore_candidate"]
    plan = plans["sample"]
    arrays = compute_arrays(plan)
    ledger = build_ledger(arrays)
    everything = advisories.advise(arrays, ledger)
    codes = {f.code for findings in everything.values() for f in findings}
    assert {"split-contract", "pmo-outsourced", "sla-undefined", "out-of-band",
            "l3-offshore-candidate"} <= codes
    for check in advisories.CHECKS:
        alone = advisories.advise(arrays, ledger, checks=(check,))
        code = check.__name__.replace("_", "-")
        assert {f.code for fs in alone.values() for f in fs} == {code}
        # the same findings, in the same order, as in the full run
        for scenario, findings in everything.items():
            assert [f for f in findings if f.code == code] == alone[scenario]
