"""The shipped sample plan: rebuilt from code, identical to the committed files, valid."""

from __future__ import annotations

from pathlib import Path

from omplan.apps.cli import sample_plan_path
from omplan.files.run import run_plan
from omplan.files.sample import build_sample_plan

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sample_is_what_the_script_builds(tmp_path):
    fresh = build_sample_plan(tmp_path / "sample_plan.xlsx").read_bytes()
    assert (ROOT / "workbooks" / "sample_plan.xlsx").read_bytes() == fresh
    assert sample_plan_path().read_bytes() == fresh


def test_sample_plan_is_realistic():
    run = run_plan(sample_plan_path())
    assert run.ok and run.findings == []
    summary = run.summary()
    names = [s["name"] for s in summary["scenarios"]]
    assert names == ["Baseline", "Outsource L1/L2", "Offshore L3", "Integrated vendor",
                     "Lean 2027"]
    plan = run.plan
    assert {r.level for r in plan.roles.values()} == {"L1", "L2", "L3", "PMO"}
    assert {line.sourcing for line in plan.staffing} == {"In-house", "Outsource", "Offshore"}
    assert len({line.system for line in plan.staffing}) == 4
    assert plan.costs and plan.contracts and plan.profile
    base = summary["scenarios"][0]
    assert base["band_status"] == "within"
    assert abs(base["total"] - sum(base["components"].values())) < 1e-6
    assert round(base["total"]) == 3_807_679  # hand-checked by the sample's author (see docs)
