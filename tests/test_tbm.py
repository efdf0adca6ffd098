"""The TBM export (spec §13): every amount reconciles to the scenario's figures, every name is
the chosen taxonomy version's, and a plan's TBM sheet overrides the shipped mapping."""

from __future__ import annotations

import csv
import math
import os
import stat
from collections import defaultdict
from pathlib import Path

import pytest
from factories import grids, write_openpyxl

from omplan.core.engine import evaluate
from omplan.core.model import ACTIVITIES, COMPONENTS
from omplan.core.summary import plan_figures
from omplan.core.tbm import TBM_COLUMNS, TbmRule, classify, tbm_frame
from omplan.files.sample import SAMPLE_PLAN, write_plan_workbook
from omplan.files.tbm import export_tbm, write_tbm_csv
from omplan.input.reader import load_plan
from omplan.input.tables import SheetGrid
from omplan.input.tbm import (
    TAXONOMY_VERSIONS,
    load_taxonomy,
    read_tbm_file,
    read_tbm_sheet,
    taxonomy_version,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("tbm") / "sample_plan.xlsx"
    write_plan_workbook(SAMPLE_PLAN, path)
    plan, findings = load_plan(path)
    assert plan is not None, findings
    evaluation = evaluate(plan)
    return path, evaluation, plan_figures(plan, findings, evaluation)


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(",".join(TBM_COLUMNS).encode() + b"\r\n")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("version", TAXONOMY_VERSIONS)
def test_the_export_reconciles_to_every_scenario(sample, tmp_path, version):
    _, evaluation, figures = sample
    path = export_tbm(evaluation, tmp_path / f"tbm_{version}.csv", taxonomy=version)
    rows = read_csv(path)
    assert rows and list(rows[0]) == list(TBM_COLUMNS)
    by_scenario: dict[str, list[float]] = defaultdict(list)
    by_activity: dict[tuple[str, str], list[float]] = defaultdict(list)
    keys = set()
    for row in rows:
        amount = float(row["amount"])
        assert amount != 0
        by_scenario[row["scenario"]].append(amount)
        by_activity[(row["scenario"], row["activity"])].append(amount)
        assert row["quarter"] in ("Q1", "Q2", "Q3", "Q4")
        assert 2027 <= int(row["fiscal_year"]) <= 2029
        assert row["currency"] == "USD"
        assert row["component"] in COMPONENTS
        key = tuple(row[c] for c in TBM_COLUMNS[:10])
        assert key not in keys, key  # one row per key
        keys.add(key)
    assert list(by_scenario) == [s.name for s in figures.scenarios]
    for s in figures.scenarios:
        assert math.fsum(by_scenario[s.name]) == pytest.approx(s.total, rel=1e-12)
        for activity in ACTIVITIES:
            assert math.fsum(by_activity[(s.name, activity)]) == pytest.approx(
                s.by_activity[activity], rel=1e-12, abs=1e-6), (s.name, activity)


@pytest.mark.parametrize("version", TAXONOMY_VERSIONS)
def test_every_name_is_in_the_shipped_list(sample, version):
    _, evaluation, _ = sample
    taxonomy = load_taxonomy(version)
    frame = tbm_frame(evaluation, taxonomy)
    pairs = frame[["tower", "sub_tower"]].drop_duplicates().itertuples(index=False)
    for tower, sub_tower in pairs:
        assert tower in taxonomy.towers and sub_tower in taxonomy.towers[tower]
    for pool, sub_pool in frame[["cost_pool", "cost_sub_pool"]].drop_duplicates().itertuples(
            index=False):
        assert pool in taxonomy.cost_pools
        if taxonomy.sub_pools_listed:
            assert sub_pool in taxonomy.cost_pools[pool]
        else:
            assert sub_pool == ""
    # the shipped mapping itself names nothing outside the lists, and classifies every key
    for rule in taxonomy.rules:
        assert not rule.cost_pool or rule.cost_pool in taxonomy.cost_pools
        assert not rule.tower or rule.sub_tower in taxonomy.towers[rule.tower]
    for activity in ACTIVITIES:
        for component in COMPONENTS:
            for level in ("", "L1", "L2", "L3", "PMO"):
                for sourcing, basis in (("In-house", "Fixed fee"), ("Outsource", "Fixed fee"),
                                        ("Offshore", "Separate estimate"), ("", "Fixed fee")):
                    found = classify(taxonomy, (activity, component, sourcing, level, basis))
                    assert found.cost_pool and found.tower and found.sub_tower


def test_the_shipped_lists_hold_what_the_sources_say():
    v4, v5 = load_taxonomy("4.1"), load_taxonomy("5.0")
    assert list(v4.towers) == ["Data Center", "Compute", "Storage", "Network", "Platform",
                               "Output", "End User", "Application", "Delivery",
                               "Security & Compliance", "IT Management"]
    assert sum(len(s) for s in v4.towers.values()) == 43
    assert len(v4.cost_pools) == 8 and not v4.sub_pools_listed
    assert list(v5.towers) == ["Data Center", "Storage", "Compute", "Network", "Application",
                               "Data", "Delivery", "Tech Management", "Security",
                               "Risk & Compliance", "Smart Devices", "End User"]
    assert v5.cost_pools["Staffing"] == ("Internal Labor", "Internal Labor Capital",
                                         "Staff Augmentation", "Staff Augmentation Capital",
                                         "Other Operating")
    docs = (ROOT / "docs" / "tbm.md").read_text()
    for version in TAXONOMY_VERSIONS:
        assert f"TBM Taxonomy {version}" in docs or f"version {version}" in docs


def test_taxonomy_versions_as_typed():
    assert taxonomy_version("v4.1") == "4.1"
    assert taxonomy_version("5") == "5.0" and taxonomy_version("TBM 5.0") == "5.0"
    with pytest.raises(ValueError, match="4.1 or 5.0"):
        taxonomy_version("3.0.2")


def tbm_grid(*rows: list[object]) -> SheetGrid:
    header = ["Activity", "Component", "Sourcing", "Level", "Cost pool", "Cost sub-pool",
              "Tower", "Sub-tower"]
    return SheetGrid("TBM", [header, *map(list, rows)])


def test_a_tbm_sheet_overrides_the_mapping(sample):
    _, evaluation, figures = sample
    taxonomy = load_taxonomy("5.0")
    rules, findings = read_tbm_sheet(tbm_grid(
        ["perfective", None, None, None, None, None, None, "Licensing"],
        [None, "Other costs", None, None, "Software & SaaS", "SaaS", None, None],
        [None, None, "offshore", "L3", None, "Consulting", "Application", None],
    ), taxonomy)
    assert findings == []
    assert rules[0] == TbmRule("Perfective", tower="Application", sub_tower="Licensing",
                               location="TBM!A2")
    assert rules[1].component == "other" and rules[1].cost_pool == "Software & SaaS"
    assert rules[2].cost_pool == "Outside Services"   # Consulting is in one pool only
    frame = tbm_frame(evaluation, taxonomy, rules)
    perfective = frame[frame["activity"] == "Perfective"]
    assert set(perfective["sub_tower"]) == {"Licensing"}
    other = frame[frame["component"] == "other"]
    assert set(zip(other["cost_pool"], other["cost_sub_pool"], strict=True)) == {
        ("Software & SaaS", "SaaS")}
    offshore = frame[(frame["sourcing"] == "Offshore") & (frame["level"] == "L3")
                     & (frame["component"] == "labour")]
    assert set(offshore["cost_sub_pool"]) == {"Consulting"}
    # a tower alone keeps the shipped sub-tower of that tower where there is one
    assert set(offshore[offshore["activity"] == "Corrective"]["sub_tower"]) == {
        "Support & Operations"}
    # the override moves amounts between classes, never changes them
    for s in figures.scenarios:
        assert frame[frame["scenario"] == s.name]["amount"].sum() == pytest.approx(s.total)


def test_tbm_sheet_errors_are_located_with_a_did_you_mean():
    taxonomy = load_taxonomy("4.1")
    rules, findings = read_tbm_sheet(tbm_grid(
        ["Monitoring", None, None, None, None, None, "Delivry", "Operations Center"],
        [None, None, None, None, None, None, "Application", "Operations Center"],
        ["Monitorng", None, None, None, "Internal Labour", None, None, None],
        ["Adaptive", None, None, None, None, None, None, None],
    ), taxonomy)
    assert rules == []
    messages = {(f.location, f.severity): f.message for f in findings}
    assert messages[("TBM!G2", "error")] == (
        "'Delivry' is not a tower of TBM taxonomy 4.1: did you mean 'Delivery'?")
    assert messages[("TBM!H3", "error")].startswith(
        "'Operations Center' is not a sub-tower of Application of TBM taxonomy 4.1")
    assert "Activity must be one of" in messages[("TBM!A4", "error")]
    assert messages[("TBM!E4", "error")].endswith("did you mean 'Internal Labor'?")
    assert findings[-1].code == "no-effect" and findings[-1].location == "TBM!A5"


def test_a_plans_tbm_sheet_is_read_from_the_workbook(tmp_path):
    sheets = {name: rows for name, rows in SAMPLE_PLAN.items()}
    sheets["TBM"] = [["activity", "TOWER", "Sub-tower"],
                     ["Adaptive", "Platform", "Middleware"]]
    path = write_openpyxl(sheets, tmp_path / "plan.xlsx")
    rules, findings = read_tbm_file(path, load_taxonomy("4.1"))
    assert findings == []
    assert rules == [TbmRule("Adaptive", tower="Platform", sub_tower="Middleware",
                             location="TBM!A2")]
    assert read_tbm_file(tmp_path / "missing.xlsx", load_taxonomy("4.1"))[1][0].code == \
        "file-not-found"


def test_the_csv_is_written_atomically_with_the_usual_permissions(sample, tmp_path):
    _, evaluation, _ = sample
    target = tmp_path / "out.csv"
    target.write_text("old export\n")
    os.chmod(target, 0o640)
    frame = tbm_frame(evaluation, load_taxonomy("4.1"))
    write_tbm_csv(frame, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert len(read_csv(target)) == len(frame)

    class Boom(Exception):
        pass

    class Failing:  # fails after the header is written
        def __len__(self) -> int:
            return len(frame)

        def __getitem__(self, column):
            raise Boom

    with pytest.raises(Boom):
        write_tbm_csv(Failing(), target)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert len(read_csv(target)) == len(frame)


def test_a_one_year_plan_exports_its_quarters(tmp_path):
    from factories import tiny_plan

    from omplan.input.reader import parse_plan

    sheets = tiny_plan()
    for row in sheets["Staffing"][1:]:
        row[0] = 'ERP, "core"'  # a comma and quotes: the field is quoted
    plan, _ = parse_plan(grids(sheets), "tiny.xlsx")
    assert plan is not None
    path = export_tbm(evaluate(plan), tmp_path / "t.csv", taxonomy="5.0")
    assert b',"ERP, ""core""",' in path.read_bytes()
    rows = read_csv(path)
    assert {r["solution"] for r in rows} == {'ERP, "core"'}
    assert {r["fiscal_year"] for r in rows} == {"2027"}
    assert rows[0]["quarter"] == "Q1" and {r["quarter"] for r in rows} == {"Q1", "Q2", "Q3", "Q4"}
    assert math.fsum(float(r["amount"]) for r in rows) == 264000.0
    assert {(r["cost_pool"], r["cost_sub_pool"]) for r in rows} == {("Staffing", "Internal Labor")}
