"""The one Settings schema: key, type, default, bounds and help text of every plan setting.

The reader parses the Settings sheet with it, the template writes its Settings sheet from it,
the docs generate their settings table from it and the About sheet can list the values with
:func:`settings_rows`. Adding a setting means adding one :class:`SettingSpec` here (and the
field of the same name on :class:`omplan.core.model.Settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: text: free text; currency: a three-letter ISO 4217 code; integer: a whole number in bounds;
#: month: 1-12 or a month name; fraction: a number from 0 to 1 (a percent cell);
#: number: a number in bounds.
#: amount: money in the plan's currency, ≥ 0 (blank = none).
SettingKind = Literal["text", "currency", "integer", "month", "fraction", "number", "amount"]


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: what it is, what it takes and what it defaults to."""

    key: str
    kind: SettingKind
    #: The value when the row is missing or blank; None for a required setting (fiscal_year)
    #: and for plan_name (whose default is the plan file's name).
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False

    @property
    def template_value(self) -> Any:
        """The value the template's Settings sheet shows (whole numbers without '.0')."""
        value = self.default
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @property
    def bounds_text(self) -> str:
        """The accepted values in words, for messages and the docs."""
        if self.kind == "fraction":
            return "a fraction from 0 to 1 (a percent cell, e.g. 40 %)"
        if self.kind == "currency":
            return "a three-letter ISO 4217 code"
        if self.kind == "month":
            return "1 to 12, or a month name such as April or Apr"
        if self.kind == "text":
            return "any text"
        if self.kind == "amount":
            return "an amount ≥ 0 in the plan's currency"
        if self.kind == "integer":
            return f"a whole number from {_whole(self.minimum)} to {_whole(self.maximum)}"
        return f"a number from {self.minimum:g} to {self.maximum:g}"


def _whole(value: float | None) -> str:
    """A bound in words: 2200 as is, 1000000 as 1,000,000 (never 1e+06)."""
    assert value is not None
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:g}"


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("plan_name", "text", None, "Name shown on reports (default: the file name)"),
    SettingSpec("currency", "currency", "USD", "ISO 4217 code, e.g. USD, EUR, JPY"),
    SettingSpec("fiscal_year", "integer", None, "Required: the fiscal year planned",
                minimum=1900, maximum=2200, required=True),
    SettingSpec("fy_start_month", "month", 1, "Month the fiscal year starts (1 = January)",
                minimum=1, maximum=12),
    SettingSpec("band_low", "fraction", 0.40, "Lower edge of the reference band for each side",
                minimum=0, maximum=1),
    SettingSpec("band_high", "fraction", 0.60, "Upper edge of the reference band for each side",
                minimum=0, maximum=1),
    SettingSpec("vendor_overhead", "fraction", 0.10,
                "Retained-organisation cost of managing external staff", minimum=0, maximum=1),
    SettingSpec("coordination_overhead", "fraction", 0.05,
                "Cost of split operation/maintenance contracts ('hot potato')",
                minimum=0, maximum=1),
    SettingSpec("transition_months", "number", 2.0,
                "Months of rate paid once when a line changes sourcing or vendor",
                minimum=0, maximum=120),
    SettingSpec("discount_rate", "fraction", 0.08,
                "Yearly rate that discounts future costs and savings (NPV, business case)",
                minimum=0, maximum=1),
    SettingSpec("horizon_years", "integer", 1,
                "Fiscal years the plan covers, from fiscal_year on (Q1-Q4 repeat each year)",
                minimum=1, maximum=10),
    SettingSpec("budget_scenario", "text", "Baseline",
                "Scenario that actuals are compared with (the budget)"),
    SettingSpec("variance_threshold", "fraction", 0.05,
                "Quarter over budget by more than this share of its plan is flagged",
                minimum=0, maximum=1),
    SettingSpec("risk_draws", "integer", 10_000,
                "Monte Carlo draws of the Risks sheet's drivers (more: steadier percentiles)",
                minimum=100, maximum=1_000_000),
    SettingSpec("risk_seed", "integer", 1,
                "Seed of the Monte Carlo: the same seed gives the same figures",
                minimum=0, maximum=4_294_967_295),
    # the optimiser (an Options sheet): blank = no such rule
    SettingSpec("optimise_from", "text", "",
                "Quarter from which the optimised mix applies, Q<n> or FY<year> Q<n> "
                "(blank = the first quarter)"),
    SettingSpec("max_changes", "integer", None,
                "Most Staffing lines the optimiser may move (blank = no limit)",
                minimum=0, maximum=100_000),
    SettingSpec("transition_budget", "amount", None,
                "Most the optimised mix may spend on transition (blank = no limit)",
                minimum=0, maximum=1e12),
    SettingSpec("min_inhouse_share", "fraction", 0.0,
                "Least in-house share of each system's FTE in every optimised quarter",
                minimum=0, maximum=1),
    SettingSpec("optimised_name", "text", "Optimised",
                "Name of the scenario the optimiser adds"),
    SettingSpec("optimise_seconds", "number", 60.0,
                "Longest the optimiser searches before it reports its best mix so far",
                minimum=1, maximum=3600),
)
SETTINGS_BY_KEY: dict[str, SettingSpec] = {spec.key: spec for spec in SETTINGS}
SETTING_KEYS: tuple[str, ...] = tuple(SETTINGS_BY_KEY)

MONTHS: tuple[str, ...] = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)


def month_number(text: str) -> int | None:
    """'April', 'apr', 'APR.' -> 4; None when the text names no month."""
    word = text.strip().rstrip(".").casefold()
    if len(word) < 3:
        return None
    for number, name in enumerate(MONTHS, start=1):
        if name.startswith(word):
            return number
    return None


def settings_rows(settings: Any) -> list[list[Any]]:
    """Every setting as ``[key, value]`` in schema order (for the About sheet)."""
    return [[spec.key, getattr(settings, spec.key)] for spec in SETTINGS]


def _default_text(spec: SettingSpec) -> str:
    if spec.key == "plan_name":
        return "the file name"
    if spec.required:
        return "required"
    if spec.default is None or spec.default == "":
        return "blank"
    if spec.kind == "fraction":
        return f"{spec.default:.0%}"
    return f"{spec.template_value}"


def settings_table_markdown() -> str:
    """The Settings sheet reference as a Markdown table (docs/model.md embeds it)."""
    lines = ["| Setting | Default | Accepted values | Meaning |", "|---|---|---|---|"]
    lines += [f"| `{spec.key}` | {_default_text(spec)} | {spec.bounds_text} | {spec.help} |"
              for spec in SETTINGS]
    return "\n".join(lines) + "\n"
