"""The input template's sheets, empty or filled with the sample plan (``omplan new``).

Every input sheet of spec §2 (and the multi-year Escalation, FX and Actuals sheets of §7, §9) is
an Excel Table with drop-downs for the enumerated columns; input cells carry one style (see
INPUT_FILL / INPUT_FONT); a first sheet explains the model.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from omplan.core.model import (
    ACTIVITIES,
    ACTIVITY_KIND,
    BASES,
    CHANGES,
    DEFAULT_BILLING,
    ESCALATION_TARGETS,
    LEVEL_GUIDANCE,
    LEVELS,
    PROFILE_FACTORS,
    QUARTERS,
    SOURCINGS,
    level_label,
)
from omplan.core.periods import Horizon
from omplan.core.settings import SETTINGS, SETTINGS_BY_KEY
from omplan.input.tables import period_header

#: The one input-cell convention (FAST standard style): light yellow fill, dark blue text.
INPUT_FILL = "FFF2CC"
INPUT_FONT = "1F3864"
HEADER_FILL = "305496"

HEADERS: dict[str, list[str]] = {
    "Settings": ["Setting", "Value", "Notes"],
    "Roles": ["Role", "Level"],
    "Systems": ["System", "Description", "Owner"],
    "Rates": ["Role", "Sourcing", "Monthly cost", "Currency"],
    "Allocation": ["Role", *ACTIVITIES],
    "Staffing": ["System", "Role", "Sourcing", "Vendor", *QUARTERS],
    "Costs": ["System", "Item", "Activity", "Currency", *QUARTERS],
    "Billing": ["Activity", "Basis"],
    "Contracts": ["Vendor", "Emergency response SLA hours", "Permanent fix SLA days"],
    "Profile": ["Factor", "Applies"],
    "Scenarios": ["Scenario", "Role", "System", "Change", "Value", "From"],
    "Escalation": ["Applies to", "Vendor", "Annual rate"],
    "FX": ["Currency", "Fiscal year", "Rate"],
    "Actuals": ["Month", "System", "Activity", "Amount", "Currency", "Item"],
}
#: Empty input rows each table offers (drop-downs and formats cover them).
CAPACITY: dict[str, int] = {"Settings": 9, "Roles": 50, "Systems": 200, "Rates": 150,
                            "Allocation": 50,
                            "Staffing": 500, "Costs": 200, "Billing": 8, "Contracts": 50,
                            "Profile": 8, "Scenarios": 200, "Escalation": 20, "FX": 50,
                            "Actuals": 1000}

#: The Settings sheet's Notes column: each setting's help text from the one schema.
SETTING_NOTES = {spec.key: spec.help for spec in SETTINGS}
_FRACTIONS = {spec.key for spec in SETTINGS if spec.kind == "fraction"}


def default_settings(fiscal_year: int) -> list[list[Any]]:
    """The template's Settings rows: every setting with its default (fiscal_year given)."""
    return [[spec.key, fiscal_year if spec.key == "fiscal_year" else spec.template_value,
             spec.help] for spec in SETTINGS]


def template_headers(sample: bool = False) -> dict[str, list[str]]:
    """The columns of each input sheet: HEADERS, then, in the sample, the ``FY<year> Q<n>``
    columns its Staffing and Costs fill (the one-off projects of one year), so that the
    template keeps them."""
    if not sample:
        return HEADERS
    from omplan.files.sample import SAMPLE_PLAN

    headers = dict(HEADERS)
    for sheet in ("Staffing", "Costs"):
        given = [norm(h) for h in headers[sheet]]
        headers[sheet] = [*headers[sheet], *(
            h for h in SAMPLE_PLAN.get(sheet, [[]])[0]
            if period_header(h) is not None and norm(h) not in given)]
    return headers


def _is_quarter(header: str) -> bool:
    """Q1-Q4, or one quarter of one year (``FY2028 Q3``)."""
    return header in QUARTERS or period_header(header) is not None


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
        for row in data["Settings"]:
            row[2] = SETTING_NOTES.get(str(row[0]))
        if not data["Systems"]:  # list the sample's systems, so the drop-downs offer them
            used = [row[0] for sheet in ("Staffing", "Costs") for row in data[sheet]]
            data["Systems"] = [[name, None, None] for name in dict.fromkeys(used) if name]
        return data
    return {
        "Settings": default_settings(fiscal_year),
        "Billing": [[a, DEFAULT_BILLING[a]] for a in ACTIVITIES],
        "Profile": [[f, "no"] for f in PROFILE_FACTORS],
        **{sheet: [] for sheet in HEADERS if sheet not in ("Settings", "Billing", "Profile")},
    }


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


def _lists(horizon: Horizon) -> dict[str, str]:
    quoted = {name: '"' + ",".join(values) + '"' for name, values in {
        "level": LEVELS, "sourcing": SOURCINGS, "activity": ACTIVITIES, "basis": BASES,
        "change": CHANGES, "yesno": ("yes", "no"), "escalation": ESCALATION_TARGETS,
        "from": from_choices(horizon)}.items()}
    quoted["role"] = f"Roles!$A$2:$A${CAPACITY['Roles'] + 1}"
    quoted["system"] = f"Systems!$A$2:$A${CAPACITY['Systems'] + 1}"
    return quoted


#: (sheet, column header) -> drop-down list key of _lists()
DROPDOWNS = {
    ("Roles", "Level"): "level", ("Rates", "Role"): "role", ("Rates", "Sourcing"): "sourcing",
    ("Allocation", "Role"): "role", ("Staffing", "Role"): "role",
    ("Staffing", "Sourcing"): "sourcing", ("Costs", "Activity"): "activity",
    ("Billing", "Activity"): "activity", ("Billing", "Basis"): "basis",
    ("Profile", "Applies"): "yesno", ("Scenarios", "Change"): "change",
    ("Staffing", "System"): "system", ("Costs", "System"): "system",
    ("Scenarios", "Role"): "role", ("Scenarios", "System"): "system",
    ("Scenarios", "From"): "from", ("Escalation", "Applies to"): "escalation",
    ("Actuals", "System"): "system", ("Actuals", "Activity"): "activity",
}
#: Drop-downs that offer a list but accept any entry, with the prompt shown on the cell: a
#: system need not be listed while the Systems sheet is empty, and Scenarios take '*' too
#: (a list validation cannot add '*' to a range). The reader checks these cells.
OPEN_DROPDOWNS = {
    ("Staffing", "System"): "A system; list your systems on the Systems sheet to pick them here",
    ("Costs", "System"): "A system; list your systems on the Systems sheet to pick them here",
    ("Scenarios", "Role"): "A role from the Roles sheet, or * for every role",
    ("Scenarios", "System"): "A system, or * for every system",
    ("Scenarios", "From"): "The quarter the row applies from: Q1-Q4 of the first fiscal year, "
                           "or FY<year> Q<n> such as FY2028 Q3. Blank = from the start",
    ("Actuals", "System"): "A system; list your systems on the Systems sheet to pick them here",
}
#: Cells that take any value, with a prompt (no list to pick from).
PROMPTS = {
    ("Actuals", "Month"): "A date in the month (any day), or text YYYY-MM such as 2027-04",
    ("Actuals", "Amount"): "Actual cost of the month; negative for a credit",
    ("Escalation", "Vendor"): "Only on Outsource or Offshore rows: this vendor's own rate. "
                              "Blank = every vendor of that sourcing",
    ("FX", "Fiscal year"): "The fiscal year of this rate; blank = every year without its own row",
    ("FX", "Rate"): "Plan currency for one unit of this currency (e.g. 0.92 EUR for 1 USD)",
}
#: Text columns: their width fits the longest entry, at least this wide.
TEXT_WIDTH = {"System": 24, "Role": 26, "Vendor": 24, "Item": 36, "Description": 40,
              "Owner": 20, "Factor": 26, "Scenario": 20, "Setting": 24, "From": 14,
              "Activity": 20, "Applies to": 16}
MAX_WIDTH = 70


def _number_format(sheet: str, header: str, setting: str | None = None) -> str | None:
    if sheet == "Rates" and header == "Monthly cost" or sheet == "Costs" and _is_quarter(header):
        return "#,##0"
    if sheet == "Actuals" and header == "Amount":
        return "#,##0.00;-#,##0.00"
    if sheet == "Actuals" and header == "Month":
        return "yyyy-mm"
    if sheet == "Escalation" and header == "Annual rate":
        return "0.0%"
    if sheet == "FX" and header == "Rate":
        return "0.0000"
    if sheet == "FX" and header == "Fiscal year":
        return "0"
    if sheet == "Staffing" and _is_quarter(header):
        return "0.0#"
    if sheet == "Allocation" and header in ACTIVITIES:
        return "0.0%"
    if sheet == "Settings" and header == "Value" and setting in _FRACTIONS:
        return "0%"
    return None


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
    lists = _lists(template_horizon(data, year))
    for sheet, header in template_headers(sample).items():
        ws = wb.create_sheet(sheet)
        added.append(ws)
        rows = data[sheet]
        n = max(len(rows), CAPACITY[sheet])
        ws.append(header)
        for c, name in enumerate(header, start=1):
            ws.cell(1, c).font = Font(bold=True, color="FFFFFF")
            ws.cell(1, c).fill = PatternFill("solid", fgColor=HEADER_FILL)
            if _number_format(sheet, name) not in (None, "yyyy-mm"):  # over its numbers
                ws.cell(1, c).alignment = Alignment(horizontal="right")
        for r in range(n):
            row = rows[r] if r < len(rows) else [None] * len(header)
            setting = str(row[0]) if sheet == "Settings" else None
            for c, name in enumerate(header, start=1):
                cell = ws.cell(r + 2, c, row[c - 1] if c - 1 < len(row) else None)
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text stays text, even '=...'
                is_input = not (sheet == "Settings" and name in ("Setting", "Notes"))
                if is_input:
                    cell.fill, cell.font = input_fill, input_font
                fmt = _number_format(sheet, name, setting)
                if fmt:
                    cell.number_format = fmt
                if fmt == "yyyy-mm":  # a date and a typed '2027-04' line up alike
                    cell.alignment = Alignment(horizontal="left")
        last = get_column_letter(len(header))
        table = Table(displayName=f"{sheet}Table", ref=f"A1:{last}{n + 1}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
        ws.add_table(table)
        ws.freeze_panes = "B2" if sheet in ("Allocation", "Staffing") else "A2"
        # printed, a table is one page wide (landscape) with its header on every page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        for c, name in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(c)].width = _width(name, rows, c - 1)
            dv = _validation(sheet, name, lists)
            if dv is not None:
                ws.add_data_validation(dv)
                dv.add(f"{get_column_letter(c)}2:{get_column_letter(c)}{n + 1}")
        if sheet == "Allocation":
            ws.cell(1, len(header) + 2, "Shares per role add up to 100 %; leave a whole row "
                    "blank to split that role pro rata.").alignment = Alignment(wrap_text=False)
    return added


def _validation(sheet: str, name: str, lists: dict[str, str]) -> Any:
    """The data validation of a column's input cells (an openpyxl DataValidation), matching
    what the reader accepts; None for a column that takes any text."""
    from openpyxl.worksheet.datavalidation import DataValidation

    key = DROPDOWNS.get((sheet, name))
    prompt = PROMPTS.get((sheet, name))

    def check(kind: str, operator: str | None, low: str, high: str | None = None,
              error: str = "") -> Any:
        return DataValidation(type=kind, operator=operator, formula1=low, formula2=high,
                              allow_blank=True, showErrorMessage=True, errorTitle=name,
                              error=error, showInputMessage=prompt is not None,
                              promptTitle=name if prompt else None, prompt=prompt)

    if (sheet, name) in OPEN_DROPDOWNS and key is not None:
        return DataValidation(type="list", formula1=lists[key], allow_blank=True,
                              showErrorMessage=False, showInputMessage=True,
                              promptTitle=name, prompt=OPEN_DROPDOWNS[(sheet, name)])
    if key:
        return DataValidation(type="list", formula1=lists[key], allow_blank=True,
                              showErrorMessage=True, errorTitle=name,
                              error=f"Choose a {name.lower()} from the list.")
    if name == "Currency":
        blank = "" if sheet == "FX" else "; blank = the plan's currency"
        return check("textLength", "equal", "3", error="A three-letter ISO 4217 code such as "
                     f"USD or EUR{blank}.")
    if sheet == "Rates" and name == "Monthly cost" or sheet == "FX" and name == "Rate":
        return check("decimal", "greaterThan", "0", error=f"{name} must be a number > 0.")
    if sheet == "FX" and name == "Fiscal year":
        return check("whole", "between", "1900", "2200", error="A fiscal year such as 2028.")
    if sheet == "Escalation" and name == "Annual rate":  # the reader also refuses -100 %
        return check("decimal", "between", "-1", "1", error="A yearly rate from -100 % to "
                     "100 %, e.g. 3 %.")
    if _number_format(sheet, name) in ("#,##0", "0.0#", "0.0%"):
        return check("decimal", "greaterThanOrEqual", "0", error=f"{name} must be a number ≥ 0.")
    if prompt is not None:
        return DataValidation(allow_blank=True, showInputMessage=True, promptTitle=name,
                              prompt=prompt)
    return None


def _width(name: str, rows: list[list[Any]], c: int) -> float:
    """A column width that fits the header and the longest entry (capped at MAX_WIDTH)."""
    if _is_quarter(name) or name in ACTIVITIES:
        return max(14, len(name) + 4)
    longest = max((len(str(row[c])) for row in rows if c < len(row) and row[c] is not None),
                  default=0)
    return min(max(len(name) + 4, 16, TEXT_WIDTH.get(name, 0), longest + 3), MAX_WIDTH)


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
          "quarter. Systems, Costs, Billing, Contracts, Profile, Scenarios, Escalation, FX and "
          "Actuals are optional."),
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
    lines = [START_TEXT[0], *(extra or []), *START_TEXT[1:]]
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
