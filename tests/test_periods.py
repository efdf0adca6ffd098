"""The period axis: quarters over fiscal years, their months and labels."""

from __future__ import annotations

from omplan.core.periods import (
    Horizon,
    fiscal_months,
    fiscal_year_span,
    quarter_labels,
    quarter_month_labels,
)


def test_three_year_horizon_indexes_quarters_over_fiscal_years():
    h = Horizon(2027, 3, fy_start_month=4)
    assert len(h) == 12 and h.fiscal_years == [2027, 2028, 2029]
    p = h.periods[6]  # k = 6: Q3 of the second fiscal year
    assert (p.index, p.fiscal_year, p.quarter, p.name, p.year_index) == (6, 2028, 3, "Q3", 1)
    assert p.label == "FY2028 Q3"
    assert h.months(p) == [(2028, 10), (2028, 11), (2028, 12)]  # Oct–Dec 2028
    assert h.months(h.periods[11]) == [(2030, 1), (2030, 2), (2030, 3)]  # FY2029 Q4


def test_fiscal_year_named_by_the_year_it_starts():
    assert fiscal_months(2027, 4, "Q4") == [(2028, 1), (2028, 2), (2028, 3)]
    assert fiscal_year_span(2027, 4) == "Apr 2027 – Mar 2028"
    assert fiscal_year_span(2027, 1) == "Jan 2027 – Dec 2027"
    assert quarter_month_labels(2027, 11, "Q1") == ["Nov 2027", "Dec 2027", "Jan 2028"]
    assert quarter_labels(4) == ["Q1 (Apr–Jun)", "Q2 (Jul–Sep)", "Q3 (Oct–Dec)",
                                 "Q4 (Jan–Mar)"]


def test_a_plan_knows_its_horizon():
    from factories import parse, tiny_plan

    plan, _ = parse(tiny_plan())
    assert plan is not None
    assert [p.label for p in plan.horizon.periods] == [
        "FY2027 Q1", "FY2027 Q2", "FY2027 Q3", "FY2027 Q4"]
