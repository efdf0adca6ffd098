"""The sample plan's optimiser inputs: an Options sheet, the optimiser's settings and a
vendor capacity (the Contracts sheet's Max FTE column).

L1 and L2 roles may go to the outsourcer (Acme Managed Services), L3 roles to the offshore
centre (Bangalore Dev Center), and the PMO stays in-house. The offshore centre takes at most
5 FTE, the move may spend at most 100,000 USD on transition, from Q3 of the first fiscal year
(like the hand-made "Outsource L1/L2"), and every system keeps a quarter of its FTE in-house.
:func:`with_optimiser_inputs` adds them to a plan given as ``{sheet: rows}``.
"""

from __future__ import annotations

import copy
from typing import Any

from omplan.core.model import IN_HOUSE, OFFSHORE, OUTSOURCE
from omplan.files.sample import (
    ACME,
    APP_MAINTENANCE,
    DBA_INFRA,
    OFFSHORE_CENTER,
    OPS_ENGINEER,
    SENIOR_DEVELOPER,
    SERVICE_DESK,
    SERVICE_OWNER,
    TEAM_LEAD,
)

__all__ = ["SAMPLE_MAX_FTE", "SAMPLE_OPTIMISER_SETTINGS", "SAMPLE_OPTIONS",
           "with_optimiser_inputs"]

#: Role, System, Sourcing, Vendor: what each line may take.
SAMPLE_OPTIONS: list[list[Any]] = [
    ["Role", "System", "Sourcing", "Vendor"],
    [SERVICE_DESK, "*", OUTSOURCE, ACME],
    [OPS_ENGINEER, "*", OUTSOURCE, ACME],
    [DBA_INFRA, "*", OUTSOURCE, ACME],
    [APP_MAINTENANCE, "*", OFFSHORE, OFFSHORE_CENTER],
    [SENIOR_DEVELOPER, "*", OFFSHORE, OFFSHORE_CENTER],
    [SERVICE_OWNER, "*", IN_HOUSE, None],
    [TEAM_LEAD, "*", IN_HOUSE, None],
]
#: Settings rows the optimiser reads (the others keep their defaults: no limit on changes,
#: the scenario named Optimised, 60 seconds at most).
SAMPLE_OPTIMISER_SETTINGS: list[list[Any]] = [
    ["optimise_from", "Q3"],
    ["transition_budget", 100000],
    ["min_inhouse_share", 0.25],
]
#: Vendor -> Max FTE on the Contracts sheet (the others are blank: no limit).
SAMPLE_MAX_FTE: dict[str, float] = {OFFSHORE_CENTER: 5}


def with_optimiser_inputs(sheets: dict[str, list[list[Any]]]) -> dict[str, list[list[Any]]]:
    """A copy of a sample plan (``{sheet: rows}``) with the Options sheet, the optimiser's
    settings and a Max FTE column on Contracts."""
    out = copy.deepcopy(sheets)
    out["Settings"] += [list(row) for row in SAMPLE_OPTIMISER_SETTINGS]
    contracts = out["Contracts"]
    contracts[0] = [*contracts[0], "Max FTE"]
    for row in contracts[1:]:
        row.append(SAMPLE_MAX_FTE.get(row[0]))
    out["Options"] = [list(row) for row in SAMPLE_OPTIONS]
    return out
