"""The reading of a plan in progress: what the sheets read so far hand to the next ones.

Each sheet function of the reader takes the sheet's table and the :class:`Reading`; its value
is stored under the sheet's name (``reading.values``), so a later sheet can check against an
earlier one (Staffing against Roles, Rates and Allocation; Actuals against the Settings).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from omplan.core.model import (
    OFFSHORE,
    OUTSOURCE,
    Allocation,
    Rate,
    Role,
    Settings,
    StaffingLine,
    vendor_key,
)
from omplan.core.periods import Horizon
from omplan.core.settings import SETTINGS_BY_KEY
from omplan.input.tables import Collector, Row, Table, near_duplicates, norm_header, rows

#: the vendor of an external line with a blank Vendor cell
DEFAULT_VENDORS = tuple(f"{sourcing} vendor" for sourcing in (OUTSOURCE, OFFSHORE))

__all__ = ["DEFAULT_VENDORS", "Names", "Reading", "SettingsRead", "check_role", "did_you_mean",
           "horizon_text"]

#: the vendor of an external line with a blank Vendor cell
DEFAULT_VENDORS = tuple(f"{sourcing} vendor" for sourcing in (OUTSOURCE, OFFSHORE))


@dataclass
class SettingsRead:
    """The Settings sheet as read: the settings (None on errors), and what the other sheets
    need from it even then, so that their own problems are still reported."""

    settings: Settings | None = None
    #: setting key -> its Value cell
    refs: dict[str, str] = field(default_factory=dict)
    #: the plan's horizon; None when fiscal_year, horizon_years or fy_start_month is wrong
    horizon: Horizon | None = None
    #: the plan's currency; None when the currency setting is wrong
    currency: str | None = None
    #: budget_scenario as typed (or its default)
    budget_scenario: str = SETTINGS_BY_KEY["budget_scenario"].default


@dataclass
class Names:
    """System and vendor names as typed, with the cell of each name's first use.

    ``known`` holds the Systems sheet (name -> cell) when it lists any system: then every
    system used elsewhere must be on it. Without it, names that look alike are warned about.
    """

    known: dict[str, str] | None
    systems: dict[str, str] = field(default_factory=dict)
    vendors: dict[str, str] = field(default_factory=dict)

    def check_system(self, name: str, location: str, out: Collector) -> bool:
        """False (and a located error) if the Systems sheet does not list ``name``."""
        if self.known is not None and name not in self.known:
            close = difflib.get_close_matches(name, list(self.known), n=1, cutoff=0.75)
            hint = f": did you mean '{close[0]}'?" if close else \
                ": add it there, or correct the name"
            out.error("unknown-system", f"system '{name}' is not listed on the Systems "
                      f"sheet{hint}", location)
            return False
        return True

    def system(self, row: Row, name: str, out: Collector, column: str = "System") -> bool:
        """Record a system used at ``row``; False (and a located error) if the Systems sheet
        does not list it."""
        if not self.check_system(name, row.ref(column), out):
            return False
        self.systems.setdefault(name, row.ref(column))
        return True

    def vendor(self, name: str, location: str) -> None:
        """Record a vendor name used at ``location`` (its first use is kept)."""
        if name:
            self.vendors.setdefault(name, location)

    def one_spelling_per_vendor(self, out: Collector) -> dict[str, str]:
        """Vendor names that differ only in capitals or spaces are one vendor, spelt as the
        first of them (Staffing, then Contracts, then Scenarios; a default name such as
        'Offshore vendor' as the model spells it): a warning at each other spelling's first
        cell. Returns other spelling -> the one kept, and keeps only that in ``vendors``."""
        kept: dict[str, tuple[str, str]] = {
            vendor_key(name): (name, "") for name in DEFAULT_VENDORS}
        renamed: dict[str, str] = {}
        for name, location in list(self.vendors.items()):
            key = vendor_key(name)
            first = kept.setdefault(key, (name, location))
            if first[0] == name:
                continue
            renamed[name] = first[0]
            del self.vendors[name]
            where = f" (at {first[1]})" if first[1] else " (the name omplan gives a line with " \
                "a blank Vendor cell)"
            out.warning("similar-name", f"vendor '{name}' is '{first[0]}'{where} in other "
                        f"capitals or spacing: omplan takes both as one vendor, '{first[0]}'; "
                        "use one spelling", location)
        return renamed

    def warn_near_duplicates(self, out: Collector) -> None:
        if self.known is None:
            for a, b in near_duplicates(list(self.systems)):
                out.warning("similar-name", f"systems '{b}' and '{a}' (at "
                            f"{self.systems[a]}) look like one system spelt two ways: each "
                            "spelling is a separate system with its own costs; use one spelling "
                            "(a Systems sheet listing your systems catches this as you type)",
                            self.systems[b])
        for a, b in near_duplicates(list(self.vendors)):
            out.warning("similar-name", f"vendors '{b}' and '{a}' (at {self.vendors[a]}) look "
                        "like one vendor spelt two ways: each spelling is a separate vendor "
                        "(contracts, SLAs and split-contract checks go by the name); use one "
                        "spelling", self.vendors[b])


@dataclass
class Reading:
    """A plan being read: its findings, the file's stem, and every sheet's value so far."""

    out: Collector
    #: the plan file's name without its suffix (plan_name's default)
    stem: str = "plan"
    #: sheet name -> the value its function returned; None: the sheet is missing, its header
    #: lacks a required column, or (Settings, Roles, ...) it has errors
    values: dict[str, Any] = field(default_factory=dict)
    settings: SettingsRead = field(default_factory=SettingsRead)
    #: (role, sourcing) of the Rates rows whose cost or currency is reported wrong
    bad_rates: set[tuple[str, str]] = field(default_factory=set)
    #: roles with a Rates row reported wrong (its sourcing too, maybe)
    bad_rate_roles: set[str] = field(default_factory=set)
    #: currencies with an FX row reported wrong (a missing rate of theirs is no news)
    bad_fx: set[str] = field(default_factory=set)
    #: currencies whose FX row is warned about as the wrong way round (or suspicious)
    fx_warned: set[str] = field(default_factory=set)
    #: every scenario name of the Scenarios sheet with the cell of its first row
    scenario_names: dict[str, str] = field(default_factory=dict)
    _names: Names | None = None

    def rows(self, table: Table) -> Iterable[Row]:
        """The table's data rows (fully empty rows skipped)."""
        return rows(table, self.out)

    def get(self, sheet: str, default: Any = None) -> Any:
        """The value of ``sheet`` (``default`` when it gave none)."""
        value = self.values.get(sheet)
        return default if value is None else value

    @property
    def names(self) -> Names:
        """System and vendor names used so far (the Systems sheet read first)."""
        if self._names is None:
            self._names = Names(self.values.get("Systems"))
        return self._names

    @property
    def horizon(self) -> Horizon | None:
        return self.settings.horizon

    @property
    def currency(self) -> str | None:
        return self.settings.currency

    @property
    def known_roles(self) -> set[str] | None:
        roles: dict[str, Role] | None = self.values.get("Roles")
        return None if roles is None else set(roles)

    @property
    def rates(self) -> dict[tuple[str, str], Rate] | None:
        rates: dict[tuple[str, str], Rate] | None = self.values.get("Rates")
        return rates

    @property
    def allocation(self) -> dict[str, Allocation] | None:
        allocation: dict[str, Allocation] | None = self.values.get("Allocation")
        return allocation

    @property
    def staffing(self) -> list[StaffingLine] | None:
        staffing: list[StaffingLine] | None = self.values.get("Staffing")
        return staffing


def check_role(row: Row, role: str | None, known: set[str] | None, out: Collector) -> bool:
    """True for a role the Roles sheet lists (or any, without one); a located error else."""
    if role is None:
        return False
    if known is not None and role not in known:
        out.error("unknown-role", f"role '{role}' is not listed on the Roles sheet"
                  f"{did_you_mean(role, known)}", row.ref("Role"))
        return False
    return True


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """': did you mean 'Ops engineer'?' for the known name that ``name`` is in other
    capitals or spacing, or close to ('' when none is): names are matched exactly."""
    options = list(known)
    key = norm_header(name)
    same = [k for k in options if norm_header(k) == key]
    if not same:
        folded = {norm_header(k): k for k in options}
        close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
        same = [folded[c] for c in close]
    return f": did you mean '{same[0]}'?" if same else ""


def horizon_text(horizon: Horizon) -> str:
    """'FY2027 Q1 to FY2029 Q4 (horizon_years 3)'."""
    first, last = horizon.periods[0], horizon.periods[-1]
    return f"{first.label} to {last.label} (horizon_years {horizon.years})"
