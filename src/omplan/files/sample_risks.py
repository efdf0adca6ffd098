"""The sample plan's Risks sheet: three-point ranges for its uncertain drivers, each from a
public, named figure (sources and years in docs/rates.md, "Ranges for the Risks sheet").

Kept apart from :mod:`omplan.files.sample` until the Risks sheet joins the input schema; then
``SAMPLE_PLAN["Risks"] = SAMPLE_RISKS``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLE_RISKS"]

SAMPLE_RISKS: list[list[Any]] = [
    ["Driver", "Applies to", "Low", "Likely", "High", "Distribution"],
    # onshore wage growth: U.S. ECI wages and salaries, private industry, 12 months to
    # December 2013 (2.1 %), December 2024 (3.7 %, the sheet's rate) and June 2022 (5.7 %)
    ["Escalation", "In-house", 0.021, 0.037, 0.057, "PERT"],
    ["Escalation", "Outsource", 0.021, 0.037, 0.057, "PERT"],
    # Indian IT services pay: Aon's 2025-26 survey, 6.6-7.0 % for technology consulting and
    # services (6.8 % the sheet's rate), up to 10 % in India's fastest-rising sectors
    ["Escalation", "Offshore", 0.06, 0.068, 0.10, "PERT"],
    # the rupee: 2012-2023 it lost 3.9 % a year against the dollar (Federal Reserve G.5A);
    # Low = five more such years, High = a move as large as the largest annual one (5.9 %,
    # 2022) the other way
    ["FX", "INR", 0.82, 1.0, 1.06, "Triangular"],
    # transition overrun: 18 % of IT projects overran by more than 50 % (Flyvbjerg et al.);
    # this PERT puts 18 % of its weight above 1.5
    ["Transition", "*", 0.9, 1.0, 2.65, "PERT"],
    # managing the deal: 4.5 % of contract value on average, up to 15 % (people3 / Gartner)
    ["Vendor overhead", "*", 0.045, 0.10, 0.15, "PERT"],
]
