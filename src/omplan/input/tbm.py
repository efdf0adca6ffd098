"""The TBM taxonomy shipped with omplan (data files) and a plan's optional ``TBM`` sheet.

``load_taxonomy("4.1" | "5.0")`` reads ``omplan/data/tbm/taxonomy_<v>.csv`` (the names of the
version's cost pools, sub-pools, towers and sub-towers) and ``mapping_<v>.csv`` (omplan's
default mapping of activity, component, sourcing, level and billing basis onto them); their
sources are in ``docs/tbm.md``. :func:`read_tbm_sheet` reads the overrides of a plan's ``TBM``
sheet (columns Activity, Component, Sourcing, Level, Cost pool, Cost sub-pool, Tower,
Sub-tower; blank = any), with a located error for every name that is not the chosen version's.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections.abc import Iterable
from functools import cache
from importlib import resources

from omplan.core.findings import FileProblem, Finding
from omplan.core.model import COMPONENTS
from omplan.core.tbm import TbmRule, TbmTaxonomy
from omplan.input.schema import ACTIVITY_ALIASES, LEVEL_ALIASES, SOURCING_ALIASES
from omplan.input.tables import Collector, Row, SheetGrid, find_table, norm_enum, norm_header, rows

TAXONOMY_VERSIONS: tuple[str, ...] = ("4.1", "5.0")
DEFAULT_TAXONOMY = "4.1"
SHEET = "TBM"
KEY_COLUMNS = ("Activity", "Component", "Sourcing", "Level")
TARGET_COLUMNS = ("Cost pool", "Cost sub-pool", "Tower", "Sub-tower")
#: Component cells: the ledger's names and the words the report uses for them.
COMPONENT_ALIASES = {
    **{norm_enum(c): c for c in COMPONENTS},
    "labor": "labour", "vendormgmt": "vendor_management", "othercosts": "other",
    "othercost": "other", "knowledgetransfer": "transition",
}


def taxonomy_version(text: str) -> str:
    """``4.1`` or ``5.0`` from what a user typed (``v4.1``, ``5``, ``TBM 5.0``); ValueError
    naming the versions shipped otherwise."""
    cleaned = norm_enum(text).removeprefix("tbm").removeprefix("v")
    for version in TAXONOMY_VERSIONS:
        if cleaned in (version, version.removesuffix(".0")):
            return version
    raise ValueError(f"TBM taxonomy version {text!r} is not shipped with omplan; choose "
                     f"{' or '.join(TAXONOMY_VERSIONS)}")


def _data_file(name: str) -> str:
    return (resources.files("omplan") / "data" / "tbm" / name).read_text(encoding="utf-8")


@cache
def load_taxonomy(version: str = DEFAULT_TAXONOMY) -> TbmTaxonomy:
    """The shipped lists and default mapping of a TBM taxonomy version."""
    version = taxonomy_version(version)
    pools: dict[str, list[str]] = {}
    towers: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(_data_file(f"taxonomy_{version}.csv"))):
        layer, name, parent = row["layer"], row["name"], row["parent"]
        if layer == "cost_pool":
            pools.setdefault(name, [])
        elif layer == "cost_sub_pool":
            pools[parent].append(name)
        elif layer == "tower":
            towers.setdefault(name, [])
        elif layer == "sub_tower":
            towers[parent].append(name)
        else:
            raise ValueError(f"taxonomy_{version}.csv: unknown layer {layer!r}")
    rules = tuple(TbmRule(**{k: v for k, v in row.items()})
                  for row in csv.DictReader(io.StringIO(_data_file(f"mapping_{version}.csv"))))
    return TbmTaxonomy(version, {p: tuple(s) for p, s in pools.items()},
                       {t: tuple(s) for t, s in towers.items()}, rules)


def _named(row: Row, column: str, names: Iterable[str], what: str,
           version: str) -> str | None:
    """The cell as one of ``names`` (matched ignoring case and spaces): '' when blank, None
    (and a located error with a "did you mean") when it is none of them."""
    text = row.text(column, what, required=False)
    if not text:
        return text
    known = {norm_header(n): n for n in names}
    found = known.get(norm_header(text))
    if found is None:
        close = difflib.get_close_matches(norm_header(text), list(known), n=1, cutoff=0.6)
        hint = f": did you mean '{known[close[0]]}'?" if close else \
            f" (see docs/tbm.md for the {version} names)"
        row.out.error("unknown-tbm-name", f"'{text}' is not a {what} of TBM taxonomy "
                      f"{version}{hint}", row.ref(column))
    return found


def read_tbm_sheet(grid: SheetGrid | None, taxonomy: TbmTaxonomy
                   ) -> tuple[list[TbmRule], list[Finding]]:
    """The overrides of a plan's TBM sheet, in sheet order, and every problem found (located).

    A row matches ledger rows by Activity, Component, Sourcing and Level (blank = any) and
    assigns its non-blank Cost pool / Cost sub-pool / Tower / Sub-tower. A sub-tower alone
    names its tower; a sub-pool alone names its pool when only one pool has it."""
    out = Collector()
    if grid is None:
        return [], []
    table = find_table(grid, (), (*KEY_COLUMNS, *TARGET_COLUMNS), out)
    if table is None:
        return [], out.findings
    if not any(c in table.cols for c in TARGET_COLUMNS):
        out.error("missing-column", f"the {SHEET} sheet needs at least one of the columns "
                  f"{', '.join(TARGET_COLUMNS)} (and any of {', '.join(KEY_COLUMNS)})",
                  grid.ref(min(table.header_r, max(len(grid.rows) - 1, 0)), 0))
        return [], out.findings
    version = taxonomy.version
    all_sub_pools = sorted({s for subs in taxonomy.cost_pools.values() for s in subs})
    all_sub_towers = sorted({s for subs in taxonomy.towers.values() for s in subs})
    rules: list[TbmRule] = []
    for row in rows(table, out):
        before = len(out.findings)
        activity = row.choice("Activity", "Activity", ACTIVITY_ALIASES, list(
            ACTIVITY_ALIASES.values()), required=False) if "Activity" in row.cols else ""
        component = row.choice("Component", "Component", COMPONENT_ALIASES, COMPONENTS,
                               required=False) if "Component" in row.cols else ""
        sourcing = row.choice("Sourcing", "Sourcing", SOURCING_ALIASES, ("In-house",
                              "Outsource", "Offshore"), required=False) \
            if "Sourcing" in row.cols else ""
        level = row.choice("Level", "Level", LEVEL_ALIASES, tuple(LEVEL_ALIASES.values()),
                           required=False) if "Level" in row.cols else ""
        pool = _named(row, "Cost pool", taxonomy.cost_pools, "cost pool", version) \
            if "Cost pool" in row.cols else ""
        sub_pool = row.text("Cost sub-pool", "Cost sub-pool", required=False) \
            if "Cost sub-pool" in row.cols else ""
        if sub_pool and taxonomy.sub_pools_listed:
            sub_pool = _named(row, "Cost sub-pool", taxonomy.cost_pools[pool] if pool
                              else all_sub_pools, f"cost sub-pool{' of ' + pool if pool else ''}",
                              version)
            if sub_pool and not pool:
                owners = [p for p, subs in taxonomy.cost_pools.items() if sub_pool in subs]
                if len(owners) == 1:
                    pool = owners[0]
                else:
                    out.error("ambiguous-tbm-name", f"cost sub-pool '{sub_pool}' is in "
                              f"several cost pools ({', '.join(owners)}): fill Cost pool too",
                              row.ref("Cost sub-pool"))
        tower = _named(row, "Tower", taxonomy.towers, "tower", version) \
            if "Tower" in row.cols else ""
        sub_tower = _named(row, "Sub-tower", taxonomy.towers[tower] if tower else all_sub_towers,
                           f"sub-tower{' of ' + tower if tower else ''}", version) \
            if "Sub-tower" in row.cols else ""
        if sub_tower and not tower:
            tower = taxonomy.tower_of(sub_tower) or ""
        if len(out.findings) > before:
            continue
        if not (pool or sub_pool or tower or sub_tower):
            out.warning("no-effect", f"this {SHEET} row assigns no cost pool and no tower, so "
                        "it changes nothing", row.ref(next(iter(row.cols))))
            continue
        location = grid.ref(row.r, min(table.cols.values()))
        rules.append(TbmRule(activity or "", component or "", sourcing or "", level or "", "",
                             pool or "", sub_pool or "", tower or "", sub_tower or "",
                             location))
    return rules, out.findings


def read_tbm_file(path: str | os.PathLike[str], taxonomy: TbmTaxonomy
                  ) -> tuple[list[TbmRule], list[Finding]]:
    """The TBM sheet of a plan workbook (none: no overrides); a file problem is a finding."""
    from omplan.input.workbook import read_grids

    try:
        grids, _ = read_grids(path, [SHEET])
    except FileProblem as problem:
        return [], [problem.as_finding()]
    grid = next((g for name, g in grids.items() if norm_header(name) == norm_header(SHEET)),
                None)
    return read_tbm_sheet(grid, taxonomy)


__all__ = ["DEFAULT_TAXONOMY", "TAXONOMY_VERSIONS", "load_taxonomy", "read_tbm_file",
           "read_tbm_sheet", "taxonomy_version"]
