"""The engine over a multi-year horizon: escalation, FX per year, timed scenario rows (From),
their transitions, the business case and the per-year advisories — each worked by hand.

Plans are built from the tiny plan of ``factories`` and completed with ``dataclasses.replace``
(horizon, escalation, FX, currencies, From), so these tests do not depend on the reader.

The tiny plan (one system, ERP): Ops (L2, 100 % Monitoring) 1 FTE In-house at 10,000 a month
= 30,000 a quarter; Dev (L3, 50 % Incident response, 50 % Corrective) 1 FTE In-house at 12,000
= 36,000 a quarter; other rates: Ops Outsource 12,000, Dev Offshore 6,000. Vendor overhead
10 %, coordination 5 %, transition 2 months; the Q1–Q4 FTE repeat in every year.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import ACTS, parse, tiny_plan, with_rows

from omplan.core.engine import evaluate
from omplan.core.ledger import Evaluation
from omplan.core.model import OTHER_COSTS, CostLine, Escalation, FxRate, Plan
from omplan.core.summary import summary_json

SCEN_HEAD = ["Scenario", "Role", "System", "Change", "Value"]
LABELS_2Y = [f"FY{y} Q{q}" for y in (2027, 2028) for q in (1, 2, 3, 4)]


def plan_over(years: int, *scenario_rows: list, sheets=None, **settings) -> Plan:
    """The tiny plan (or ``sheets``) over ``years`` fiscal years from FY2027."""
    sheets = sheets or tiny_plan()
    if scenario_rows:
        sheets = with_rows(sheets, "Scenarios", *scenario_rows, header=SCEN_HEAD)
    plan, findings = parse(sheets)
    assert plan is not None, findings
    plan.settings = replace(plan.settings, horizon_years=years, **settings)
    return plan


def timed(plan: Plan, *starts: int) -> Plan:
    """The plan with its Scenarios rows applying from period ``starts[i]`` (row i)."""
    plan.scenario_changes = [replace(c, start=k) for c, k in
                             zip(plan.scenario_changes, starts, strict=True)]
    return plan


def offshore_dev_rate(plan: Plan, **fields) -> None:
    """Change the (Dev, Offshore) Rates row, located at Rates!A5 (its Currency cell D5)."""
    rate = plan.rates[("Dev", "Offshore")]
    plan.rates[("Dev", "Offshore")] = replace(rate, location="Rates!A5",
                                              currency_location="Rates!D5", **fields)


def run(plan: Plan) -> tuple[Evaluation, dict]:
    evaluation = evaluate(plan)
    assert evaluation.ok, evaluation.errors
    return evaluation, summary_json(plan, [], evaluation)


def scenario(summary: dict, name: str = "Baseline") -> dict:
    return next(s for s in summary["scenarios"] if s["name"] == name)


def quarter_totals(summary: dict, name: str = "Baseline") -> list[float]:
    return [q["total"] for q in scenario(summary, name)["quarters"]]


def ledger_by_quarter(evaluation: Evaluation, **where: str) -> list[float]:
    led = evaluation.ledger
    for column, value in where.items():
        led = led[led[column] == value]
    return led.groupby("quarter", observed=False)["amount"].sum().tolist()


def test_ledger_periods_are_labelled_by_fiscal_year_and_carry_fte():
    """Two years: periods FY2027 Q1 … FY2028 Q4. Dev's 1 FTE is split 50/50, so its labour
    rows carry 0.5 FTE each; Ops' row 1 FTE; per quarter 2 FTE in all, 0 on other rows."""
    evaluation, summary = run(plan_over(2))
    led = evaluation.ledger
    assert list(led["quarter"].cat.categories) == LABELS_2Y
    assert list(led.columns[-2:]) == ["amount", "fte"]
    dev = led[(led["role"] == "Dev") & (led["quarter"] == "FY2028 Q3")]
    assert sorted(dev["fte"]) == [0.5, 0.5]
    assert led.groupby("quarter", observed=False)["fte"].sum().tolist() == [2.0] * 8
    base = scenario(summary)
    assert [(q["fiscal_year"], q["quarter"], q["fte"]) for q in base["quarters"]] == [
        (y, f"Q{q}", 2.0) for y in (2027, 2028) for q in (1, 2, 3, 4)]
    # 66,000 a quarter: 264,000 a year, 528,000 over the horizon
    assert base["total"] == 528_000
    assert [(y["fiscal_year"], y["total"], y["fte"]) for y in base["years"]] == [
        (2027, 264_000, 2.0), (2028, 264_000, 2.0)]
    assert summary["horizon"] == {"first_fiscal_year": 2027, "years": 2}


def test_one_year_keeps_q1_to_q4():
    evaluation, _ = run(plan_over(1))
    assert list(evaluation.ledger["quarter"].cat.categories) == ["Q1", "Q2", "Q3", "Q4"]


def test_staffing_values_per_period_over_the_horizon():
    """A Staffing line may hold one FTE per period (8 values for two years): Dev has 2 FTE in
    FY2028, so its labour is 2 × 3 × 12,000 = 72,000 a quarter there."""
    plan = plan_over(2)
    dev = plan.staffing[1]
    plan.staffing[1] = replace(dev, fte=(1, 1, 1, 1, 2, 2, 2, 2))
    evaluation, summary = run(plan)
    assert ledger_by_quarter(evaluation, role="Dev") == [36_000] * 4 + [72_000] * 4
    assert [y["fte"] for y in scenario(summary)["years"]] == [2.0, 3.0]


def test_escalation_by_sourcing_vendor_and_other_costs():
    """Three years, Dev Offshore at 6,000 and a 1,000-a-quarter tool on Monitoring.
    Escalation: 3 % on Offshore, 2 % on other costs, nothing on In-house.
    Dev labour per quarter: 1 FTE × 3 × 6,000 × 1.03^y = 18,000, 18,540, 19,096.20.
    Ops stays 30,000. Tool: 1,000 × 1.02^y = 1,000, 1,020, 1,040.40.
    Vendor management 10 % of Dev: 1,800, 1,854, 1,909.62. Coordination (In-house and the
    Offshore vendor share operation, the vendor alone does maintenance): 5 % × (L + V) of
    Dev = 990, 1,019.70, 1,050.291."""
    sheets = tiny_plan()
    sheets["Staffing"][2][2] = "Offshore"
    sheets = with_rows(sheets, "Costs", ["ERP", "Tool", "Monitoring", 1000, 1000, 1000, 1000],
                       header=["System", "Item", "Activity", "Q1", "Q2", "Q3", "Q4"])
    plan = plan_over(3, sheets=sheets)
    plan.escalation = [Escalation("Offshore", "", 0.03), Escalation(OTHER_COSTS, "", 0.02)]
    evaluation, summary = run(plan)
    dev = ledger_by_quarter(evaluation, role="Dev", component="labour")
    assert dev == pytest.approx([18_000] * 4 + [18_540] * 4 + [19_096.2] * 4, rel=1e-12)
    assert ledger_by_quarter(evaluation, role="Ops") == [30_000] * 12
    tool = ledger_by_quarter(evaluation, component="other")
    assert tool == pytest.approx([1_000] * 4 + [1_020] * 4 + [1_040.4] * 4, rel=1e-12)
    years = scenario(summary)["years"]
    assert [y["components"]["labour"] for y in years] == pytest.approx(
        [4 * 48_000, 4 * 48_540, 4 * 49_096.2], rel=1e-12)
    assert [y["components"]["vendor_management"] for y in years] == pytest.approx(
        [4 * 1_800, 4 * 1_854, 4 * 1_909.62], rel=1e-12)
    assert [y["components"]["coordination"] for y in years] == pytest.approx(
        [4 * 990, 4 * 1_019.7, 4 * 1_050.291], rel=1e-12)
    # FY2029 quarter: 30,000 + 19,096.20 + 1,909.62 + 1,050.291 + 1,040.40 = 53,096.511
    assert quarter_totals(summary)[-1] == pytest.approx(53_096.511, rel=1e-12)


def test_a_vendors_own_escalation_row_wins_over_the_sourcing_row():
    """Ops outsourced to Acme in Baseline, two years: Outsource 3 %, but Acme 5 %.
    Ops labour in FY2028: 1 × 3 × 12,000 × 1.05 = 37,800 (not 37,080)."""
    sheets = tiny_plan()
    sheets["Staffing"][1][2:4] = ["Outsource", "Acme"]
    plan = plan_over(2, sheets=sheets)
    plan.escalation = [Escalation("Outsource", "", 0.03), Escalation("Outsource", "Acme", 0.05)]
    evaluation, _ = run(plan)
    assert ledger_by_quarter(evaluation, role="Ops", component="labour") == pytest.approx(
        [36_000] * 4 + [37_800] * 4, rel=1e-12)


def test_fx_per_fiscal_year_with_an_all_years_fallback():
    """Dev Offshore costs INR 500,000 a month. FX: INR FY2027 0.012, FY2028 0.011, and an
    all-years row 0.010 that applies to FY2029. Dev labour per quarter (1 FTE × 3 months):
    FY2027 1,500,000 × 0.012 = 18,000; FY2028 × 0.011 = 16,500; FY2029 × 0.010 = 15,000.
    With 3 % Offshore escalation, FX applies after it: FY2028 1,545,000 × 0.011 = 16,995."""
    sheets = tiny_plan()
    sheets["Staffing"][2][2] = "Offshore"
    plan = plan_over(3, sheets=sheets)
    offshore_dev_rate(plan, monthly_cost=500_000, currency="INR")
    plan.fx = [FxRate("INR", 2027, 0.012), FxRate("INR", None, 0.010),
               FxRate("INR", 2028, 0.011)]
    evaluation, _ = run(plan)
    dev = ledger_by_quarter(evaluation, role="Dev", component="labour")
    assert dev == pytest.approx([18_000] * 4 + [16_500] * 4 + [15_000] * 4, rel=1e-12)
    plan.escalation = [Escalation("Offshore", "", 0.03)]
    evaluation, _ = run(plan)
    dev = ledger_by_quarter(evaluation, role="Dev", component="labour")
    assert dev[4] == pytest.approx(16_995, rel=1e-12)
    assert dev[8] == pytest.approx(1_500_000 * 1.03 ** 2 * 0.010, rel=1e-12)  # 15,913.50


def test_costs_in_a_foreign_currency_convert_per_year():
    """A licence of EUR 1,000 a quarter on Perfective; FX EUR 1.10 in FY2027, 1.20 in FY2028:
    1,100 then 1,200 a quarter in the plan's currency (USD here)."""
    sheets = tiny_plan()
    sheets["Settings"][3][1] = "USD"
    plan = plan_over(2, sheets=sheets)
    plan.costs = [CostLine("ERP", "Licence", "Perfective", (1000,) * 4, "Costs!A2", "EUR",
                           "Costs!H2")]
    plan.fx = [FxRate("EUR", 2027, 1.10), FxRate("EUR", 2028, 1.20)]
    evaluation, _ = run(plan)
    assert ledger_by_quarter(evaluation, component="other") == pytest.approx(
        [1_100] * 4 + [1_200] * 4, rel=1e-12)


def test_missing_fx_rate_is_an_error_at_the_rates_currency_cell():
    """Dev Offshore in INR with an FX rate for FY2027 only, three years: the rate is needed
    (1 FTE) in FY2028 and FY2029 — one error, at the Currency cell of that Rates row."""
    sheets = tiny_plan()
    sheets["Staffing"][2][2] = "Offshore"
    plan = plan_over(3, sheets=sheets)
    offshore_dev_rate(plan, monthly_cost=500_000, currency="INR")
    plan.fx = [FxRate("INR", 2027, 0.012)]
    evaluation = evaluate(plan)
    assert [(f.severity, f.code, f.location) for f in evaluation.errors] == [
        ("error", "missing-fx-rate", "Rates!D5")]
    message = evaluation.errors[0].message
    assert "INR" in message and "FY2028, FY2029" in message and "FY2027" not in message
    summary = summary_json(plan, [], evaluation)
    assert summary["scenarios"] == [] and summary["errors"][0]["code"] == "missing-fx-rate"


def test_fx_rate_needed_only_where_there_is_staff_or_cost():
    """The INR rate of Dev Offshore is not needed while nobody is offshore; a scenario that
    moves Dev offshore from FY2028 Q1 needs it in FY2028 only (two years): one error. A Costs
    row in GBP with nothing in FY2028 needs no FY2028 rate (the plan's currency is EUR)."""
    plan = timed(plan_over(2, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"]), 4)
    offshore_dev_rate(plan, monthly_cost=500_000, currency="INR")
    plan.costs = [CostLine("ERP", "Licence", "Perfective", (500,) * 4 + (0,) * 4, "Costs!A2",
                           "GBP", "Costs!H2")]
    plan.fx = [FxRate("INR", 2027, 0.012), FxRate("GBP", 2027, 1.2)]
    errors = evaluate(plan).errors
    assert [(f.code, f.location) for f in errors] == [("missing-fx-rate", "Rates!D5")]
    assert "FY2028" in errors[0].message and "FY2027" not in errors[0].message
    plan.fx.append(FxRate("INR", 2028, 0.011))
    # FY2028 Q1: 1 × 3 × 500,000 × 0.011 = 16,500 offshore labour
    evaluation, _ = run(plan)
    assert ledger_by_quarter(evaluation, scenario="Offshore dev", role="Dev",
                             component="labour") == pytest.approx([36_000] * 4 + [16_500] * 4)


def test_missing_fx_rate_of_a_cost_is_located_at_its_currency_cell():
    """A GBP licence in a EUR plan without any GBP rate: one error for both years, at the
    Costs row's Currency cell; a cost in EUR (the plan's own currency) needs none."""
    plan = plan_over(2)
    plan.costs = [CostLine("ERP", "Licence", "Perfective", (1000,) * 4, "Costs!A2", "GBP",
                           "Costs!H2"),
                  CostLine("ERP", "Tool", "Monitoring", (100,) * 4, "Costs!A3", "EUR",
                           "Costs!H3")]
    errors = evaluate(plan).errors
    assert [(f.code, f.location) for f in errors] == [("missing-fx-rate", "Costs!H2")]
    assert "GBP" in errors[0].message and "FY2027, FY2028" in errors[0].message


def test_a_change_from_fy2_q3_with_its_transition_booked_there():
    """Dev goes offshore From FY2028 Q3 (period 6 of 12). Before: 66,000 a quarter. In FY2028
    Q3: Ops 30,000 + Dev 18,000 + vendor management 1,800 + coordination 5 % × 19,800 = 990
    + transition 2 months × 6,000 × 1 FTE = 12,000 → 62,790; after: 50,790."""
    plan = timed(plan_over(3, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"]), 6)
    evaluation, summary = run(plan)
    assert quarter_totals(summary, "Offshore dev") == pytest.approx(
        [66_000] * 6 + [62_790] + [50_790] * 5)
    transition = evaluation.ledger[evaluation.ledger["component"] == "transition"]
    assert set(transition["quarter"]) == {"FY2028 Q3"}
    assert transition["amount"].sum() == pytest.approx(12_000)
    off = scenario(summary, "Offshore dev")
    assert off["components"]["transition"] == pytest.approx(12_000)
    assert [y["components"]["transition"] for y in off["years"]] == pytest.approx(
        [0, 12_000, 0])
    # the split contract only from FY2028 Q3 on, named as a run of quarters
    split = [f["message"] for f in off["findings"] if f["code"] == "split-contract"]
    assert len(split) == 1 and "in FY2028 Q3–FY2029 Q4:" in split[0]


def test_a_change_back_costs_a_second_transition():
    """Dev offshore From FY2027 Q3 (period 2), back in-house From FY2029 Q1 (period 8).
    Period 2: 50,790 + transition 2 × 6,000 × 1 = 12,000 → 62,790; periods 3–7: 50,790;
    period 8: 66,000 + transition back 2 × 12,000 × 1 = 24,000 → 90,000; then 66,000."""
    plan = timed(plan_over(3, ["Round trip", "Dev", "*", "sourcing", "Offshore"],
                              ["Round trip", "Dev", "*", "sourcing", "In-house"]), 2, 8)
    evaluation, summary = run(plan)
    assert quarter_totals(summary, "Round trip") == pytest.approx(
        [66_000] * 2 + [62_790] + [50_790] * 5 + [90_000] + [66_000] * 3)
    case = scenario(summary, "Round trip")["business_case"]
    assert case["one_off"] == pytest.approx(36_000)


def test_transition_waits_for_the_first_staffed_quarter_before_the_next_change():
    """Dev has no FTE in FY2027 Q3 and Q4 (periods 2, 3) and 2 FTE from FY2028 on; it goes
    offshore From period 2: the transition is booked in period 4 with that quarter's FTE:
    2 months × 6,000 × 2 FTE = 24,000. A second scenario moves it offshore From period 2 and
    back From period 3, before anyone was staffed offshore: no transition for the first
    change; the change back is booked in period 4 at the in-house rate: 2 × 12,000 × 2."""
    plan = plan_over(2, ["Later", "Dev", "*", "sourcing", "Offshore"],
                        ["Back", "Dev", "*", "sourcing", "Offshore"],
                        ["Back", "Dev", "*", "sourcing", "In-house"])
    plan = timed(plan, 2, 2, 3)
    plan.staffing[1] = replace(plan.staffing[1], fte=(1, 1, 0, 0, 2, 2, 2, 2))
    evaluation, _ = run(plan)
    for name, expected in (("Later", 24_000), ("Back", 48_000)):
        trans = ledger_by_quarter(evaluation, scenario=name, component="transition")
        assert trans == pytest.approx([0, 0, 0, 0, expected, 0, 0, 0]), name


def test_payback_at_an_exact_quarter():
    """Dev offshore from the start, two years, transition_months 5.07: the one-off is
    5.07 × 6,000 = 30,420. Quarterly savings against 66,000: 66,000 − (50,790 + 30,420) =
    −15,210 in FY2027 Q1, then +15,210. Cumulative: −15,210, 0 (to within half a cent), …:
    payback when it reaches 0, in FY2027 Q2 — 6 months."""
    plan = plan_over(2, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"],
                        transition_months=5.07)
    _, summary = run(plan)
    case = scenario(summary, "Offshore dev")["business_case"]
    assert case["payback_months"] == 6
    assert case["payback_quarter"] == {"fiscal_year": 2027, "quarter": "Q2"}
    assert case["one_off"] == pytest.approx(30_420)
    # savings 7 × 15,210 − 15,210 = 91,260; run rate FY2028: 4 × 15,210 = 60,840
    assert case["savings"] == pytest.approx(91_260)
    assert case["run_rate_savings"] == pytest.approx(60_840)


def test_bridge_uses_escalated_rates_and_adds_up_to_the_difference():
    """Two years, 3 % escalation on Offshore; Dev goes offshore From FY2028 Q1 (period 4).
    rate part: 4 quarters × 1 FTE × 3 × (6,180 − 12,000) = −69,840 (6,000 × 1.03 = 6,180);
    fte part 0; vendor management 4 × 10 % × 18,540 = 7,416; coordination 4 × 5 % ×
    (18,540 + 1,854) = 4,078.80; transition 2 × 6,180 × 1 = 12,360; other 0.
    Sum −45,985.20 = scenario − Baseline: 4 × (51,413.70 − 66,000) + 12,360."""
    plan = timed(plan_over(2, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"]), 4)
    plan.escalation = [Escalation("Offshore", "", 0.03)]
    _, summary = run(plan)
    base, off = scenario(summary), scenario(summary, "Offshore dev")
    bridge = off["business_case"]["bridge"]
    assert bridge == pytest.approx({"fte": 0.0, "rate": -69_840.0, "vendor_management": 7_416.0,
                                    "coordination": 4_078.8, "transition": 12_360.0,
                                    "other": 0.0})
    assert sum(bridge.values()) == pytest.approx(off["total"] - base["total"], rel=1e-12)
    assert off["total"] - base["total"] == pytest.approx(-45_985.2)


def test_bridge_fte_part_where_a_line_is_cut():
    """fte_factor 0.5 on Dev From FY2028 Q1, two years: fte part over FY2028 =
    4 × (0.5 − 1) × 3 × 12,000 = −72,000; no rate part; the bridge is the whole difference."""
    plan = timed(plan_over(2, ["Half dev", "Dev", "*", "fte_factor", 0.5]), 4)
    _, summary = run(plan)
    half = scenario(summary, "Half dev")
    assert half["business_case"]["bridge"]["fte"] == pytest.approx(-72_000)
    assert half["business_case"]["bridge"]["rate"] == pytest.approx(0, abs=1e-9)
    assert half["total"] - scenario(summary)["total"] == pytest.approx(-72_000)
    assert [y["fte"] for y in half["years"]] == [2.0, 1.5]


def _balanced_plan() -> dict:
    """The tiny plan with Dev 100 % Corrective: operation 30,000 of 66,000 = 45.5 % a
    quarter, within the 40–60 % band."""
    sheets = tiny_plan()
    sheets["Allocation"][2] = ["Dev", None, None, None, None, 1, None, None, None]
    assert sheets["Allocation"][0][1:] == ACTS
    return sheets


def test_out_of_band_once_per_fiscal_year_naming_the_year():
    """Dev cut to 20 % From FY2028 Q1, three years: FY2027 stays at 45.5 %; FY2028 and FY2029
    have operation 30,000 of 30,000 + 7,200 = 80.6 % a quarter — out of band in each, so two
    findings naming their year, and the scenario is not recommended."""
    plan = timed(plan_over(3, ["Cut dev", "Dev", "*", "fte_factor", 0.2],
                              sheets=_balanced_plan()), 4)
    _, summary = run(plan)
    cut = scenario(summary, "Cut dev")
    messages = [f["message"] for f in cut["findings"] if f["code"] == "out-of-band"]
    assert messages == [
        f"in FY{y} operation is 80.6% of the total (operation-heavy); the reference band is "
        "40%–60% for each of operation and maintenance" for y in (2028, 2029)]
    assert [y["band_status"] for y in cut["years"]] == ["within", "operation-heavy",
                                                         "operation-heavy"]
    assert "out-of-band" not in [f["code"] for f in scenario(summary)["findings"]]
    assert cut["not_recommended"] == "out of band in FY2028, FY2029"
    assert summary["recommended"] == "Baseline"


def test_one_year_out_of_band_message_is_unchanged():
    """The tiny plan: operation 192,000 of 264,000 = 72.7 %, as the one-year message says."""
    _, summary = run(plan_over(1))
    assert [f["message"] for f in scenario(summary)["findings"]
            if f["code"] == "out-of-band"] == [
        "operation is 72.7% of the total (operation-heavy); the reference band is 40%–60% for "
        "each of operation and maintenance"]


def test_recommendation_tie_goes_to_the_earlier_scenario():
    """Two identical scenarios (Dev's rate × 0.9, two years: Dev 32,400 a quarter instead of
    36,000) have the same NPV of cost, below Baseline's, and are within the band (30,000 of
    62,400 = 48 %). The earlier one is recommended."""
    plan = plan_over(2, ["Cheaper A", "Dev", "*", "rate_factor", 0.9],
                        ["Cheaper B", "Dev", "*", "rate_factor", 0.9], sheets=_balanced_plan())
    _, summary = run(plan)
    a, b = scenario(summary, "Cheaper A"), scenario(summary, "Cheaper B")
    assert a["npv_cost"] == b["npv_cost"] < scenario(summary)["npv_cost"]
    assert summary["recommended"] == "Cheaper A"
    assert b["not_recommended"] == "ties with Cheaper A, which comes first"
    # Baseline costs 3,600 a quarter more: NPV of 3,600 at the end of 8 quarters at 8 %
    more = sum(3_600 / 1.08 ** ((k + 1) / 4) for k in range(8))
    assert scenario(summary)["not_recommended"] == (
        f"costs EUR {more:,.0f} more in NPV than Cheaper A")


def test_npv_and_run_rate_over_the_horizon():
    """Dev offshore from the start, two years (no escalation): savings 3,210 in FY2027 Q1,
    15,210 after. npv_cost of Baseline = Σ 66,000 / 1.08^((k+1)/4) over 8 quarters; run rate
    over FY2028 = 4 × 15,210 = 60,840."""
    plan = plan_over(2, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"])
    _, summary = run(plan)
    base, off = scenario(summary), scenario(summary, "Offshore dev")
    assert base["npv_cost"] == pytest.approx(
        sum(66_000 / 1.08 ** ((k + 1) / 4) for k in range(8)), rel=1e-12)
    case = off["business_case"]
    assert case["run_rate_savings"] == pytest.approx(60_840)
    assert case["savings"] == pytest.approx(3_210 + 7 * 15_210)
    assert case["npv_savings"] == pytest.approx(
        3_210 / 1.08 ** 0.25 + sum(15_210 / 1.08 ** ((k + 1) / 4) for k in range(1, 8)))
    assert base["business_case"] is None


def test_pmo_outsourced_from_a_quarter_names_it():
    """A PMO role moved to Outsource From FY2028 Q2 (period 5) is flagged once, naming when;
    one outsourced From FY2027 Q3 and back From FY2028 Q1 says until when, too."""
    sheets = tiny_plan()
    sheets["Roles"].append(["Owner", "PMO"])
    sheets["Rates"] += [["Owner", "In-house", 15000], ["Owner", "Outsource", 16000]]
    sheets["Allocation"].append(["Owner", None, None, 0.5, None, None, 0.5, None, None])
    sheets["Staffing"].append(["ERP", "Owner", "In-house", None, 0.5, 0.5, 0.5, 0.5])
    plan = timed(plan_over(2, ["Owner out", "Owner", "*", "sourcing", "Outsource"],
                              ["Owner trial", "Owner", "*", "sourcing", "Outsource"],
                              ["Owner trial", "Owner", "*", "sourcing", "In-house"],
                              sheets=sheets), 5, 2, 4)
    _, summary = run(plan)
    for name, when in (("Owner out", "from FY2028 Q2"),
                       ("Owner trial", "from FY2027 Q3 until FY2027 Q4")):
        pmo = [f["message"] for f in scenario(summary, name)["findings"]
               if f["code"] == "pmo-outsourced"]
        assert len(pmo) == 1, name
        assert pmo[0].startswith(
            f"Owner (PMO level) on ERP is Outsource (Outsource vendor) {when}: keep"), pmo


def test_scenario_rows_without_from_apply_to_every_quarter():
    """Rows without From (start 0) apply to every quarter: Dev offshore costs 50,790 a
    quarter after FY2027 Q1's 62,790 (the transition is paid once)."""
    plan = plan_over(2, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"])
    assert [c.start for c in plan.scenario_changes] == [0]
    _, summary = run(plan)
    assert quarter_totals(summary, "Offshore dev") == pytest.approx([62_790] + [50_790] * 7)


def test_the_several_years_example_of_the_model_reference():
    """docs/model.md, *Several years*: Dev offshore From FY2028 Q3, 3 % on Offshore, three
    years. FY2028 Q3: Ops 30,000 + Dev 1 × 3 × 6,180 = 18,540 + 10 % = 1,854 + coordination
    5 % × 20,394 = 1,019.70 + transition 2 × 6,180 = 12,360 → 63,773.70; FY2028 Q4 51,413.70;
    FY2029: 30,000 + 19,096.20 + 1,909.62 + 1,050.291 = 52,056.111 a quarter."""
    plan = timed(plan_over(3, ["Offshore dev", "Dev", "*", "sourcing", "Offshore"]), 6)
    plan.escalation = [Escalation("Offshore", "", 0.03)]
    _, summary = run(plan)
    assert quarter_totals(summary, "Offshore dev") == pytest.approx(
        [66_000] * 6 + [63_773.7, 51_413.7] + [52_056.111] * 4, rel=1e-12)
    assert quarter_totals(summary) == [66_000] * 12
