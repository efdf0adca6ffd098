"""The Scenarios sheet -> :class:`ScenarioChange` rows, and the check of the budget scenario
that the Settings name against them."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from omplan.core.model import BASELINE, SOURCINGS, ScenarioChange
from omplan.core.periods import Horizon
from omplan.input.reading import Reading, check_role, horizon_text
from omplan.input.schema import SOURCING_ALIASES
from omplan.input.tables import Collector, Row, Table, describe, is_blank, parse_period

__all__ = ["LARGE_FACTOR", "PERCENT_FACTOR", "check_budget_scenario", "read_scenarios"]

#: A scenario factor from this value up is read as a percent typed as a number (90 for 0.9):
#: an error with the hint, since a hurried 90 would multiply a budget by 90.
PERCENT_FACTOR = 10.0
#: A factor above this (and below PERCENT_FACTOR) is allowed but warned about.
LARGE_FACTOR = 3.0


def read_scenarios(table: Table, reading: Reading) -> list[ScenarioChange]:
    """The Scenarios rows; ``reading.scenario_names`` gets every scenario name of the sheet
    (rows with other errors included) with the cell of its first row."""
    out, known, horizon, names = reading.out, reading.known_roles, reading.horizon, reading.names
    staffing = reading.staffing
    systems = {line.system for line in staffing or []}
    changes: list[ScenarioChange] = []
    for row in reading.rows(table):
        name = row.get("Scenario")
        if name is not None and name.casefold() == BASELINE.casefold():
            out.error("baseline-redefined", "'Baseline' is the plan as entered and cannot be "
                      "redefined: give this scenario another name", row.ref("Scenario"))
            name = None
        if name:
            reading.scenario_names.setdefault(name, row.ref("Scenario"))
        role = row.get("Role")
        if role not in (None, "*") and not check_role(row, role, known, out):
            role = None
        system = row.get("System")
        if system and system != "*" and names.known is not None \
                and not names.system(row, system, out):
            system = None
        change = row.get("Change")
        value: str | float | None = None
        if change == "sourcing":
            value = row.choice("Value", "Sourcing", SOURCING_ALIASES, SOURCINGS)
        elif change == "vendor":
            value = row.text("Value", "Vendor", required=False)
            if value:
                names.vendor(value, row.ref("Value"))
        elif change in ("fte_factor", "rate_factor"):
            value = row.number("Value", change, strict=change == "rate_factor", blank=None)
            if value is not None:
                value = _check_factor(row, name, change, value, out)
        start = _read_from(row, horizon)
        if name is None or role is None or system is None or change is None or value is None \
                or start is None:
            continue
        if system != "*" and staffing is not None and system not in systems:
            close = difflib.get_close_matches(system, sorted(systems), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.warning("no-match", f"scenario '{name}': system '{system}' has no staffing "
                        f"lines{hint}, so this scenario row changes nothing", row.ref("System"))
        changes.append(ScenarioChange(name, role, system, change, value, row.ref("Scenario"),
                                      start))
    return changes


def _read_from(row: Row, horizon: Horizon | None) -> int | None:
    """The period index k from which a Scenarios row applies: its From cell, ``Q<n>`` (of the
    first fiscal year) or ``FY<year> Q<n>``; 0 when blank or absent; None on a located error."""
    if "From" not in row.cols or row.special("From", "From"):
        return 0 if "From" not in row.cols else None
    raw = row.raw("From")
    if is_blank(raw):
        return 0
    parsed = parse_period(raw)
    if parsed is None:
        first = f" (of FY{horizon.first_fiscal_year})" if horizon is not None else ""
        row.out.error("bad-period", f"From must be a quarter, Q1 to Q4{first} or FY<year> "
                      f"Q<n> such as FY2028 Q3 (blank = from the start), got {describe(raw)}",
                      row.ref("From"))
        return None
    if horizon is None:
        return 0  # the Settings are wrong (reported there): no period to check against
    year, quarter = parsed
    period = horizon.period_of(horizon.first_fiscal_year if year is None else year, quarter)
    if period is None:
        row.out.error("outside-horizon", f"From names FY{year} Q{quarter}, outside the plan, "
                      f"which covers {horizon_text(horizon)}: correct the year, or raise "
                      "horizon_years on the Settings sheet", row.ref("From"))
        return None
    return period.index


def _check_factor(row: Row, scenario: str | None, change: str, value: float,
                  out: Collector) -> float | None:
    """A scenario factor: from PERCENT_FACTOR up it is a percent typed as a number (an error
    with the hint), above LARGE_FACTOR a warning; the value, or None when it is an error."""
    what = "FTE" if change == "fte_factor" else "rate"
    if value >= PERCENT_FACTOR:
        out.error("percent-number", f"{change} is a factor (0.9 = 90 % of the {what}, 1.05 = "
                  f"105 %), got {value:g}: it looks like a percent number; enter "
                  f"{value / 100:g} (or format the cell as a percentage and type {value:g} %)",
                  row.ref("Value"))
        return None
    if value > LARGE_FACTOR:
        label = f"scenario '{scenario}': " if scenario else ""
        out.warning("large-factor", f"{label}{change} {value:g} multiplies the {what} of the "
                    f"matching lines by {value:g}: check it is meant (1.1 = +10 %)",
                    row.ref("Value"))
    return value


def check_budget_scenario(wanted: str, where: str, scenario_names: Mapping[str, str],
                          out: Collector) -> str | None:
    """The scenario budget_scenario names, as the plan spells it: Baseline (in any case), a
    scenario of the Scenarios sheet as typed, or in another case when only one matches; None
    (and an error at the setting) when it names none."""
    if wanted.casefold() == BASELINE.casefold():
        return BASELINE
    if wanted in scenario_names:
        return wanted
    same = [name for name in scenario_names if name.casefold() == wanted.casefold()]
    if len(same) == 1:
        return same[0]
    known = [BASELINE, *scenario_names]
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    hint = f": did you mean '{close[0]}'?" if close else ""
    out.error("unknown-scenario", f"budget_scenario '{wanted}' is not a scenario of the plan "
              f"(known: {', '.join(known)}){hint}", where)
    return None
