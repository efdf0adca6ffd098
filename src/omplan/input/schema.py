"""The one input schema: every sheet of the plan workbook with its columns, keys and help.

As :mod:`omplan.core.settings` is for the Settings rows, this table is for the sheets. It
drives the reader (which sheets exist and are required, each sheet's header, each cell's type,
bounds and the words its messages use), the package scan (``INPUT_SHEETS``: the only sheets a
file read inflates), the template (sheet order, headers, capacity, drop-downs, prompts, number
formats, widths and checks), the sample plan's column order, the docs' sheets table
(:func:`sheets_table_markdown`, pasted into docs/model.md) and the canonical rows that plan
versions compare (:func:`omplan.input.records.sheet_records`, rows matched by ``key``).

Adding a sheet
--------------
1. One :class:`SheetSpec` in ``SHEETS``, where the template should show it (sheets are read
   in this order too, so a sheet may use what the sheets above it gave).
2. One function ``(table, reading) -> value`` that turns its rows into model objects, listed
   in ``READERS`` of :mod:`omplan.input.parse`. The reader finds the sheet (case and spaces
   ignored), its header row and missing required columns, then calls the function with the
   :class:`~omplan.input.tables.Table` and the :class:`~omplan.input.reading.Reading` so far
   (its findings, settings, horizon, names, and every earlier sheet's value in
   ``reading.values``). ``row.get(column)`` reads a cell by its :class:`ColumnSpec`: typed, or
   None with the located finding (``Risks!C4: Low must be a number ≥ 0, got 'x'``).
3. The value fills the :class:`~omplan.core.model.Plan` field named by ``plan_field`` (the
   model gains that field, with a default); a missing optional sheet leaves the default. A
   sheet whose rows are checked against the finished plan (Actuals) sets ``against_plan``: it
   is read after the plan-wide checks, and only when the Settings are valid.
Then paste :func:`sheets_table_markdown` into docs/model.md (tests/test_docs.py says so).

For example, a ``Risks`` sheet::

    SheetSpec("Risks", key=("Driver", "Applies to"), plan_field="risks", capacity=50,
              help="Uncertain drivers, each with a low, likely and high value",
              columns=(ColumnSpec("Driver", "choice", choices=RISK_DRIVERS),
                       ColumnSpec("Applies to", width=24),
                       ColumnSpec("Low", "number"), ColumnSpec("Likely", "number"),
                       ColumnSpec("High", "number"),
                       ColumnSpec("Distribution", "choice", choices=DISTRIBUTIONS,
                                  required=False, blank="empty")))

    def read_risks(table: Table, reading: Reading) -> list[RiskDriver]:
        risks = []
        for row in reading.rows(table):
            driver, low = row.get("Driver"), row.get("Low")
            ...
        return risks

A column added to a sheet (Contracts' ``Max FTE``) is one more :class:`ColumnSpec` and a
``row.get`` in the sheet's function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from omplan.core.model import (
    ACTIVITIES,
    BASES,
    CHANGES,
    ESCALATION_TARGETS,
    IN_HOUSE,
    LEVELS,
    OFFSHORE,
    OTHER_COSTS,
    OUTSOURCE,
    PROFILE_FACTORS,
    QUARTERS,
    SOURCINGS,
)
from omplan.input.tables import (
    Collector,
    Row,
    SheetGrid,
    Table,
    find_table,
    norm_enum,
    norm_header,
    period_header,
)

__all__ = [
    "INPUT_SHEETS", "OPTIONAL_SHEETS", "REQUIRED_SHEETS", "SHEETS", "CellCheck", "ColumnSpec",
    "SheetSpec", "find_sheet_table", "sheet_spec", "sheets_table_markdown",
]

#: text: free text or a name; choice: one of ``choices`` (matched ignoring case, spaces,
#: hyphens and underscores); number: a finite number in bounds; yesno: yes/no, true/false,
#: 1/0, x, blank; currency: an ISO 4217 code; year: a fiscal year (2028 or FY2028); period:
#: a quarter (Q3 or FY2028 Q3); month: a date or text YYYY-MM; setting: a setting's key;
#: value: a value typed by its row (a setting's, or a scenario change's).
ColumnKind = Literal["text", "choice", "number", "yesno", "currency", "year", "period", "month",
                     "setting", "value"]
#: What a blank cell gives: a located error (the value is required), 0 (numbers), or nothing
#: ('' for text, NaN for numbers: "not given").
Blank = Literal["error", "zero", "empty"]
_BLANK_NUMBER: dict[str, float | None] = {"error": None, "zero": 0.0, "empty": float("nan")}

#: Upper bounds of the amounts a plan may hold: far above any real plan, low enough that no
#: total can overflow (500 lines x 1e5 FTE x 3 x 1e9 x a factor below 10 stays finite). A
#: value above its bound is a typo (1e308 for a rate) and gets a located error.
MAX_MONTHLY_COST = 1e9
MAX_FTE = 1e5
MAX_COST = 1e12
#: Plan currency for one unit of a foreign one: 1e6 covers any real pair (1 USD is about
#: 16,000 IDR) and keeps every converted total finite.
MAX_FX_RATE = 1e6

SOURCING_ALIASES = {
    "inhouse": IN_HOUSE,
    "internal": IN_HOUSE,
    "outsource": OUTSOURCE,
    "outsourced": OUTSOURCE,
    "offshore": OFFSHORE,
    "offshored": OFFSHORE,
}
LEVEL_ALIASES = {norm_enum(level): level for level in LEVELS}
ACTIVITY_ALIASES = {norm_enum(a): a for a in ACTIVITIES}
BASIS_ALIASES = {norm_enum(b): b for b in BASES}
CHANGE_ALIASES = {norm_enum(c): c for c in CHANGES}
#: profile factors are matched like headers (case and repeated spaces ignored)
FACTOR_ALIASES = {norm_header(f): f for f in PROFILE_FACTORS}
ESCALATION_ALIASES = {**SOURCING_ALIASES, "othercosts": OTHER_COSTS, "othercost": OTHER_COSTS,
                      "other": OTHER_COSTS}


@dataclass(frozen=True, slots=True)
class CellCheck:
    """The data validation the template puts on a column's input cells."""

    type: Literal["decimal", "whole", "textLength"]
    operator: str
    low: str
    high: str | None = None
    #: the message Excel shows on a refused entry; ``{name}`` stands for the column's name
    error: str = ""


POSITIVE = CellCheck("decimal", "greaterThan", "0", error="{name} must be a number > 0.")
NON_NEGATIVE = CellCheck("decimal", "greaterThanOrEqual", "0",
                         error="{name} must be a number ≥ 0.")
CURRENCY_CODE = CellCheck("textLength", "equal", "3",
                          error="A three-letter ISO 4217 code such as USD or EUR.")
CURRENCY_OR_BLANK = replace(CURRENCY_CODE, error="A three-letter ISO 4217 code such as USD or "
                            "EUR; blank = the plan's currency.")


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of an input sheet: what its cells hold and how the template offers it."""

    name: str
    kind: ColumnKind = "text"
    #: the header must have this column (an optional column may be left out)
    required: bool = True
    blank: Blank = "error"
    #: how messages name a cell of the column ('Scenario name'); '' = the column's name
    label: str = ""
    #: choice: the accepted values, as the model spells them
    choices: tuple[str, ...] = ()
    #: choice: normalised text -> choice; None = the choices themselves. ``match`` says how
    #: a cell's text is normalised: like enumerated values, or like headers
    aliases: Mapping[str, str] | None = None
    match: Literal["enum", "header"] = "enum"
    #: number: bounds (> minimum when strict; maximum None = none)
    minimum: float = 0.0
    strict: bool = False
    maximum: float | None = None
    #: the sheet whose first column lists the values (the template's drop-down offers it)
    lookup: str | None = None
    #: the template offers a drop-down of the choices (or of the lookup sheet's names)
    dropdown: bool = True
    #: the template's input message on the cell; a drop-down with a prompt offers its list
    #: but accepts any entry (the reader checks it)
    prompt: str = ""
    check: CellCheck | None = None
    number_format: str | None = None
    #: template column width: at least this, and wide enough for the header and the entries
    width: int = 0
    #: a narrow figure column (quarters, activity shares): 14 wide, or the header + 4
    narrow: bool = False
    #: a cell the planner fills in (the template's input style); False for labels
    input: bool = True
    #: written by the template only (Settings' Notes), never read
    template_only: bool = False

    @property
    def what(self) -> str:
        """How messages name a cell of this column."""
        return self.label or self.name

    @property
    def alias_map(self) -> Mapping[str, str]:
        """Normalised text -> choice (choice columns)."""
        if self.aliases is not None:
            return self.aliases
        key = norm_enum if self.match == "enum" else norm_header
        return {key(c): c for c in self.choices}

    def choice_of(self, text: str) -> str | None:
        """The choice ``text`` names, or None."""
        key = norm_enum(text) if self.match == "enum" else norm_header(text)
        return self.alias_map.get(key)

    def read(self, row: Row) -> Any:
        """This column's cell of ``row``, typed; None (and a located error) when it is wrong."""
        if self.kind == "number":
            return row.number(self.name, self.what, minimum=self.minimum, strict=self.strict,
                              blank=_BLANK_NUMBER[self.blank], maximum=self.maximum)
        if self.kind == "choice":
            return row.choice(self.name, self.what, self.alias_map, self.choices,
                              required=self.blank == "error")
        if self.kind in ("text", "setting"):
            return row.text(self.name, self.what, required=self.blank == "error")
        raise TypeError(f"a {self.kind} cell ({self.name}) is read by its sheet's function")

    @property
    def dropdown_source(self) -> str | None:
        """What the template's drop-down lists: 'choices', 'yesno', 'periods', the lookup
        sheet's name, or None (no drop-down)."""
        if not self.dropdown:
            return None
        if self.lookup:
            return self.lookup
        if self.kind == "choice" and self.choices:
            return "choices"
        if self.kind == "yesno":
            return "yesno"
        if self.kind == "period":
            return "periods"
        return None


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """One input sheet: its columns, the key of its rows and what the template shows."""

    name: str
    columns: tuple[ColumnSpec, ...]
    #: the columns that identify a row (plan versions match rows by them)
    key: tuple[str, ...]
    #: one line: what the sheet holds (the docs' sheets table)
    help: str
    required: bool = False
    #: empty input rows the template's table offers
    capacity: int = 50
    #: the Plan field the sheet's value fills (None: the value serves checks only)
    plan_field: str | None = None
    #: the quarter columns Q1-Q4, appended after ``columns``, and the ``FY<year> Q<n>``
    #: columns that override one quarter: the type of their cells (its name is the noun
    #: of the messages, 'FTE Q1')
    periods: ColumnSpec | None = None
    #: a note the template writes beside the header row
    note: str = ""
    #: the template's frozen panes
    freeze: str = "A2"
    #: read after the plan's own sheets and the plan-wide checks, and only when the Settings
    #: are valid: the sheet is checked against the plan (Actuals: its months)
    against_plan: bool = False

    @property
    def all_columns(self) -> tuple[ColumnSpec, ...]:
        """Every column in template order, the quarter columns Q1-Q4 included."""
        if self.periods is None:
            return self.columns
        return (*self.columns, *(self.period_column(q) for q in QUARTERS))

    def period_column(self, label: str, override: bool = False) -> ColumnSpec:
        """The column of quarter ``label`` ('Q3', or 'FY2028 Q3' when ``override``: optional,
        a blank cell keeping the Q3 value)."""
        assert self.periods is not None
        column = replace(self.periods, name=label, label=f"{self.periods.name} {label}")
        return replace(column, required=False, blank="empty") if override else column

    @property
    def header(self) -> list[str]:
        """The template's header row."""
        return [c.name for c in self.all_columns]

    def header_with(self, *optional: str) -> list[str]:
        """The header of a table with the required columns and the ``optional`` ones, in
        schema order (the sample plan's tables)."""
        unknown = set(optional) - set(self.optional_columns)
        if unknown:
            raise ValueError(f"{self.name} has no optional column {sorted(unknown)}")
        return [c.name for c in self.read_columns if c.required or c.name in optional]

    @property
    def read_columns(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.all_columns if not c.template_only)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.read_columns if c.required)

    @property
    def optional_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.read_columns if not c.required)

    def column(self, name: str) -> ColumnSpec | None:
        """The column named ``name`` (as the schema spells it), or a ``FY<year> Q<n>`` column
        of a sheet with quarters; None for a column the sheet does not have."""
        for column in self.all_columns:
            if column.name == name:
                return column
        if self.periods is not None and period_header(name) is not None:
            return self.period_column(name, override=True)
        return None


def find_sheet_table(grid: SheetGrid, spec: SheetSpec, out: Collector) -> Table | None:
    """The table of ``grid`` by the sheet's schema: its header row found, missing required
    columns reported (None then); its rows read cells by their :class:`ColumnSpec`."""
    table = find_table(grid, spec.required_columns, spec.optional_columns, out)
    if table is not None:
        table.columns.update({c.name: c for c in spec.read_columns})
    return table


# --------------------------------------------------------------------------- the sheets


def _system(**more: Any) -> ColumnSpec:
    return ColumnSpec("System", width=24, **more)


def _role(**more: Any) -> ColumnSpec:
    return ColumnSpec("Role", width=26, **more)


def _sourcing() -> ColumnSpec:
    return ColumnSpec("Sourcing", "choice", choices=SOURCINGS, aliases=SOURCING_ALIASES)


def _activity() -> ColumnSpec:
    return ColumnSpec("Activity", "choice", choices=ACTIVITIES, aliases=ACTIVITY_ALIASES,
                      width=20)


def _currency(check: CellCheck = CURRENCY_OR_BLANK, **more: Any) -> ColumnSpec:
    return ColumnSpec("Currency", "currency", check=check, **more)


_OPTIONAL: dict[str, Any] = {"required": False, "blank": "empty"}
_ANY_SYSTEM = "A system; list your systems on the Systems sheet to pick them here"

SHEETS: list[SheetSpec] = [
    SheetSpec(
        "Settings", required=True, capacity=9, key=("Setting",),
        help="One row per setting: fiscal year, currency, reference band and the other "
             "plan-wide values",
        columns=(ColumnSpec("Setting", "setting", label="Setting name", width=24, input=False),
                 ColumnSpec("Value", "value", blank="empty"),
                 ColumnSpec("Notes", input=False, template_only=True, **_OPTIONAL))),
    SheetSpec(
        "Roles", required=True, capacity=50, key=("Role",), plan_field="roles",
        help="The roles of the plan, each with its level: L1, L2, L3 or PMO",
        columns=(_role(), ColumnSpec("Level", "choice", choices=LEVELS,
                                     aliases=LEVEL_ALIASES))),
    SheetSpec(
        "Systems", capacity=200, key=("System",),
        help="The systems of the plan: when it lists any, every system named elsewhere must "
             "be one of them",
        columns=(_system(), ColumnSpec("Description", width=40, **_OPTIONAL),
                 ColumnSpec("Owner", width=20, **_OPTIONAL))),
    SheetSpec(
        "Rates", required=True, capacity=150, key=("Role", "Sourcing"), plan_field="rates",
        help="Fully loaded monthly cost of one FTE per role and sourcing",
        columns=(_role(lookup="Roles"), _sourcing(),
                 ColumnSpec("Monthly cost", "number", strict=True, maximum=MAX_MONTHLY_COST,
                            number_format="#,##0", check=POSITIVE),
                 _currency(**_OPTIONAL))),
    SheetSpec(
        "Allocation", required=True, capacity=50, key=("Role",), plan_field="allocation",
        help="Each role's shares of the eight activities (all blank: pro rata)",
        note="Shares per role add up to 100 %; leave a whole row blank to split that role "
             "pro rata.", freeze="B2",
        columns=(_role(lookup="Roles"), *(
            ColumnSpec(a, "number", required=False, blank="zero", label=f"{a} share",
                       number_format="0.0%", narrow=True, check=NON_NEGATIVE)
            for a in ACTIVITIES))),
    SheetSpec(
        "Staffing", required=True, capacity=500, key=("System", "Role", "Sourcing", "Vendor"),
        plan_field="staffing", freeze="B2",
        help="FTE per system, role, sourcing and vendor in each quarter",
        columns=(_system(lookup="Systems", prompt=_ANY_SYSTEM), _role(lookup="Roles"),
                 _sourcing(), ColumnSpec("Vendor", width=24, **_OPTIONAL)),
        periods=ColumnSpec("FTE", "number", blank="zero", maximum=MAX_FTE,
                           number_format="0.0#", narrow=True, check=NON_NEGATIVE)),
    SheetSpec(
        "Costs", capacity=200, key=("System", "Item", "Activity"), plan_field="costs",
        help="Non-labour cost per system, item and activity in each quarter",
        columns=(_system(lookup="Systems", prompt=_ANY_SYSTEM),
                 ColumnSpec("Item", width=36, blank="empty"), _activity(),
                 _currency(**_OPTIONAL)),
        periods=ColumnSpec("Cost", "number", blank="zero", maximum=MAX_COST,
                           number_format="#,##0", narrow=True, check=NON_NEGATIVE)),
    SheetSpec(
        "Billing", capacity=8, key=("Activity",), plan_field="billing",
        help="Per activity, whether external work is billed in the fixed fee or by separate "
             "estimate",
        columns=(_activity(), ColumnSpec("Basis", "choice", blank="empty", choices=BASES,
                                         aliases=BASIS_ALIASES))),
    SheetSpec(
        "Contracts", capacity=50, key=("Vendor",), plan_field="contracts",
        help="The service levels agreed with each vendor",
        columns=(ColumnSpec("Vendor", width=24),
                 ColumnSpec("Emergency response SLA hours", "number", strict=True,
                            label="Emergency response SLA (hours)", **_OPTIONAL),
                 ColumnSpec("Permanent fix SLA days", "number", strict=True,
                            label="Permanent fix SLA (business days)", **_OPTIONAL))),
    SheetSpec(
        "Profile", capacity=8, key=("Factor",), plan_field="profile",
        help="The situation factors that move the target share inside the band",
        columns=(ColumnSpec("Factor", "choice", choices=PROFILE_FACTORS, aliases=FACTOR_ALIASES,
                            match="header", dropdown=False, width=26),
                 ColumnSpec("Applies", "yesno", **_OPTIONAL))),
    SheetSpec(
        "Scenarios", capacity=200, key=("Scenario", "Role", "System", "Change", "From"),
        plan_field="scenario_changes",
        help="Alternatives to the Baseline, row by row: a change for a role on a system",
        columns=(ColumnSpec("Scenario", label="Scenario name", width=20),
                 _role(label="Role (a role or *)", lookup="Roles",
                       prompt="A role from the Roles sheet, or * for every role"),
                 _system(label="System (a system or *)", lookup="Systems",
                         prompt="A system, or * for every system"),
                 ColumnSpec("Change", "choice", choices=CHANGES, aliases=CHANGE_ALIASES),
                 ColumnSpec("Value", "value"),
                 ColumnSpec("From", "period", width=14, prompt=(
                     "The quarter the row applies from: Q1-Q4 of the first fiscal year, or "
                     "FY<year> Q<n> such as FY2028 Q3. Blank = from the start"), **_OPTIONAL))),
    SheetSpec(
        "Escalation", capacity=20, key=("Applies to", "Vendor"), plan_field="escalation",
        help="How much costs rise each fiscal year, per sourcing (or vendor) and for other "
             "costs",
        columns=(ColumnSpec("Applies to", "choice", choices=ESCALATION_TARGETS,
                            aliases=ESCALATION_ALIASES, width=16),
                 ColumnSpec("Vendor", width=24, prompt=(
                     "Only on Outsource or Offshore rows: this vendor's own rate. Blank = "
                     "every vendor of that sourcing"), **_OPTIONAL),
                 ColumnSpec("Annual rate", "number", minimum=-1, strict=True,
                            number_format="0.0%", check=CellCheck(
                                "decimal", "between", "-1", "1",
                                error="A yearly rate from -100 % to 100 %, e.g. 3 %.")))),
    SheetSpec(
        "FX", capacity=50, key=("Currency", "Fiscal year"), plan_field="fx",
        help="Exchange rates: plan currency for one unit of another currency, per fiscal "
             "year",
        columns=(_currency(check=CURRENCY_CODE),
                 ColumnSpec("Fiscal year", "year", number_format="0", prompt=(
                     "The fiscal year of this rate; blank = every year without its own row"),
                     check=CellCheck("whole", "between", "1900", "2200",
                                     error="A fiscal year such as 2028."), **_OPTIONAL),
                 ColumnSpec("Rate", "number", strict=True, maximum=MAX_FX_RATE,
                            number_format="0.0000", check=POSITIVE, prompt=(
                                "Plan currency for one unit of this currency (e.g. 0.92 EUR "
                                "for 1 USD)")))),
    SheetSpec(
        "Actuals", capacity=1000, key=("Month", "System", "Activity", "Currency", "Item"),
        plan_field="actuals", against_plan=True,
        help="Actual spend per month, system and activity, compared with the budget",
        columns=(ColumnSpec("Month", "month", number_format="yyyy-mm", prompt=(
                     "A date in the month (any day), or text YYYY-MM such as 2027-04")),
                 _system(lookup="Systems", prompt=_ANY_SYSTEM), _activity(),
                 ColumnSpec("Amount", "number", minimum=-float("inf"),
                            number_format="#,##0.00;-#,##0.00",
                            prompt="Actual cost of the month; negative for a credit"),
                 _currency(**_OPTIONAL), ColumnSpec("Item", width=36, **_OPTIONAL))),
]


def sheet_spec(name: str) -> SheetSpec:
    """The schema of the sheet ``name`` (matched like sheet names: case and spaces ignored)."""
    key = norm_header(name)
    for spec in SHEETS:
        if norm_header(spec.name) == key:
            return spec
    raise KeyError(name)


class SheetNames(Sequence[str]):
    """A live view of the names of the schema's sheets that ``keep``: it follows ``SHEETS``."""

    def __init__(self, keep: Callable[[SheetSpec], bool]) -> None:
        self._keep = keep

    def _names(self) -> list[str]:
        return [spec.name for spec in SHEETS if self._keep(spec)]

    def __getitem__(self, index: Any) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return repr(tuple(self._names()))


#: The sheets omplan reads, required or optional, in schema (template) order.
INPUT_SHEETS = SheetNames(lambda spec: True)
REQUIRED_SHEETS = SheetNames(lambda spec: spec.required)
OPTIONAL_SHEETS = SheetNames(lambda spec: not spec.required)


# --------------------------------------------------------------------------- the docs


def _columns_text(spec: SheetSpec) -> str:
    read = [c for c in spec.columns if not c.template_only]
    required = [f"`{c.name}`" for c in read if c.required]
    optional = [f"`{c.name}`" for c in read if not c.required]
    if spec.periods is not None:
        required.append("`Q1`…`Q4`")
        optional.append("`FY<year> Q<n>`")
    return ", ".join(required) + (f"; optional: {', '.join(optional)}" if optional else "")


def sheets_table_markdown() -> str:
    """The input sheets as a Markdown table (docs/model.md embeds it)."""
    lines = ["| Sheet | Required | Columns | A row is identified by | Holds |",
             "|---|---|---|---|---|"]
    lines += [f"| **{spec.name}** | {'yes' if spec.required else 'no'} | {_columns_text(spec)} "
              f"| {', '.join(spec.key)} | {spec.help} |" for spec in SHEETS]
    return "\n".join(lines) + "\n"
