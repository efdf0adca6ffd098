"""The plan: vocabulary of spec §1 and the typed inputs of spec §2. Knows no files."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from omplan.core.periods import QUARTERS as QUARTERS  # the period axis' quarter names
from omplan.core.periods import Horizon
from omplan.core.settings import SETTINGS_BY_KEY as _SETTING


class Kind(StrEnum):
    OPERATION = "operation"
    MAINTENANCE = "maintenance"


#: The eight activities in report order, each of one kind (spec §1).
ACTIVITY_KIND: dict[str, Kind] = {
    "Monitoring": Kind.OPERATION,
    "Incident response": Kind.OPERATION,
    "Routine tasks": Kind.OPERATION,
    "Security operations": Kind.OPERATION,
    "Corrective": Kind.MAINTENANCE,
    "Preventive": Kind.MAINTENANCE,
    "Adaptive": Kind.MAINTENANCE,
    "Perfective": Kind.MAINTENANCE,
}
ACTIVITIES: tuple[str, ...] = tuple(ACTIVITY_KIND)
OPERATION_ACTIVITIES: tuple[str, ...] = ACTIVITIES[:4]
MAINTENANCE_ACTIVITIES: tuple[str, ...] = ACTIVITIES[4:]

LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "PMO")
LEVEL_ROLE = {
    "L1": "Service Desk",
    "L2": "Operations Engineer",
    "L3": "Maintenance Engineer",
    "PMO": "PMO / Service Owner",
}


def level_label(level: str) -> str:
    """A level with its standard role, once: 'L1 Service Desk', 'PMO / Service Owner'."""
    role = LEVEL_ROLE[level]
    return role if role.split()[0] == level else f"{level} {role}"


LEVEL_GUIDANCE = {
    "L1": "outsource-friendly",
    "L2": "outsource-friendly",
    "L3": "offshore recommended",
    "PMO": "keep in-house",
}

IN_HOUSE, OUTSOURCE, OFFSHORE = "In-house", "Outsource", "Offshore"
SOURCINGS: tuple[str, ...] = (IN_HOUSE, OUTSOURCE, OFFSHORE)
EXTERNAL_SOURCINGS: tuple[str, ...] = (OUTSOURCE, OFFSHORE)

FIXED_FEE, SEPARATE_ESTIMATE = "Fixed fee", "Separate estimate"
BASES: tuple[str, ...] = (FIXED_FEE, SEPARATE_ESTIMATE)
#: Billing defaults where the sheet or a row is missing (spec §2).
DEFAULT_BILLING: dict[str, str] = {
    a: (SEPARATE_ESTIMATE if a in ("Adaptive", "Perfective") else FIXED_FEE) for a in ACTIVITIES
}

CHANGES: tuple[str, ...] = ("sourcing", "vendor", "fte_factor", "rate_factor")
BASELINE = "Baseline"

OPERATION_FACTORS: tuple[str, ...] = (
    "Revenue critical",
    "Runs 24x7",
    "High user volume",
    "Just after major release",
)
MAINTENANCE_FACTORS: tuple[str, ...] = (
    "Legacy technical debt",
    "Bug reports increasing",
    "Regulatory or API change",
    "Performance degrading",
)
PROFILE_FACTORS: tuple[str, ...] = OPERATION_FACTORS + MAINTENANCE_FACTORS

#: Where the engine books a component's money (see :class:`Component`).
PER_ROW, PER_SYSTEM, PER_COST = "row", "system", "cost"


@dataclass(frozen=True, slots=True)
class Component:
    """A cost component: ``name`` is its value in the ledger's ``component`` column and its key
    in the JSON's ``components``; ``label`` is how the report names it; ``bridge`` lists the
    (key, label) pairs of its part of the business-case bridge (labour splits into volume and
    price, every other component is its own difference).

    ``per`` says where the engine books it: ``row`` per ledger key and period (a Staffing line's
    money, with role, sourcing and vendor, split by the row's activity shares), ``system`` per
    system and period (split by activity, no role), ``cost`` per Costs row (one activity, the
    same in every scenario). ``fte``: its ledger rows carry the line's FTE."""

    name: str
    label: str
    per: str
    bridge: tuple[tuple[str, str], ...]
    fte: bool = False


#: The cost components in ledger-category and JSON order (spec §3, §6, §8): the one table the
#: engine, the ledger, the figures, the bridge and the report read. A new component is an
#: entry here plus its computation in ``core/engine.py``.
COMPONENT_TABLE: tuple[Component, ...] = (
    Component("labour", "Labour", PER_ROW, (("fte", "FTE (volume)"), ("rate", "Rates (price)")),
              fte=True),
    Component("vendor_management", "Vendor management", PER_ROW,
              (("vendor_management", "Vendor management"),)),
    Component("coordination", "Coordination", PER_SYSTEM, (("coordination", "Coordination"),)),
    Component("transition", "Transition", PER_ROW, (("transition", "Transition (one-off)"),)),
    Component("other", "Other costs", PER_COST, (("other", "Other costs"),)),
)
COMPONENT: dict[str, Component] = {c.name: c for c in COMPONENT_TABLE}
COMPONENTS: tuple[str, ...] = tuple(COMPONENT)
#: The components of each kind of booking, in table order.
ROW_COMPONENTS: tuple[str, ...] = tuple(c.name for c in COMPONENT_TABLE if c.per == PER_ROW)
SYSTEM_COMPONENTS: tuple[str, ...] = tuple(c.name for c in COMPONENT_TABLE
                                           if c.per == PER_SYSTEM)
COST_COMPONENTS: tuple[str, ...] = tuple(c.name for c in COMPONENT_TABLE if c.per == PER_COST)
#: Bridge keys in the order a reader meets them: volume, price, then the other components.
BRIDGE_KEYS: tuple[str, ...] = tuple(key for c in COMPONENT_TABLE for key, _ in c.bridge)
BRIDGE_LABELS: dict[str, str] = {key: label for c in COMPONENT_TABLE for key, label in c.bridge}


@dataclass(frozen=True, slots=True)
class Settings:
    """Plan-wide settings; the defaults come from the one schema, core/settings.py."""

    plan_name: str
    fiscal_year: int
    currency: str = _SETTING["currency"].default
    fy_start_month: int = _SETTING["fy_start_month"].default
    band_low: float = _SETTING["band_low"].default
    band_high: float = _SETTING["band_high"].default
    vendor_overhead: float = _SETTING["vendor_overhead"].default
    coordination_overhead: float = _SETTING["coordination_overhead"].default
    transition_months: float = _SETTING["transition_months"].default
    discount_rate: float = _SETTING["discount_rate"].default
    horizon_years: int = _SETTING["horizon_years"].default
    budget_scenario: str = _SETTING["budget_scenario"].default
    variance_threshold: float = _SETTING["variance_threshold"].default
    risk_draws: int = _SETTING["risk_draws"].default
    risk_seed: int = _SETTING["risk_seed"].default
    #: the optimiser (Options sheet): first quarter its changes apply from ('' = the first)
    optimise_from: str = _SETTING["optimise_from"].default
    max_changes: int | None = _SETTING["max_changes"].default
    transition_budget: float | None = _SETTING["transition_budget"].default
    min_inhouse_share: float = _SETTING["min_inhouse_share"].default
    optimised_name: str = _SETTING["optimised_name"].default
    optimise_seconds: float = _SETTING["optimise_seconds"].default


@dataclass(frozen=True, slots=True)
class Role:
    role: str
    level: str
    location: str = ""


@dataclass(frozen=True, slots=True)
class Rate:
    role: str
    sourcing: str
    monthly_cost: float
    location: str = ""
    #: ISO 4217 code of ``monthly_cost``; '' = the plan's currency
    currency: str = ""
    #: the Currency cell (where a missing FX rate is reported)
    currency_location: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    """A role's shares per activity; ``shares`` is None for a pro-rata role (all cells blank)."""

    role: str
    shares: dict[str, float] | None
    location: str = ""

    @property
    def pro_rata(self) -> bool:
        return self.shares is None


@dataclass(frozen=True, slots=True)
class StaffingLine:
    """One Staffing row: ``fte`` has one value per period of the plan's horizon (index k, see
    :class:`~omplan.core.periods.Horizon`); ``vendor`` is the Vendor cell as entered (or '')."""

    system: str
    role: str
    sourcing: str
    vendor: str
    fte: tuple[float, ...]
    row: int = 0
    location: str = ""


@dataclass(frozen=True, slots=True)
class CostLine:
    """One Costs row: ``amounts`` has one value per period of the plan's horizon."""

    system: str
    item: str
    activity: str
    amounts: tuple[float, ...]
    location: str = ""
    #: ISO 4217 code of ``amounts``; '' = the plan's currency
    currency: str = ""
    currency_location: str = ""


@dataclass(frozen=True, slots=True)
class Contract:
    vendor: str
    emergency_sla_hours: float | None
    permanent_fix_sla_days: float | None
    location: str = ""
    #: the vendor's capacity in FTE (the optimiser's Max FTE column); None = no limit
    max_fte: float | None = None


@dataclass(frozen=True, slots=True)
class ScenarioChange:
    scenario: str
    role: str  # role id or "*"
    system: str  # system name or "*"
    change: str  # one of CHANGES
    value: str | float
    location: str = ""
    #: period index k (0-based over the horizon) from which the row applies; 0 = from the start
    start: int = 0
    #: index into ``Plan.staffing`` of the one line the row applies to (the optimiser's rows,
    #: where several lines share a role and a system); None = every matching line
    line: int | None = None


@dataclass(frozen=True, slots=True)
class OptionRow:
    """One Options row: the matching Baseline lines may take (sourcing, vendor); role and
    system are an id or name, or '*'; a blank vendor offers '<Sourcing> vendor'."""

    role: str
    system: str
    sourcing: str
    vendor: str = ""
    location: str = ""


OTHER_COSTS = "Other costs"
#: What an Escalation row may apply to: a sourcing or the Costs sheet's other costs.
ESCALATION_TARGETS: tuple[str, ...] = (*SOURCINGS, OTHER_COSTS)


@dataclass(frozen=True, slots=True)
class Escalation:
    """Yearly escalation: amounts in year index y are multiplied by (1 + rate) ** y."""

    applies_to: str  # one of ESCALATION_TARGETS
    vendor: str  # '' = every vendor of that sourcing (or other costs)
    annual_rate: float
    location: str = ""


@dataclass(frozen=True, slots=True)
class FxRate:
    """Plan currency per one unit of ``currency`` in ``fiscal_year`` (None = every year
    without a row of its own)."""

    currency: str
    fiscal_year: int | None
    rate: float
    location: str = ""


@dataclass(frozen=True, slots=True)
class ActualLine:
    """One actual amount (Actuals sheet or file): fiscal month index ``month`` (0-based over the
    horizon), in ``currency`` ('' = the plan's)."""

    month: int
    system: str
    activity: str
    amount: float
    currency: str = ""
    item: str = ""
    location: str = ""


#: The uncertain drivers of the Risks sheet, in the order the docs list them.
RATE_DRIVER, FTE_DRIVER, FX_DRIVER = "Rate", "FTE", "FX"
OTHER_COSTS_DRIVER, TRANSITION_DRIVER = OTHER_COSTS, "Transition"
ESCALATION_DRIVER, VENDOR_OVERHEAD_DRIVER = "Escalation", "Vendor overhead"
RISK_DRIVERS: tuple[str, ...] = (RATE_DRIVER, FTE_DRIVER, FX_DRIVER, OTHER_COSTS_DRIVER,
                                 TRANSITION_DRIVER, ESCALATION_DRIVER, VENDOR_OVERHEAD_DRIVER)
#: Three-point distributions; PERT is the default.
PERT, TRIANGULAR, UNIFORM = "PERT", "Triangular", "Uniform"
DISTRIBUTIONS: tuple[str, ...] = (PERT, TRIANGULAR, UNIFORM)
#: ``Applies to`` of a driver that applies to everything it can.
ALL_TARGETS = "*"


@dataclass(frozen=True, slots=True)
class RiskDriver:
    """One Risks row: an uncertain driver with its Low / Likely / High and distribution.

    ``applies_to`` is the target as the plan spells it: a sourcing, a vendor name, a system,
    a currency code, ``Other costs`` or ``*`` (see the Risks sheet reference in docs/risk.md).
    """

    driver: str  # one of RISK_DRIVERS
    applies_to: str
    low: float
    likely: float
    high: float
    distribution: str = PERT  # one of DISTRIBUTIONS
    location: str = ""


def vendor_key(name: str) -> str:
    """What makes two vendor names one vendor: the name ignoring case and surrounding or
    repeated spaces ('Krakow soft' is 'Krakow Soft')."""
    return " ".join(name.split()).casefold()


def resolve_vendor(sourcing: str, vendor_cell: str) -> str:
    """The vendor of a line (spec §2): '' in-house, else the Vendor cell or '<Sourcing> vendor'."""
    if sourcing == IN_HOUSE:
        return ""
    return vendor_cell or f"{sourcing} vendor"


@dataclass(slots=True)
class Plan:
    """A checked plan: everything the engine needs, with source locations for findings."""

    settings: Settings
    roles: dict[str, Role]
    rates: dict[tuple[str, str], Rate]
    allocation: dict[str, Allocation]
    staffing: list[StaffingLine]
    costs: list[CostLine] = field(default_factory=list)
    billing: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BILLING))
    contracts: dict[str, Contract] = field(default_factory=dict)
    profile: dict[str, bool] = field(default_factory=dict)
    scenario_changes: list[ScenarioChange] = field(default_factory=list)
    escalation: list[Escalation] = field(default_factory=list)
    fx: list[FxRate] = field(default_factory=list)
    actuals: list[ActualLine] = field(default_factory=list)
    source_name: str = ""
    #: setting key -> the Value cell it was read from (``Settings!B4``); missing = default
    setting_cells: dict[str, str] = field(default_factory=dict)
    #: the Systems sheet's names in sheet order (empty without the sheet): they only check
    #: names, but they are inputs, so a plan's fingerprint and change log include them
    systems: list[str] = field(default_factory=list)
    #: the Risks sheet's three-point drivers, in sheet order (empty: no Monte Carlo)
    risks: list[RiskDriver] = field(default_factory=list)
    #: the Options sheet: what each line may take when the optimiser looks for the best mix
    options: list[OptionRow] = field(default_factory=list)

    @property
    def horizon(self) -> Horizon:
        """The period axis: the quarters of the fiscal years the plan covers."""
        s = self.settings
        return Horizon(s.fiscal_year, s.horizon_years, s.fy_start_month)

    def fx_rate(self, currency: str, fiscal_year: int) -> float | None:
        """Plan currency for one unit of ``currency`` in ``fiscal_year``: 1 for the plan's own
        currency (or ''), the year's FX row, else the all-years row, else None."""
        if not currency or currency == self.settings.currency:
            return 1.0
        fallback = None
        for row in self.fx:
            if row.currency == currency:
                if row.fiscal_year == fiscal_year:
                    return row.rate
                if row.fiscal_year is None:
                    fallback = row.rate
        return fallback

    def escalation_rate(self, applies_to: str, vendor: str = "") -> float:
        """The annual rate for (sourcing or 'Other costs', resolved vendor): the vendor's own
        row (names matched ignoring case, as on the Contracts sheet), else the row with a blank
        Vendor, else 0."""
        general = 0.0
        for row in self.escalation:
            if row.applies_to == applies_to:
                if row.vendor and row.vendor.casefold() == vendor.casefold():
                    return row.annual_rate
                if not row.vendor:
                    general = row.annual_rate
        return general

    @property
    def scenario_names(self) -> list[str]:
        """Baseline, then the scenarios in order of first appearance (spec §4)."""
        names = [BASELINE]
        for change in self.scenario_changes:
            if change.scenario not in names:
                names.append(change.scenario)
        return names

    def target_operation_share(self) -> float:
        """Situation-aware target (spec §3.10), clamped to the band."""
        s = self.settings
        up = sum(1 for f in OPERATION_FACTORS if self.profile.get(f))
        down = sum(1 for f in MAINTENANCE_FACTORS if self.profile.get(f))
        # (50 + 2.5 k) / 100 is exact in binary before one rounding: 0.55, not 0.5499999...
        return min(max((50 + 2.5 * (up - down)) / 100, s.band_low), s.band_high)
