"""The optimiser's inputs: the Options sheet, the Max FTE column of Contracts and the checks
of its settings, each a located finding (``Options!C4: sourcing 'Ofshore' ... did you mean
'Offshore'?``).

The reader calls these once the rest of the plan is read: :func:`read_options` needs the
roles, systems and rates the Options rows refer to.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping

from omplan.core.findings import Finding
from omplan.core.model import BASELINE, IN_HOUSE, SOURCINGS, OptionRow, Plan
from omplan.core.periods import parse_quarter, quarter_index
from omplan.input.tables import (
    Collector,
    Row,
    SheetGrid,
    find_table,
    norm_enum,
    norm_header,
    rows,
)

__all__ = ["MAX_FTE_COLUMN", "OPTIONS_COLUMNS", "check_optimiser_settings", "read_max_fte",
           "read_optimiser_inputs", "read_options"]

#: The Options sheet's columns (Vendor may be left out: every row then offers
#: '<Sourcing> vendor' for an external sourcing).
OPTIONS_COLUMNS = ("Role", "System", "Sourcing", "Vendor")
#: The Contracts column that gives a vendor's capacity in FTE.
MAX_FTE_COLUMN = "Max FTE"
#: Sourcing as typed -> the sourcing (spec §2 matching, as on the Staffing sheet).
_SOURCINGS = {"inhouse": IN_HOUSE, "internal": IN_HOUSE, "outsource": "Outsource",
              "outsourced": "Outsource", "offshore": "Offshore", "offshored": "Offshore"}


def _did_you_mean(text: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    if not close:  # case and spacing aside ('in house')
        folded = {k.casefold().replace(" ", ""): k for k in known}
        hit = folded.get(text.casefold().replace(" ", ""))
        close = [hit] if hit else []
    return f": did you mean '{close[0]}'?" if close else ""


def read_options(grid: SheetGrid | None, plan: Plan) -> tuple[list[OptionRow], list[Finding]]:
    """The Options rows and their findings: an unknown role, system or sourcing is a located
    error (with a 'did you mean'); a row that no Staffing line can take is a warning."""
    out = Collector()
    if grid is None:
        return [], out.findings
    table = find_table(grid, OPTIONS_COLUMNS[:3], OPTIONS_COLUMNS[3:], out)
    if table is None:
        return [], out.findings
    systems = list(dict.fromkeys([x.system for x in plan.staffing]
                                 + [c.system for c in plan.costs]))
    options: list[OptionRow] = []
    for row in rows(table, out):
        role = row.text("Role", "Role (a role or *)")
        if role is not None and role != "*" and role not in plan.roles:
            out.error("unknown-role", f"role '{role}' is not listed on the Roles sheet"
                      f"{_did_you_mean(role, plan.roles)}", row.ref("Role"))
            role = None
        system = row.text("System", "System (a system or *)")
        if system is not None and system != "*" and system not in systems:
            hint = _did_you_mean(system, systems) or " (no Staffing line is on it)"
            out.error("unknown-system", f"system '{system}' has no Staffing lines{hint}",
                      row.ref("System"))
            system = None
        sourcing = _sourcing(row, out)
        vendor = row.text("Vendor", "Vendor", required=False) if "Vendor" in row.cols else ""
        if role is None or system is None or sourcing is None or vendor is None:
            continue
        if vendor and sourcing == IN_HOUSE:
            out.warning("vendor-ignored", f"an In-house option has no vendor: '{vendor}' is "
                        "ignored", row.ref("Vendor"))
            vendor = ""
        option = OptionRow(role, system, sourcing, vendor, grid.ref(row.r, table.cols["Role"]))
        _warn_if_idle(option, plan, row, out)
        options.append(option)
    return options, out.findings


def _sourcing(row: Row, out: Collector) -> str | None:
    text = row.text("Sourcing", "Sourcing")
    if text is None:
        return None
    found = _SOURCINGS.get(norm_enum(text))
    if found is None:
        out.error("unknown-value", f"Sourcing must be one of {', '.join(SOURCINGS)}, got "
                  f"'{text}'{_did_you_mean(text, SOURCINGS)}", row.ref("Sourcing"))
    return found


def _warn_if_idle(option: OptionRow, plan: Plan, row: Row, out: Collector) -> None:
    """A warning for a row that offers nothing: no line matches it, every match lacks a rate
    for the sourcing, or only PMO lines match an external sourcing (they stay in-house)."""
    matches = [x for x in plan.staffing if option.role in ("*", x.role)
               and option.system in ("*", x.system)]
    if not matches:
        out.warning("no-match", "no Staffing line has this role on this system, so this "
                    "option offers nothing", row.ref("Role"))
        return
    rated = [x for x in matches if (x.role, option.sourcing) in plan.rates]
    if not rated:
        out.warning("option-no-rate", f"no {option.sourcing} rate for the roles this row "
                    f"matches: add them to the Rates sheet, or this option offers nothing",
                    row.ref("Sourcing"))
        return
    if option.sourcing != IN_HOUSE and all(plan.roles[x.role].level == "PMO" for x in rated):
        out.warning("pmo-stays-in-house", "PMO-level lines take only In-house options: this "
                    "row offers nothing", row.ref("Sourcing"))


def read_max_fte(row: Row, vendor: str) -> float | None:
    """A Contracts row's Max FTE (the vendor's capacity); None when blank or wrong (wrong
    cells are located errors)."""
    if MAX_FTE_COLUMN not in row.cols:
        return None
    value = row.number(MAX_FTE_COLUMN, f"Max FTE of '{vendor}'", blank=math.nan)
    return None if value is None or math.isnan(value) else value


def check_optimiser_settings(plan: Plan) -> list[Finding]:
    """The optimiser's settings against the plan: ``optimise_from`` names a quarter of the
    horizon, ``optimised_name`` no existing scenario (errors at their Settings cells)."""
    out = Collector()
    st = plan.settings
    horizon = plan.horizon
    where = plan.setting_cells
    text = st.optimise_from
    if text.strip() and quarter_index(text, horizon) is None:
        first = horizon.first_fiscal_year
        last = first + horizon.years - 1
        if parse_quarter(text) is None:
            out.error("bad-period", f"optimise_from must be a quarter, Q1 to Q4 (of FY{first}) "
                      f"or FY<year> Q<n> such as FY{first} Q3 (blank = from the first quarter), "
                      f"got '{text}'", where.get("optimise_from", "Settings"))
        else:
            out.error("outside-horizon", f"optimise_from names {text}, outside the plan, which "
                      f"covers FY{first}" + (f" to FY{last}" if last > first else "") +
                      ": correct the year, or raise horizon_years",
                      where.get("optimise_from", "Settings"))
    name = st.optimised_name.strip()
    taken = {n.casefold(): n for n in plan.scenario_names}
    if not name:
        out.error("missing-value", "optimised_name is blank: name the scenario the optimiser "
                  "adds (e.g. Optimised)", where.get("optimised_name", "Settings"))
    elif name.casefold() in taken:
        clash = taken[name.casefold()]
        what = ("the plan as entered" if clash == BASELINE
                else "a scenario of the Scenarios sheet")
        out.error("duplicate", f"optimised_name '{name}' is already {what} ('{clash}'): give "
                  "the optimised scenario another name", where.get("optimised_name",
                                                                   "Settings"))
    return out.findings


def read_optimiser_inputs(grids: Mapping[str, SheetGrid],
                          plan: Plan) -> tuple[Plan, list[Finding]]:
    """The plan with its optimiser inputs read from ``grids`` (sheet name -> grid): the
    Options rows, each vendor's Max FTE, and the checks of the optimiser's settings. Until
    the reader reads them itself, this is the one call that adds them to a read plan."""
    by_name = {norm_header(name): grid for name, grid in grids.items()}
    options, findings = read_options(by_name.get("options"), plan)
    contracts = dict(plan.contracts)
    grid = by_name.get("contracts")
    if grid is not None:
        out = Collector()
        table = find_table(grid, ("Vendor",), (MAX_FTE_COLUMN,), out)
        if table is not None and MAX_FTE_COLUMN in table.cols:
            for row in rows(table, out):
                vendor = row.text("Vendor", "Vendor", required=False)
                contract = contracts.get((vendor or "").casefold())
                if vendor and contract is not None:
                    contracts[vendor.casefold()] = dataclasses.replace(
                        contract, max_fte=read_max_fte(row, vendor))
        findings += [f for f in out.findings if f.location.startswith("Contracts!")
                     and MAX_FTE_COLUMN.casefold() in f.message.casefold()]
    plan = dataclasses.replace(plan, options=options, contracts=contracts)
    if options:
        findings += check_optimiser_settings(plan)
    return plan, findings
