"""Each rule of spec §3–§5 on small hand-computed plans; the arithmetic is in the comments."""

from __future__ import annotations

import math

import pytest
from factories import parse, tiny_plan, with_rows

from omplan.core.engine import evaluate
from omplan.core.summary import summary_json

STAFF_HEAD = ["System", "Role", "Sourcing", "Vendor", "Q1", "Q2", "Q3", "Q4"]
SCEN_HEAD = ["Scenario", "Role", "System", "Change", "Value"]


def run(sheets):
    plan, findings = parse(sheets)
    assert plan is not None, findings
    evaluation = evaluate(plan)
    return evaluation, summary_json(plan, findings, evaluation)


def scenario(summary, name="Baseline"):
    return next(s for s in summary["scenarios"] if s["name"] == name)


def codes(item):
    return [f["code"] for f in item["findings"]]


def staffing(*rows):
    sheets = tiny_plan()
    sheets["Staffing"] = [STAFF_HEAD, *map(list, rows)]
    return sheets


def test_labour_and_activity_split():
    # Ops: 1 FTE x 3 months x 10,000 = 30,000 a quarter, 100 % Monitoring.
    # Dev: 1 FTE x 3 x 12,000 = 36,000 a quarter, half Incident response, half Corrective.
    _, summary = run(tiny_plan())
    base = scenario(summary)
    assert base["by_activity"]["Monitoring"] == 120_000
    assert base["by_activity"]["Incident response"] == 72_000
    assert base["by_activity"]["Corrective"] == 72_000
    assert base["operation"] == 192_000 and base["maintenance"] == 72_000
    assert base["total"] == 264_000
    assert base["operation_share"] == pytest.approx(192 / 264)
    assert base["components"] == {"labour": 264_000, "vendor_management": 0, "coordination": 0,
                                  "transition": 0, "other": 0}
    assert base["by_sourcing"] == {"In-house": 264_000, "Outsource": 0, "Offshore": 0}
    assert [q["total"] for q in base["quarters"]] == [66_000] * 4


def test_vendor_management_and_default_vendor_name():
    # Ops outsourced at 12,000: L = 36,000 a quarter, V = 10 % = 3,600; blank Vendor cell
    # -> 'Outsource vendor'.
    ev, summary = run(staffing(["ERP", "Ops", "Outsource", None, 1, 1, 1, 1]))
    base = scenario(summary)
    assert base["components"]["labour"] == 144_000
    assert base["components"]["vendor_management"] == pytest.approx(14_400)
    assert base["by_sourcing"]["Outsource"] == 144_000
    assert set(ev.ledger["vendor"].astype(str)) == {"Outsource vendor"}


def test_pro_rata_role_follows_system_quarter_mix():
    # Lead (pro rata) 1 FTE at 15,000: 45,000 a quarter split by ERP's non-pro-rata labour
    # mix: Monitoring 30,000, Incident 18,000, Corrective 18,000 of 66,000.
    sheets = tiny_plan()
    sheets = with_rows(sheets, "Roles", ["Lead", "PMO"])
    sheets = with_rows(sheets, "Rates", ["Lead", "In-house", 15000])
    sheets = with_rows(sheets, "Allocation", ["Lead"])
    sheets = with_rows(sheets, "Staffing", ["ERP", "Lead", "In-house", None, 1, 1, 1, 1])
    ev, _ = run(sheets)
    lead = ev.ledger[(ev.ledger["role"] == "Lead") & (ev.ledger["quarter"] == "Q1")]
    got = lead.groupby("activity", observed=True)["amount"].sum()
    assert got["Monitoring"] == pytest.approx(45_000 * 30 / 66)
    assert got["Incident response"] == pytest.approx(45_000 * 18 / 66)
    assert got["Corrective"] == pytest.approx(45_000 * 18 / 66)
    assert lead["amount"].sum() == pytest.approx(45_000)


def test_pro_rata_falls_back_to_plan_mix_then_errors():
    # Lead alone on CRM: no direct labour there, so ERP's (the whole plan's) mix is used.
    sheets = tiny_plan()
    sheets = with_rows(sheets, "Roles", ["Lead", "PMO"])
    sheets = with_rows(sheets, "Rates", ["Lead", "In-house", 15000])
    sheets = with_rows(sheets, "Allocation", ["Lead"])
    fallback = with_rows(sheets, "Staffing", ["CRM", "Lead", "In-house", None, 1, 0, 0, 0])
    ev, _ = run(fallback)
    crm = ev.ledger[ev.ledger["system"] == "CRM"].groupby("activity", observed=True)["amount"]
    assert crm.sum()["Monitoring"] == pytest.approx(45_000 * 30 / 66)
    # Q1 has nothing but the pro-rata role: nothing to split by, an error.
    alone = staffing(["ERP", "Ops", "In-house", None, 0, 1, 1, 1])
    alone = with_rows(alone, "Roles", ["Lead", "PMO"])
    alone = with_rows(alone, "Rates", ["Lead", "In-house", 15000])
    alone = with_rows(alone, "Allocation", ["Lead"])
    alone = with_rows(alone, "Staffing", ["ERP", "Lead", "In-house", None, 1, 1, 1, 1])
    plan, findings = parse(alone)
    ev = evaluate(plan)
    assert [(f.code, f.location) for f in ev.errors] == [("pro-rata-impossible", "Allocation!A4")]
    assert "Q1" in ev.errors[0].message
    summary = summary_json(plan, findings, ev)
    assert summary["scenarios"] == [] and summary["errors"][0]["code"] == "pro-rata-impossible"


def test_other_costs_go_to_their_activity():
    sheets = with_rows(tiny_plan(), "Costs", ["ERP", "APM licence", "monitoring", 500, 0, 0, 700],
                       header=["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"])
    _, summary = run(sheets)
    base = scenario(summary)
    assert base["components"]["other"] == 1_200
    assert base["by_activity"]["Monitoring"] == 121_200
    assert base["quarters"][3]["total"] == 66_700


def test_coordination_of_a_split_contract():
    # Ops outsourced to Acme (operation only); Dev in-house does Incident response and
    # Corrective. Operation parties {Acme, In-house} != maintenance parties {In-house}: split.
    # C = 5 % x (L + V of external lines) = 0.05 x (36,000 + 3,600) = 1,980 a quarter, split by
    # the L+V mix: Monitoring 39,600, Incident 18,000, Corrective 18,000 (of 75,600).
    ev, summary = run(staffing(["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1],
                               ["ERP", "Dev", "In-house", None, 1, 1, 1, 1]))
    base = scenario(summary)
    assert base["components"]["coordination"] == pytest.approx(4 * 1_980)
    coord = ev.ledger[(ev.ledger["component"] == "coordination") & (ev.ledger["quarter"] == "Q2")]
    by_act = coord.groupby("activity", observed=True)["amount"].sum()
    assert by_act["Monitoring"] == pytest.approx(1_980 * 39_600 / 75_600)
    assert by_act["Corrective"] == pytest.approx(1_980 * 18_000 / 75_600)
    split = [f for f in base["findings"] if f["code"] == "split-contract"]
    assert len(split) == 1 and split[0]["location"] == "Staffing!A2"
    assert "Acme" in split[0]["message"] and "USD" not in split[0]["message"]  # plan is EUR


def test_one_party_doing_both_is_not_split():
    sheets = staffing(["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1],
                      ["ERP", "Dev", "Offshore", "Acme", 1, 1, 1, 1])
    ev, summary = run(sheets)
    assert "split-contract" not in codes(scenario(summary))
    assert scenario(summary)["components"]["coordination"] == 0


@pytest.fixture
def offshore_dev():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Offshore dev", "Dev", "*", "sourcing",
                                                  "Offshore"], header=SCEN_HEAD)
    return sheets


def test_transition_and_scenario_sourcing(offshore_dev):
    # Dev moves to Offshore (6,000): L = 18,000 a quarter, V = 1,800, T once in Q1 =
    # 2 months x 6,000 x 1 FTE = 12,000 (half Incident, half Corrective). Operation parties
    # {In-house, Offshore vendor} != maintenance {Offshore vendor}: C = 5 % x 19,800 = 990.
    _, summary = run(offshore_dev)
    off = scenario(summary, "Offshore dev")
    assert off["components"] == pytest.approx({"labour": 120_000 + 72_000,
                                               "vendor_management": 7_200,
                                               "coordination": 4 * 990, "transition": 12_000,
                                               "other": 0})
    assert off["total"] == pytest.approx(215_160)
    assert off["quarters"][0]["total"] == pytest.approx(30_000 + 18_000 + 1_800 + 990 + 12_000)
    assert scenario(summary)["components"]["transition"] == 0  # Baseline has none


def test_transition_booked_in_first_staffed_quarter_with_its_fte(offshore_dev):
    offshore_dev["Staffing"][2] = ["ERP", "Dev", "In-house", None, 0, 2, 2, 2]
    ev, _ = run(offshore_dev)
    t = ev.ledger[ev.ledger["component"] == "transition"]
    assert set(t["quarter"].astype(str)) == {"Q2"}
    assert t["amount"].sum() == pytest.approx(2 * 6_000 * 2)


def test_vendor_change_alone_costs_transition_and_factors_multiply():
    sheets = staffing(["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1])
    sheets = with_rows(sheets, "Scenarios", ["Switch", "Ops", "ERP", "vendor", "Beta"],
                       ["Switch", "*", "*", "rate_factor", 1.5],
                       ["Switch", "Ops", "*", "rate factor", 2],
                       ["Switch", "*", "ERP", "FTE_factor", 0.5], header=SCEN_HEAD)
    ev, summary = run(sheets)
    sw = scenario(summary, "Switch")
    # L = 0.5 FTE x 3 x 12,000 x 1.5 x 2 = 54,000 a quarter; T = 2 x 12,000 x 3 x 0.5 = 36,000
    assert sw["components"]["labour"] == pytest.approx(4 * 54_000)
    assert sw["components"]["transition"] == pytest.approx(36_000)
    assert set(ev.ledger.loc[ev.ledger["scenario"] == "Switch", "vendor"].astype(str)) == {"Beta"}


def test_scenario_rows_apply_in_order_and_report_in_first_appearance_order():
    sheets = with_rows(tiny_plan(), "Scenarios",
                       ["B", "*", "*", "sourcing", "Outsource"],
                       ["A", "*", "*", "fte_factor", 0],
                       ["B", "*", "*", "sourcing", "In house"], header=SCEN_HEAD)
    _, summary = run(sheets)
    assert [s["name"] for s in summary["scenarios"]] == ["Baseline", "B", "A"]
    # B: out and back in -> same as Baseline, no transition
    assert scenario(summary, "B")["total"] == scenario(summary)["total"]
    # A: fte_factor 0 removes all labour
    assert scenario(summary, "A")["total"] == 0
    assert scenario(summary, "A")["band_status"] == "no-cost"
    assert scenario(summary, "A")["operation_share"] is None


def test_band_boundaries_are_inclusive_and_empty_quarter_is_no_cost():
    # Ops 1 FTE x 3 x 1,000 = 3,000 operation; costs 2,000 Corrective -> share 0.6 exactly.
    sheets = staffing(["ERP", "Ops", "In-house", None, 1, 1, 1, 0])
    sheets["Rates"][1] = ["Ops", "In-house", 1000]
    sheets = with_rows(sheets, "Costs", ["ERP", "Fixes", "Corrective", 2000, 2000, 2000, 0],
                       header=["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"])
    _, summary = run(sheets)
    base = scenario(summary)
    assert base["operation_share"] == 0.6 and base["band_status"] == "within"
    assert base["quarters"][3] == {"fiscal_year": 2027, "quarter": "Q4", "fte": 0.0,
                                   "total": 0.0, "operation": 0.0, "maintenance": 0.0,
                                   "operation_share": None, "band_status": "no-cost"}
    assert "out-of-band" not in codes(base)


def test_out_of_band_status():
    _, summary = run(tiny_plan())  # operation 72.7 %
    base = scenario(summary)
    assert base["band_status"] == "operation-heavy"
    assert "out-of-band" in codes(base)
    sheets = tiny_plan()
    sheets["Allocation"][1] = ["Ops", None, None, None, None, None, 1, None, None]
    _, summary = run(sheets)  # operation = Dev's 72,000 of 264,000 = 27 %
    assert scenario(summary)["band_status"] == "maintenance-heavy"


def test_billing_boundary_over_external_labour():
    # Ops outsourced: 36,000 a quarter Monitoring (Fixed fee by default); Dev offshore;
    # Corrective is set to Separate estimate on the Billing sheet.
    sheets = staffing(["ERP", "Ops", "Outsource", "Acme", 1, 1, 1, 1],
                      ["ERP", "Dev", "Offshore", "Far", 1, 1, 1, 1])
    sheets = with_rows(sheets, "Billing", ["Corrective", "separate estimate"],
                       header=["Activity", "Basis"])
    _, summary = run(sheets)
    # Dev offshore L = 18,000 a quarter: 9,000 Incident (fixed) + 9,000 Corrective (separate)
    assert scenario(summary)["billing"] == {"fixed_fee": 4 * (36_000 + 9_000),
                                            "separate_estimate": 4 * 9_000}


@pytest.mark.parametrize(("applies", "target"), [
    ([], 0.50),
    (["Revenue critical", "Runs 24x7"], 0.55),
    (["Legacy technical debt"], 0.475),
    (["Revenue critical", "Runs 24x7", "High user volume", "Just after major release"], 0.60),
])
def test_target_share(applies, target):
    sheets = with_rows(tiny_plan(), "Profile", *[[f, "yes"] for f in applies],
                       ["Performance degrading", "no"], header=["Factor", "Applies"])
    _, summary = run(sheets)
    assert summary["target_operation_share"] == pytest.approx(target)


def test_target_is_clamped_to_band():
    sheets = with_rows(tiny_plan(), "Profile", ["Revenue critical", "x"], ["Runs 24x7", True],
                       ["High user volume", 1], header=["Factor", "Applies"])
    sheets = with_rows(sheets, "Settings", ["band_high", 0.55])
    _, summary = run(sheets)
    assert summary["target_operation_share"] == 0.55  # 0.575 clamped


def test_advisories_pmo_sla_l3():
    sheets = tiny_plan()
    sheets = with_rows(sheets, "Roles", ["Owner", "PMO"])
    sheets = with_rows(sheets, "Rates", ["Owner", "Outsource", 20000])
    sheets = with_rows(sheets, "Allocation", ["Owner", 0.5, None, None, None, None, 0.5])
    sheets = with_rows(sheets, "Staffing", ["ERP", "Owner", "Outsource", "Acme", 0, 0, 0.5, 0.5])
    sheets = with_rows(sheets, "Contracts", ["acme", 4, None],
                       header=["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"])
    _, summary = run(sheets)
    found = {f["code"]: f for f in scenario(summary)["findings"]}
    assert found["pmo-outsourced"]["location"] == "Staffing!A4"
    assert found["sla-undefined"]["location"] == "Contracts!A2"
    assert "permanent fix" in found["sla-undefined"]["message"]
    assert "emergency" not in found["sla-undefined"]["message"]
    assert found["l3-offshore-candidate"]["severity"] == "info"
    assert found["l3-offshore-candidate"]["location"] == "Staffing!A3"


def test_zero_baseline_is_an_error():
    plan, findings = parse(staffing(["ERP", "Ops", "In-house", None, 0, 0, 0, 0]))
    ev = evaluate(plan)
    assert [f.code for f in ev.errors] == ["zero-total"]


def test_missing_rate_in_a_scenario_is_located_at_the_scenario_row():
    sheets = with_rows(tiny_plan(), "Scenarios", ["Cheap", "Ops", "*", "sourcing", "Offshore"],
                       header=SCEN_HEAD)
    plan, findings = parse(sheets)
    ev = evaluate(plan)
    assert [(f.code, f.location) for f in ev.errors] == [("missing-rate", "Scenarios!A2")]
    assert "Offshore" in ev.errors[0].message and "Ops" in ev.errors[0].message


def test_json_follows_spec_section_6():
    _, summary = run(tiny_plan())
    assert list(summary) == ["plan", "currency", "fiscal_year", "band",
                             "target_operation_share", "horizon", "discount_rate",
                             "recommended", "errors", "scenarios", "actuals"]
    assert summary["actuals"] is None  # no actual spend in the plan
    assert summary["horizon"] == {"first_fiscal_year": 2027, "years": 1}
    assert summary["discount_rate"] == 0.08
    base = summary["scenarios"][0]
    assert list(base) == ["name", "total", "operation", "maintenance", "operation_share",
                          "band_status", "components", "by_sourcing", "by_activity", "billing",
                          "quarters", "findings", "npv_cost", "years", "business_case",
                          "not_recommended"]
    assert base["business_case"] is None  # Baseline has none
    assert list(base["years"][0]) == ["fiscal_year", "total", "operation", "maintenance",
                                      "operation_share", "band_status", "fte", "components"]
    assert base["years"][0]["total"] == base["total"]
    assert base["years"][0]["fte"] == 2.0  # Ops 1 + Dev 1 in every quarter
    assert [q["fte"] for q in base["quarters"]] == [2.0, 2.0, 2.0, 2.0]
    assert list(base["components"]) == ["labour", "vendor_management", "coordination",
                                        "transition", "other"]
    assert list(base["by_activity"])[:2] == ["Monitoring", "Incident response"]
    assert [q["quarter"] for q in base["quarters"]] == ["Q1", "Q2", "Q3", "Q4"]
    assert math.isclose(sum(base["components"].values()), base["total"])
    assert summary["plan"] == "Tiny" and summary["currency"] == "EUR"


def test_a_share_a_rounding_error_off_an_edge_is_on_it():
    """0.1 + 0.2 + 0.1 of 1.0 is 0.4 in exact arithmetic but 0.4000000000000001 in floats; a
    share of 0.39999999999999997 is 400 / 1,000 added up in another order: both are on the
    lower edge, so within. A real difference (0.3999) is not."""
    from omplan.core.ledger import band_status

    assert band_status(0.1 + 0.2 + 0.1, 1.0, 0.4, 0.6)[1] == "within"
    assert band_status(0.39999999999999997, 1.0, 0.4, 0.6)[1] == "within"
    assert band_status(0.6000000000000001, 1.0, 0.4, 0.6)[1] == "within"
    assert band_status(0.3999, 1.0, 0.4, 0.6)[1] == "maintenance-heavy"
    assert band_status(0.6001, 1.0, 0.4, 0.6)[1] == "operation-heavy"


def test_finding_json_form_has_every_field_in_order():
    from dataclasses import asdict, fields

    from omplan.core.findings import Finding

    f = Finding("warning", "pmo-outsourced", "a message", "Staffing!C7")
    assert f.as_dict() == asdict(f)
    assert list(f.as_dict()) == [x.name for x in fields(Finding)]
