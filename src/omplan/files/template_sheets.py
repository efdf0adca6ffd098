"""The input template's sheets, empty or filled with the sample plan (``omplan new``).

Every sheet of the input schema (:mod:`omplan.input.schema`: order, headers, capacity,
drop-downs, prompts, number formats, widths and checks) is an Excel Table whose cells offer
what the reader accepts; input cells carry one style (see INPUT_FILL / INPUT_FONT); a first
sheet explains the model.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    DEFAULT_BILLING,
    LEVEL_GUIDANCE,
    LEVELS,
    PROFILE_FACTORS,
    QUARTERS,
    level_label,
)
from omplan.core.periods import Horizon
from omplan.core.settings import SETTINGS, SETTINGS_BY_KEY
from omplan.input.schema import OPTIONAL_SHEETS, SHEETS, ColumnSpec, SheetSpec, sheet_spec
from omplan.input.tables import period_header

#: The one input-cell convention (FAST standard style): light yellow fill, dark blue text.
INPUT_FILL = "FFF2CC"
INPUT_FONT = "1F3864"
HEADER_FILL = "305496"


class _BySheet(Mapping[str, Any]):
    """A live view of the input schema: sheet name -> ``value(spec)``, in schema order."""

    def __init__(self, value: Callable[[SheetSpec], Any]) -> None:
        self._value = value

    def __getitem__(self, sheet: str) -> Any:
        for spec in SHEETS:
            if spec.name == sheet:
                return self._value(spec)
        raise KeyError(sheet)

    def __iter__(self) -> Iterator[str]:
        return iter([spec.name for spec in SHEETS])

    def __len__(self) -> int:
        return len(SHEETS)


#: The columns of each input sheet, from the input schema.
HEADERS: Mapping[str, list[str]] = _BySheet(lambda spec: spec.header)
#: Empty input rows each table offers (drop-downs and formats cover them).
CAPACITY: Mapping[str, int] = _BySheet(lambda spec: spec.capacity)

#: The Settings sheet's Notes column: each setting's help text from the one schema.
SETTING_NOTES = {spec.key: spec.help for spec in SETTINGS}
_FRACTIONS = {spec.key for spec in SETTINGS if spec.kind == "fraction"}


def default_settings(fiscal_year: int) -> list[list[Any]]:
    """The template's Settings rows: every setting with its default (fiscal_year given)."""
    return [[spec.key, fiscal_year if spec.key == "fiscal_year" else spec.template_value,
             spec.help] for spec in SETTINGS]


def template_headers(sample: bool = False) -> Mapping[str, list[str]]:
    """The columns of each input sheet: HEADERS, then, in the sample, the ``FY<year> Q<n>``
    columns its Staffing and Costs fill (the one-off projects of one year), so that the
    template keeps them."""
    if not sample:
        return HEADERS
    from omplan.files.sample import SAMPLE_PLAN

    headers = dict(HEADERS)
    for spec in SHEETS:
        if spec.periods is None:
            continue
        given = [norm(h) for h in headers[spec.name]]
        headers[spec.name] = [*headers[spec.name], *(
            h for h in SAMPLE_PLAN.get(spec.name, [[]])[0]
            if period_header(h) is not None and norm(h) not in given)]
    return headers


def template_data(fiscal_year: int, sample: bool = False) -> dict[str, list[list[Any]]]:
    """Rows (without headers) per input sheet: the defaults, or the sample plan (in the
    columns of :func:`template_headers`)."""
    if sample:
        from omplan.files.sample import SAMPLE_PLAN

        data: dict[str, list[list[Any]]] = {}
        for sheet, header in template_headers(sample).items():
            rows = SAMPLE_PLAN.get(sheet, [[]])
            positions = [norm(h) for h in rows[0]]
            data[sheet] = [[row[positions.index(norm(h))] if norm(h) in positions
                            and positions.index(norm(h)) < len(row) else None
                            for h in header] for row in rows[1:]]
        notes = HEADERS["Settings"].index("Notes")
        for row in data["Settings"]:
            row[notes] = SETTING_NOTES.get(str(row[0]))
        if not data["Systems"]:  # list the sample's systems, so the drop-downs offer them
            used = [row[0] for sheet in ("Staffing", "Costs") for row in data[sheet]]
            width = len(HEADERS["Systems"])
            data["Systems"] = [[name, *[None] * (width - 1)] for name in dict.fromkeys(used)
                               if name]
        return data
    defaults = {
        "Settings": default_settings(fiscal_year),
        "Billing": [[a, DEFAULT_BILLING[a]] for a in ACTIVITIES],
        "Profile": [[f, "no"] for f in PROFILE_FACTORS],
    }
    return {sheet: defaults.get(sheet, []) for sheet in HEADERS}


def norm(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def template_horizon(data: dict[str, list[list[Any]]], fiscal_year: int) -> Horizon:
    """The horizon the template's Settings rows describe (defaults where a row is missing
    or not a whole number in bounds)."""
    values = {norm(row[0]).replace(" ", "_"): row[1] for row in data["Settings"] if row}

    def whole(key: str, default: int) -> int:
        value, spec = values.get(key), SETTINGS_BY_KEY[key]
        ok = isinstance(value, int | float) and float(value).is_integer() \
            and spec.minimum is not None and spec.maximum is not None \
            and spec.minimum <= value <= spec.maximum
        return int(value) if ok else default  # type: ignore[arg-type]

    return Horizon(whole("fiscal_year", fiscal_year),
                   whole("horizon_years", SETTINGS_BY_KEY["horizon_years"].default))


#: Excel keeps a drop-down's typed-in list to 255 characters (here counted with its quotes).
MAX_LIST_CHARS = 255


def from_choices(horizon: Horizon) -> list[str]:
    """What the Scenarios' From drop-down offers: Q1-Q4 (of the first fiscal year), then
    FY<year> Q<n> for every quarter of the horizon, as many as fit in an Excel list."""
    choices = list(QUARTERS)
    for period in horizon.periods:
        if len(",".join([*choices, period.label])) + 2 > MAX_LIST_CHARS:
            break
        choices.append(period.label)
    return choices


def _list_formula(column: ColumnSpec, horizon: Horizon) -> str | None:
    """What a column's drop-down offers, as a data validation's list formula (None: none)."""
    source = column.dropdown_source
    if source is None:
        return None
    values = {"choices": column.choices, "yesno": ("yes", "no"),
              "periods": from_choices(horizon)}.get(source)
    if values is not None:
        return '"' + ",".join(values) + '"'
    return f"{source}!$A$2:$A${CAPACITY[source] + 1}"  # the names listed on that sheet


#: Text columns: their width fits the longest entry, at most this wide.
MAX_WIDTH = 70


def _number_format(spec: SheetSpec, header: str, setting: str | None = None) -> str | None:
    if spec.name == "Settings" and header == "Value" and setting in _FRACTIONS:
        return "0%"
    column = spec.column(header)
    return None if column is None else column.number_format


def build_template(fiscal_year: int | None = None, sample: bool = False) -> Any:
    """The template as an openpyxl Workbook (not saved)."""
    from openpyxl import Workbook

    wb = Workbook()
    start = wb.active
    start.title = "Start here"
    add_template_sheets(wb, fiscal_year, sample, start=start)
    return wb


def add_template_sheets(wb: Any, fiscal_year: int | None = None, sample: bool = False, *,
                        start: Any = None, start_extra: list[tuple[str, str]] | None = None,
                        ) -> list[Any]:
    """Render the template into the openpyxl workbook ``wb``: the 'Start here' text into the
    sheet ``start`` (a new sheet when None), then one new sheet per input table.

    ``start_extra`` lines (kind, text) go right after the title (the .xlsm's Run button).
    Returns the input sheets in order. Used by :func:`build_template` and the .xlsm builder.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    year = fiscal_year or dt.date.today().year + 1
    data = template_data(year, sample)
    if start is None:
        start = wb.create_sheet("Start here")
    _write_start_here(start, start_extra or [])
    added = []
    input_fill = PatternFill("solid", fgColor=INPUT_FILL)
    input_font = Font(color=INPUT_FONT)
    horizon = template_horizon(data, year)
    for sheet, header in template_headers(sample).items():
        spec = sheet_spec(sheet)
        columns = [spec.column(name) or ColumnSpec(name) for name in header]
        ws = wb.create_sheet(sheet)
        added.append(ws)
        rows = data[sheet]
        n = max(len(rows), spec.capacity)
        ws.append(header)
        for c, name in enumerate(header, start=1):
            ws.cell(1, c).font = Font(bold=True, color="FFFFFF")
            ws.cell(1, c).fill = PatternFill("solid", fgColor=HEADER_FILL)
            if _number_format(spec, name) not in (None, "yyyy-mm"):  # over its numbers
                ws.cell(1, c).alignment = Alignment(horizontal="right")
        for r in range(n):
            row = rows[r] if r < len(rows) else [None] * len(header)
            setting = str(row[0]) if sheet == "Settings" else None
            for c, name in enumerate(header, start=1):
                cell = ws.cell(r + 2, c, row[c - 1] if c - 1 < len(row) else None)
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text stays text, even '=...'
                if columns[c - 1].input:
                    cell.fill, cell.font = input_fill, input_font
                fmt = _number_format(spec, name, setting)
                if fmt:
                    cell.number_format = fmt
                if fmt == "yyyy-mm":  # a date and a typed '2027-04' line up alike
                    cell.alignment = Alignment(horizontal="left")
        last = get_column_letter(len(header))
        table = Table(displayName=f"{sheet}Table", ref=f"A1:{last}{n + 1}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
        ws.add_table(table)
        ws.freeze_panes = spec.freeze
        # printed, a table is one page wide (landscape) with its header on every page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        for c, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(c)].width = _width(column, rows, c - 1)
            dv = _validation(column, _list_formula(column, horizon))
            if dv is not None:
                ws.add_data_validation(dv)
                dv.add(f"{get_column_letter(c)}2:{get_column_letter(c)}{n + 1}")
        if spec.note:
            ws.cell(1, len(header) + 2, spec.note).alignment = Alignment(wrap_text=False)
    return added


def _validation(column: ColumnSpec, choices: str | None) -> Any:
    """The data validation of a column's input cells (an openpyxl DataValidation), matching
    what the reader accepts; None for a column that takes any text. ``choices``: the list
    formula of its drop-down. A drop-down with a prompt offers its list but accepts any entry
    (a system not yet listed, '*' on Scenarios): the reader checks those cells."""
    from openpyxl.worksheet.datavalidation import DataValidation

    name, prompt = column.name, column.prompt or None
    if choices is not None and prompt is not None:
        return DataValidation(type="list", formula1=choices, allow_blank=True,
                              showErrorMessage=False, showInputMessage=True,
                              promptTitle=name, prompt=prompt)
    if choices is not None:
        return DataValidation(type="list", formula1=choices, allow_blank=True,
                              showErrorMessage=True, errorTitle=name,
                              error=f"Choose a {name.lower()} from the list.")
    if column.check is not None:
        check = column.check
        return DataValidation(type=check.type, operator=check.operator, formula1=check.low,
                              formula2=check.high, allow_blank=True, showErrorMessage=True,
                              errorTitle=name, error=check.error.format(name=name),
                              showInputMessage=prompt is not None,
                              promptTitle=name if prompt else None, prompt=prompt)
    if prompt is not None:
        return DataValidation(allow_blank=True, showInputMessage=True, promptTitle=name,
                              prompt=prompt)
    return None


def _width(column: ColumnSpec, rows: list[list[Any]], c: int) -> float:
    """A column width that fits the header and the longest entry (capped at MAX_WIDTH)."""
    name = column.name
    if column.narrow:
        return max(14, len(name) + 4)
    longest = max((len(str(row[c])) for row in rows if c < len(row) and row[c] is not None),
                  default=0)
    return min(max(len(name) + 4, 16, column.width, longest + 3), MAX_WIDTH)


START_TEXT: list[tuple[str, str]] = [
    ("title", "omplan — IT operation vs maintenance budget plan"),
    ("", ""),
    ("h", "Two different jobs"),
    ("p", "Operation keeps today's system running: monitoring, incident response, routine tasks "
          "and security operations. It is always on and reactive."),
    ("p", "Maintenance keeps the system from breaking: corrective, preventive, adaptive and "
          "perfective work (ISO/IEC 14764). It is planned and proactive."),
    ("p", "Each is normally 40–60 % of the O&M budget (the band on the Settings sheet). The "
          "Profile sheet moves the target inside the band: a revenue-critical 24x7 system needs "
          "more operation, legacy debt or a regulatory change more maintenance."),
    ("", ""),
    ("h", "The eight activities"),
    *[("p", f"{a} — {ACTIVITY_KIND[a].value}") for a in ACTIVITIES],
    ("", ""),
    ("h", "Role levels"),
    *[("p", f"{level_label(lv)} — {LEVEL_GUIDANCE[lv]}") for lv in LEVELS],
    ("", ""),
    ("h", "How to fill it in"),
    ("p", "Yellow cells are inputs: type only there. Headers and notes are not inputs."),
    ("p", "1. Settings: at least fiscal_year. 2. Roles with their level. 3. Rates: the fully "
          "loaded monthly cost of one FTE per role and sourcing. 4. Allocation: each role's "
          "shares of the eight activities. 5. Staffing: FTE per system, role, sourcing and "
          "quarter. {optional} are optional."),
    ("p", "Systems: list your systems once; the System drop-downs offer them and omplan then "
          "reports any other spelling as an error, so a typo cannot create a new system."),
    ("p", "Scenarios change the Baseline: sourcing, vendor, fte_factor or rate_factor for a role "
          "(or *) on a system (or *), row by row; From sets the quarter a row starts in."),
    ("", ""),
    ("h", "Several years, currencies and actuals"),
    ("p", "horizon_years (Settings) plans several fiscal years: the Q1–Q4 cells of Staffing and "
          "Costs repeat every year; to change one quarter, add a column headed e.g. FY2028 Q3."),
    ("p", "Escalation: a yearly rate per sourcing (or vendor) and for other costs. Rates and "
          "Costs take a Currency (blank = the plan's); FX gives the rate of each currency."),
    ("p", "Actuals: the cost booked per month, system and activity, compared with the "
          "budget_scenario (Settings)."),
    ("", ""),
    ("h", "How to run"),
    ("p", "omplan run <this file> --out report.xlsx    (or press the Run button in the .xlsm)"),
    ("p", "Every problem is listed with its cell, e.g. Staffing!E7; nothing is changed in your "
          "inputs."),
]


#: The Start here column, in character widths: fits a portrait A4 or Letter page.
START_WIDTH = 66
#: Characters of body text a line of that column holds, on the safe side.
START_LINE_CHARS = 70


def _write_start_here(ws: Any, extra: list[tuple[str, str]] | None = None) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.column_dimensions["A"].width = START_WIDTH
    ws.sheet_view.showGridLines = False
    # the text stays inside a portrait page: one page wide, as many pages tall as it needs
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    optional = list(OPTIONAL_SHEETS)
    named = ", ".join(optional[:-1]) + f" and {optional[-1]}" if len(optional) > 1 else \
        "".join(optional)
    start_text = [(kind, line.replace("{optional}", named)) for kind, line in START_TEXT]
    lines = [start_text[0], *(extra or []), *start_text[1:]]
    for r, (kind, text) in enumerate(lines, start=1):
        cell = ws.cell(r, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        size = {"title": 16, "h": 12}.get(kind, 11)
        if kind in ("title", "h"):
            cell.font = Font(bold=True, size=size, color=HEADER_FILL)
        # spreadsheet applications do not grow a wrapped row by themselves on open
        width = len(text) * size * (1.2 if kind else 1.0) / 11  # bold headings run wider
        wrapped = math.ceil(width / START_LINE_CHARS) if text else 1
        if wrapped > 1 or kind:
            ws.row_dimensions[r].height = round(size * 1.4) * max(wrapped, 1)
    legend = ws.cell(len(lines) + 2, 1, "An input cell looks like this")
    legend.fill = PatternFill("solid", fgColor=INPUT_FILL)
    legend.font = Font(color=INPUT_FONT)
