"""The shipped sample plan (spec §2 workbook) as data, and a deterministic .xlsx writer.

``SAMPLE_PLAN`` maps each sheet name to its rows, the first row being the headers in the order
of the input schema (:mod:`omplan.input.schema`). ``write_plan_workbook`` writes any such dict
to an .xlsx whose bytes depend only on the data (and the openpyxl/zlib versions): fixed
document dates and fixed zip timestamps.

Default rates (see docs/rates.md): U.S. BLS median annual wage × 1.3 (loaded-cost factor) / 12,
rounded half-up to whole dollars; Outsource = 1.2 × and Offshore = 0.5 × the unrounded in-house
monthly cost. The factors are planning assumptions, not BLS figures.

Billing lists all eight activities with the spec defaults (no deliberate change), so the sheet
documents the defaults explicitly; edit a row to move an activity across the billing boundary.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from omplan.core.model import (
    ACTIVITIES,
    DEFAULT_BILLING,
    IN_HOUSE,
    MAINTENANCE_FACTORS,
    OFFSHORE,
    OPERATION_FACTORS,
    OUTSOURCE,
    QUARTERS,
)
from omplan.files.xlsxio import save_workbook
from omplan.input.schema import sheet_spec

__all__ = ["SAMPLE_PLAN", "SAMPLE_PLAN_ONE_YEAR", "build_sample_plan", "write_plan_workbook"]

# --- roles -------------------------------------------------------------------------------

SERVICE_DESK = "Service desk agent"  # L1
OPS_ENGINEER = "Ops engineer"  # L2, pure operation
DBA_INFRA = "DBA/Infra engineer"  # L2, operation plus some Preventive
APP_MAINTENANCE = "App maintenance engineer"  # L3, pure maintenance
SENIOR_DEVELOPER = "Senior developer"  # L3, maintenance plus a little Incident response
SERVICE_OWNER = "Service owner"  # PMO, spread over all activities
TEAM_LEAD = "Team lead"  # PMO, pro-rata (all Allocation cells blank)

ACME = "Acme Managed Services"
OFFSHORE_CENTER = "Bangalore Dev Center"
ONE_VENDOR = "OneVendor Corp"
OFFSHORE_DEFAULT_VENDOR = f"{OFFSHORE} vendor"  # the resolved name of a blank-vendor line

_M, _IR, _RT, _SO, _CO, _PR, _AD, _PF = ACTIVITIES  # Monitoring ... Perfective


def _header(sheet: str, *optional: str) -> list[Any]:
    """A table's header row: the sheet's required columns and ``optional`` ones, in the order
    of the input schema."""
    return list(sheet_spec(sheet).header_with(*optional))


def _allocation_row(role: str, shares: Mapping[str, float]) -> list[Any]:
    unknown = set(shares) - set(ACTIVITIES)
    if unknown:  # pragma: no cover - guards the literal data below
        raise ValueError(f"unknown activities {sorted(unknown)}")
    return [role, *(shares.get(a) for a in ACTIVITIES)]


def _staff(system: str, role: str, sourcing: str, vendor: str | None, *fte: float) -> list[Any]:
    if len(fte) == 1:
        fte = fte * len(QUARTERS)
    return [system, role, sourcing, vendor, *fte]


ORDER = "Order platform"
PORTAL = "Customer portal"
HR = "HR & payroll"
DWH = "Data warehouse"

SAMPLE_PLAN_ONE_YEAR: dict[str, list[list[Any]]] = {
    "Settings": [
        _header("Settings"),
        ["plan_name", "Sample plan"],
        ["currency", "USD"],
        ["fiscal_year", 2027],
        ["fy_start_month", 4],
        ["band_low", 0.40],
        ["band_high", 0.60],
        ["vendor_overhead", 0.10],
        ["coordination_overhead", 0.05],
        ["transition_months", 2],
    ],
    "Roles": [
        _header("Roles"),
        [SERVICE_DESK, "L1"],
        [OPS_ENGINEER, "L2"],
        [DBA_INFRA, "L2"],
        [APP_MAINTENANCE, "L3"],
        [SENIOR_DEVELOPER, "L3"],
        [SERVICE_OWNER, "PMO"],
        [TEAM_LEAD, "PMO"],
    ],
    # Monthly cost = BLS median annual wage × 1.3 / 12 (× 1.2 Outsource, × 0.5 Offshore).
    # L1 60,340 (May 2024); L2 90,520 (May 2022); L3 132,270 (May 2023); PMO 164,070 (May 2022).
    "Rates": [
        _header("Rates"),
        [SERVICE_DESK, IN_HOUSE, 6537],
        [SERVICE_DESK, OUTSOURCE, 7844],
        [SERVICE_DESK, OFFSHORE, 3268],
        [OPS_ENGINEER, IN_HOUSE, 9806],
        [OPS_ENGINEER, OUTSOURCE, 11768],
        [OPS_ENGINEER, OFFSHORE, 4903],
        [DBA_INFRA, IN_HOUSE, 9806],
        [DBA_INFRA, OUTSOURCE, 11768],
        [DBA_INFRA, OFFSHORE, 4903],
        [APP_MAINTENANCE, IN_HOUSE, 14329],
        [APP_MAINTENANCE, OUTSOURCE, 17195],
        [APP_MAINTENANCE, OFFSHORE, 7165],
        [SENIOR_DEVELOPER, IN_HOUSE, 14329],
        [SENIOR_DEVELOPER, OUTSOURCE, 17195],
        [SENIOR_DEVELOPER, OFFSHORE, 7165],
        [SERVICE_OWNER, IN_HOUSE, 17774],
        [SERVICE_OWNER, OUTSOURCE, 21329],
        [TEAM_LEAD, IN_HOUSE, 17774],
        [TEAM_LEAD, OUTSOURCE, 21329],
    ],
    # Shares are multiples of 1/8, exact in binary, so each row sums to exactly 1.
    "Allocation": [
        _header("Allocation", *ACTIVITIES),
        _allocation_row(SERVICE_DESK, {_M: 0.25, _IR: 0.5, _RT: 0.25}),
        _allocation_row(OPS_ENGINEER, {_M: 0.375, _IR: 0.25, _RT: 0.25, _SO: 0.125}),
        _allocation_row(DBA_INFRA, {_M: 0.125, _IR: 0.125, _RT: 0.25, _SO: 0.25, _PR: 0.25}),
        _allocation_row(APP_MAINTENANCE, {_CO: 0.375, _PR: 0.25, _AD: 0.125, _PF: 0.25}),
        _allocation_row(
            SENIOR_DEVELOPER, {_IR: 0.125, _CO: 0.25, _PR: 0.125, _AD: 0.25, _PF: 0.25}
        ),
        _allocation_row(
            SERVICE_OWNER,
            dict.fromkeys(ACTIVITIES, 0.125),  # evenly spread, half operation
        ),
        _allocation_row(TEAM_LEAD, {}),  # pro-rata: split like the system's other labour
    ],
    # HR & payroll is the split contract of the Baseline: operation with Acme, maintenance
    # in-house. Offshore lines with a blank Vendor resolve to "Offshore vendor".
    "Staffing": [
        _header("Staffing", "Vendor"),
        _staff(ORDER, SERVICE_DESK, IN_HOUSE, None, 3),
        _staff(ORDER, OPS_ENGINEER, IN_HOUSE, None, 3, 3, 3.5, 3.5),
        _staff(ORDER, DBA_INFRA, IN_HOUSE, None, 1),
        _staff(ORDER, SENIOR_DEVELOPER, IN_HOUSE, None, 2, 2, 3, 3),
        _staff(ORDER, SENIOR_DEVELOPER, OFFSHORE, None, 1),
        _staff(ORDER, SERVICE_OWNER, IN_HOUSE, None, 0.5),
        _staff(ORDER, TEAM_LEAD, IN_HOUSE, None, 1),
        _staff(PORTAL, SERVICE_DESK, OUTSOURCE, ACME, 1, 1, 1.5, 1.5),
        _staff(PORTAL, OPS_ENGINEER, IN_HOUSE, None, 1),
        _staff(PORTAL, DBA_INFRA, OUTSOURCE, ACME, 0.5),
        _staff(PORTAL, SENIOR_DEVELOPER, IN_HOUSE, None, 1, 1, 2, 2),
        _staff(PORTAL, APP_MAINTENANCE, IN_HOUSE, None, 1),
        _staff(PORTAL, SERVICE_OWNER, IN_HOUSE, None, 0.25),
        _staff(HR, SERVICE_DESK, OUTSOURCE, ACME, 1),
        _staff(HR, OPS_ENGINEER, OUTSOURCE, ACME, 0.5, 0.5, 0.5, 1),
        _staff(HR, APP_MAINTENANCE, IN_HOUSE, None, 1, 1, 1, 1.5),
        _staff(HR, SERVICE_OWNER, IN_HOUSE, None, 0.25),
        _staff(DWH, OPS_ENGINEER, IN_HOUSE, None, 0.5),
        _staff(DWH, DBA_INFRA, IN_HOUSE, None, 1.5),
        _staff(DWH, APP_MAINTENANCE, IN_HOUSE, None, 1),
        _staff(DWH, SENIOR_DEVELOPER, OFFSHORE, None, 1, 1, 1.5, 1.5),
        _staff(DWH, SERVICE_OWNER, IN_HOUSE, None, 0.25),
        _staff(DWH, TEAM_LEAD, IN_HOUSE, None, 0.5),
    ],
    "Costs": [
        _header("Costs"),
        [ORDER, "APM tool licences", _M, 15000, 15000, 15000, 15000],
        [ORDER, "Security scanner subscription", _SO, 6000, 6000, 6000, 6000],
        [PORTAL, "Monitoring tool licences", _M, 4000, 4000, 4000, 4000],
        [PORTAL, "Accessibility and UX improvements (agency)", _PF, 0, 0, 25000, 25000],
        [HR, "Backup storage", _RT, 1500, 1500, 1500, 1500],
        [HR, "Payroll tax table update", _AD, None, None, None, 12000],
        [DWH, "Backup storage", _RT, 4500, 4500, 5000, 5000],
        [DWH, "Cloud migration (adaptive work)", _AD, 0, 30000, 45000, 15000],
    ],
    # All eight activities with the spec defaults: no deliberate change.
    "Billing": [
        _header("Billing"),
        *([a, DEFAULT_BILLING[a]] for a in ACTIVITIES),
    ],
    # OneVendor Corp has no permanent-fix SLA: sla-undefined fires in "Integrated vendor".
    "Contracts": [
        _header("Contracts", "Emergency response SLA hours", "Permanent fix SLA days"),
        [ACME, 4, 10],
        [OFFSHORE_DEFAULT_VENDOR, 8, 15],
        [OFFSHORE_CENTER, 8, 15],
        [ONE_VENDOR, 2, None],
    ],
    # Three operation factors and one maintenance factor: target 0.50 + 0.075 - 0.025 = 0.55.
    "Profile": [
        _header("Profile", "Applies"),
        *(
            [f, "yes" if f in ("Revenue critical", "Runs 24x7", "High user volume") else "no"]
            for f in OPERATION_FACTORS
        ),
        *([f, "yes" if f == "Legacy technical debt" else "no"] for f in MAINTENANCE_FACTORS),
    ],
    # Rows apply in sheet order to every matching Baseline line (spec §4).
    "Scenarios": [
        _header("Scenarios"),
        ["Outsource L1/L2", SERVICE_DESK, "*", "sourcing", OUTSOURCE],
        ["Outsource L1/L2", SERVICE_DESK, "*", "vendor", ACME],
        ["Outsource L1/L2", OPS_ENGINEER, "*", "sourcing", OUTSOURCE],
        ["Outsource L1/L2", OPS_ENGINEER, "*", "vendor", ACME],
        ["Outsource L1/L2", DBA_INFRA, "*", "sourcing", OUTSOURCE],
        ["Outsource L1/L2", DBA_INFRA, "*", "vendor", ACME],
        ["Offshore L3", APP_MAINTENANCE, "*", "sourcing", OFFSHORE],
        ["Offshore L3", APP_MAINTENANCE, "*", "vendor", OFFSHORE_CENTER],
        ["Offshore L3", APP_MAINTENANCE, "*", "rate_factor", 1.05],
        ["Offshore L3", SENIOR_DEVELOPER, "*", "sourcing", OFFSHORE],
        ["Offshore L3", SENIOR_DEVELOPER, "*", "vendor", OFFSHORE_CENTER],
        ["Offshore L3", SENIOR_DEVELOPER, "*", "rate_factor", 1.05],
        # Everything to one vendor, then the service owner back in-house (a later row wins).
        ["Integrated vendor", "*", "*", "sourcing", OUTSOURCE],
        ["Integrated vendor", "*", "*", "vendor", ONE_VENDOR],
        ["Integrated vendor", SERVICE_OWNER, "*", "sourcing", IN_HOUSE],
        ["Lean 2027", "*", DWH, "fte_factor", 0.9],
        ["Lean 2027", SENIOR_DEVELOPER, "*", "fte_factor", 0.5],
        ["Lean 2027", APP_MAINTENANCE, "*", "fte_factor", 0.5],
    ],
}

# --- the three-year sample ----------------------------------------------------------------
#
# SAMPLE_PLAN_ONE_YEAR is the sample as it was before plans spanned several years (one fiscal
# year, every rate in USD); regression tests keep its figures. The shipped SAMPLE_PLAN below is
# the same organisation over three fiscal years (see docs/rates.md for every source):
# - Offshore rates are quoted in INR: the USD offshore rate × 82.5708 INR per USD, rounded to
#   the nearest 100 rupees; the FX sheet converts INR back at 1 / 82.5708 USD per INR
#   (Federal Reserve G.5A, 2023 annual average, released 1 Feb 2024).
# - Escalation: In-house and Outsource 3.7 % a year (BLS Employment Cost Index, wages and
#   salaries of private industry workers, 12 months to December 2024); Offshore 6.8 % (Aon
#   Salary Increase and Turnover Survey 2025-26 India, technology consulting and services,
#   projected 2026); other costs 2.9 % (BLS CPI-U, 12 months to December 2024).
# - One-off projects (the portal's UX work, the warehouse's cloud migration) are entered in
#   FY2027 columns only, so they do not repeat in FY2028 and FY2029.
# - "Outsource L1/L2" starts in Q3 of FY2027 (From), mid-year.

INR_PER_USD_2023 = 82.5708  # Federal Reserve G.5A, released 1 Feb 2024: 2023 average
USD_PER_INR = 1 / INR_PER_USD_2023
WAGE_GROWTH_US = 0.037  # BLS ECI, wages and salaries, private industry, Dec 2023 - Dec 2024
WAGE_GROWTH_INDIA_IT = 0.068  # Aon India 2025-26, technology consulting & services, 2026
PRICE_GROWTH_US = 0.029  # BLS CPI-U, all items, Dec 2023 - Dec 2024

#: offshore monthly cost per FTE in INR (USD offshore rate x 82.5708, to the nearest 100)
_OFFSHORE_INR = {SERVICE_DESK: 269900, OPS_ENGINEER: 404900, DBA_INFRA: 404900,
                 APP_MAINTENANCE: 591600, SENIOR_DEVELOPER: 591600}
_FY_ONE_OFF = ("FY2027 Q2", "FY2027 Q3", "FY2027 Q4")
#: costs that happen once, in FY2027 only: item -> amounts of FY2027 Q2, Q3, Q4
_ONE_OFF_COSTS = {"Accessibility and UX improvements (agency)": (None, 25000, 25000),
                  "Cloud migration (adaptive work)": (30000, 45000, 15000)}
_MID_YEAR_SCENARIO = "Outsource L1/L2"


# Two quarters of actual spend (FY2027 Q1-Q2 = Apr-Sep 2027), as a general-ledger export would
# give them: one row per system, activity and month. Each is the Baseline's monthly plan (below,
# rounded to whole dollars) times a month factor: Q1 runs 2-3 % under plan, Q2 5-7 % over it
# (beyond the 5 % variance threshold, so the quarter is flagged over budget), with a small
# per-activity spread. Two rows more: an SLA service credit from Acme (a negative amount) and
# an emergency fix on a retired system the plan does not budget (warned, and counted).
_MONTHLY_PLAN: dict[str, tuple[int, ...]] = {  # Monitoring ... Perfective, per month
    ORDER: (26407, 28179, 18535, 10482, 11974, 9510, 11974, 11974),
    PORTAL: (8532, 9921, 6782, 3399, 9511, 7547, 5929, 7720),
    HR: (5254, 6632, 4927, 1395, 6061, 4230, 2399, 4230),
    DWH: (5059, 5486, 8023, 5791, 9405, 10500, 5124, 7265),
}
#: the warehouse's cloud migration adds 10,000 a month of Adaptive work in Q2 (Jul-Sep)
_Q2_EXTRA = {(DWH, _AD): 10000}
_MONTH_FACTORS = (0.98, 0.97, 0.98, 1.05, 1.06, 1.07)  # Apr ... Sep 2027
_SPREAD = (0.0, 0.01, -0.01, 0.02, -0.02)


def _sample_actuals() -> list[list[Any]]:
    rows: list[list[Any]] = [_header("Actuals", "Currency", "Item")]
    for m, factor in enumerate(_MONTH_FACTORS):
        month = dt.date(2027, 4 + m, 1)
        for s, (system, plan) in enumerate(_MONTHLY_PLAN.items()):
            for a, (activity, amount) in enumerate(zip(ACTIVITIES, plan, strict=True)):
                if m >= 3:
                    amount += _Q2_EXTRA.get((system, activity), 0)
                spread = _SPREAD[(3 * s + a + m) % len(_SPREAD)]
                rows.append([month, system, activity, round(amount * (factor + spread)), "USD",
                             None])
    rows.append([dt.date(2027, 8, 1), HR, _IR, -2400, "USD",
                 "Service credit from Acme: SLA breach in July"])
    rows.append([dt.date(2027, 8, 1), "Legacy CRM", _CO, 18500, "USD",
                 "Emergency fix on the retired CRM (not in the plan)"])
    return rows


def _three_year_plan(one_year: dict[str, list[list[Any]]]) -> dict[str, list[list[Any]]]:
    plan = {name: [list(row) for row in rows] for name, rows in one_year.items()}
    plan["Settings"] += [["horizon_years", 3], ["discount_rate", 0.08]]
    rates: list[list[Any]] = [_header("Rates", "Currency")]
    for role, sourcing, cost in plan["Rates"][1:]:
        if sourcing == OFFSHORE:
            rates.append([role, sourcing, _OFFSHORE_INR[role], "INR"])
        else:
            rates.append([role, sourcing, cost, "USD"])
    plan["Rates"] = rates
    costs = [[*plan["Costs"][0], *_FY_ONE_OFF]]
    for row in plan["Costs"][1:]:
        once = _ONE_OFF_COSTS.get(row[1])
        costs.append([*row[:3], None, None, None, None, *once] if once
                     else [*row, None, None, None])
    plan["Costs"] = costs
    plan["Scenarios"] = [_header("Scenarios", "From")] + [
        [*row, "Q3" if row[0] == _MID_YEAR_SCENARIO else None]
        for row in plan["Scenarios"][1:]]
    plan["Escalation"] = [
        _header("Escalation", "Vendor"),
        [IN_HOUSE, None, WAGE_GROWTH_US],
        [OUTSOURCE, None, WAGE_GROWTH_US],
        [OFFSHORE, None, WAGE_GROWTH_INDIA_IT],
        ["Other costs", None, PRICE_GROWTH_US],
    ]
    plan["FX"] = [_header("FX", "Fiscal year"), ["INR", None, USD_PER_INR]]
    plan["Actuals"] = _sample_actuals()
    return plan


SAMPLE_PLAN: dict[str, list[list[Any]]] = _three_year_plan(SAMPLE_PLAN_ONE_YEAR)

# --- the writer --------------------------------------------------------------------------

FIXED_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)

MONEY_FORMAT = "#,##0"
FTE_FORMAT = "0.0#"
INTEGER_FORMAT = "0"
PERCENT_FORMAT = "0%"
PERCENT_1DP_FORMAT = "0.0%"

_FRACTION_SETTINGS = {"band_low", "band_high", "vendor_overhead", "coordination_overhead",
                      "discount_rate", "variance_threshold"}
_INTEGER_SETTINGS = {"fiscal_year", "fy_start_month", "horizon_years"}
FX_FORMAT = "0.000000"
MONTH_FORMAT = "mmm yyyy"
_QUARTER_KEYS = {q.lower() for q in QUARTERS}
_ACTIVITY_KEYS = {a.lower() for a in ACTIVITIES}
_MIN_WIDTH, _MAX_WIDTH = 8, 48


def _key(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _percent_format(value: float) -> str:
    """`0%` when the percentage is whole (0.4 -> 40 %), else `0.0%` (0.125 -> 12.5 %)."""
    hundredths = value * 100
    return PERCENT_FORMAT if abs(hundredths - round(hundredths)) < 1e-9 else PERCENT_1DP_FORMAT


def _column_format(sheet: str, header: str) -> str | None:
    """The number format of a whole table column, or None (General / per cell)."""
    if sheet == "rates" and header == "monthly cost":
        return MONEY_FORMAT
    if sheet == "costs" and (header in _QUARTER_KEYS or header.startswith("fy")):
        return MONEY_FORMAT
    if sheet == "actuals" and header == "amount":
        return MONEY_FORMAT
    if sheet == "actuals" and header == "month":
        return MONTH_FORMAT
    if sheet == "fx" and header == "rate":
        return FX_FORMAT
    if sheet == "escalation" and header == "annual rate":
        return PERCENT_1DP_FORMAT
    if sheet == "staffing" and header in _QUARTER_KEYS:
        return FTE_FORMAT
    return None


def _display_width(value: Any, number_format: str | None) -> int:
    if value is None:
        return 0
    if _is_number(value):
        if number_format == MONEY_FORMAT:
            return len(f"{value:,.0f}")
        if number_format in (PERCENT_FORMAT, PERCENT_1DP_FORMAT):
            return len(f"{value * 100:.1f}%")
        return len(f"{value:g}")
    return len(str(value))


def _format_sheet(ws: Any, rows: Sequence[Sequence[Any]], *, percent_cells: bool) -> None:
    sheet = _key(ws.title)
    headers = [_key(h) for h in rows[0]] if rows else []
    ncols = max((len(r) for r in rows), default=0)
    widths = [0] * ncols
    for r, row in enumerate(rows, start=1):
        setting = _key(row[0]) if row else ""
        for c in range(1, ncols + 1):
            value = row[c - 1] if c <= len(row) else None
            header = headers[c - 1] if c <= len(headers) else ""
            fmt: str | None = None
            if r == 1:
                if value is not None:
                    ws.cell(row=r, column=c).font = Font(bold=True)
                widths[c - 1] = max(widths[c - 1], len(str(value or "")) + 2)
                continue
            fmt = _column_format(sheet, header)
            if sheet == "settings" and header == "value" and _is_number(value):
                if setting in _FRACTION_SETTINGS and percent_cells:
                    fmt = _percent_format(value)  # type: ignore[arg-type]  # a number here
                elif setting in _INTEGER_SETTINGS:
                    fmt = INTEGER_FORMAT
            elif sheet == "allocation" and header in _ACTIVITY_KEYS and percent_cells:
                fmt = PERCENT_1DP_FORMAT  # also on blank cells, so typed shares show as %
            if fmt is not None and (value is not None or sheet == "allocation"):
                ws.cell(row=r, column=c).number_format = fmt
            widths[c - 1] = max(widths[c - 1], _display_width(value, fmt))
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(
            max(width + 2, _MIN_WIDTH), _MAX_WIDTH
        )
    ws.freeze_panes = "A2"


def write_plan_workbook(
    sheets: Mapping[str, Sequence[Sequence[Any]]],
    path: str | os.PathLike[str],
    *,
    percent_cells: bool = True,
) -> None:
    """Write a plan (sheet name -> rows, first row the headers) to an .xlsx at ``path``.

    Bold, frozen header row; column widths from the content; number formats: money ``#,##0``
    (Rates, Costs), FTE ``0.0#`` (Staffing), and, with ``percent_cells``, fractions in Settings
    and Allocation as percentages (the cell still holds 0.4). The bytes are deterministic.
    """
    if not sheets:
        raise ValueError("a plan workbook needs at least one sheet")
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(title=name)
        for row in rows:
            ws.append(list(row))
        _format_sheet(ws, rows, percent_cells=percent_cells)
    wb.properties.creator = "omplan"
    save_workbook(wb, path, FIXED_TIMESTAMP)


def build_sample_plan(path: str | os.PathLike[str]) -> Path:
    """Write the shipped sample plan to ``path`` and return it as a Path."""
    target = Path(path)
    write_plan_workbook(SAMPLE_PLAN, target)
    return target
