"""The report's named cell styles and chart colours, described once as plain data.

Renderers (openpyxl files now, xlwings live books later) turn these into their own style
objects; the layout refers to styles by name only. Money formats carry the plan's currency
code, so the style set is built per currency with :func:`report_styles`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

FONT = "Calibri"
FONT_SIZE = 11.0

# A muted finance palette (RGB hex, no '#').
NAVY = "1F3864"
BLUE = "2F5597"
HEADER_FILL = "305496"
SUBTOTAL_FILL = "F2F2F2"
TOTAL_FILL = "D9E1F2"
GREY_TEXT = "595959"
BAD_TEXT, BAD_FILL = "9C0006", "FFC7CE"  # Excel's "light red fill with dark red text"
INPUT_FILL = "FFF2CC"  # cells a person fills in (notes, sign-off): one input look

#: Chart series colours by meaning, used by every chart of the report.
SERIES_COLOURS: dict[str, str] = {
    "operation": "2F5597",
    "maintenance": "ED7D31",
    "share": "9DC3E6",
    "band": "C00000",
    "target": "00B050",
    "increase": "C00000",
    "decrease": "00B050",
    "total": "1F3864",
}
#: Line colours for one line per scenario (cumulative savings), in scenario order.
SCENARIO_COLOURS = ("2F5597", "ED7D31", "70AD47", "7030A0", "FFC000", "5B9BD5", "A5A5A5",
                    "264478", "9E480E", "43682B")


@dataclass(frozen=True, slots=True)
class CellStyle:
    """One named cell style: number format, font, fill, alignment and borders."""

    name: str
    number_format: str = "General"
    bold: bool = False
    italic: bool = False
    size: float = FONT_SIZE
    colour: str | None = None  # font colour
    fill: str | None = None  # solid background
    align: str | None = None  # "left" | "center" | "right"
    vertical: str | None = None  # "top" | "center" | "bottom"
    wrap: bool = False
    indent: int = 0
    border_top: str | None = None  # "thin" | "medium" | "double"
    border_bottom: str | None = None


@dataclass(frozen=True, slots=True)
class HighlightStyle:
    """A conditional-format look (font colour and fill) for cells that need attention."""

    name: str
    colour: str
    fill: str
    bold: bool = False


def money_format(currency: str, signed: bool = False) -> str:
    """A LibreOffice-compatible money format with the currency code, e.g. ``#,##0 "USD"``."""
    code = re.sub(r"[^A-Za-z0-9 ]", "", currency or "").strip()[:8] or "?"
    unit = f' "{code}"'
    if signed:
        return f"+#,##0{unit};-#,##0{unit};0{unit}"
    return f"#,##0{unit}"


PERCENT = "0.0%"
SIGNED_PERCENT = "+0.0%;-0.0%;0.0%"
SIGNED_POINTS = '+0.0" pp";-0.0" pp";0.0" pp"'  # percentage points (values × 100)
SIGNED_AMOUNT = "+#,##0;-#,##0;0"  # money without its code, where a header names it
SIGNED_FTE = "+#,##0.00;-#,##0.00;0.00"
DATE = "yyyy-mm-dd"
INTEGER = "#,##0"
FTE = "#,##0.00"  # full-time equivalents: 2.5, 0.25
YEAR = "0"
DATETIME = "yyyy-mm-dd hh:mm:ss"
TEXT = "@"


def report_styles(currency: str) -> dict[str, CellStyle]:
    """Every named style of the report, keyed by name; money formats show ``currency``."""
    money = money_format(currency)
    signed = money_format(currency, signed=True)
    # body cells sit at the top of their row, level with a wrapped text beside them
    base = [
        CellStyle("omplan title", bold=True, size=16.0, colour=NAVY),
        CellStyle("omplan subtitle", italic=True, colour=GREY_TEXT),
        CellStyle("omplan section", bold=True, size=12.0, colour=NAVY),
        CellStyle("omplan note", italic=True, size=9.0, colour=GREY_TEXT),
        CellStyle("omplan header", bold=True, colour="FFFFFF", fill=HEADER_FILL, wrap=True,
                  vertical="center", border_bottom="thin"),
        CellStyle("omplan header right", bold=True, colour="FFFFFF", fill=HEADER_FILL,
                  wrap=True, vertical="center", align="right", border_bottom="thin"),
        CellStyle("omplan header center", bold=True, colour="FFFFFF", fill=HEADER_FILL,
                  vertical="center", align="center"),
        CellStyle("omplan text", vertical="top"),
        CellStyle("omplan label", align="left", vertical="top", indent=1),
        CellStyle("omplan wrap", wrap=True, vertical="top"),
        CellStyle("omplan center", align="center", vertical="top"),
        CellStyle("omplan money", number_format=money, vertical="top"),
        CellStyle("omplan signed money", number_format=signed, vertical="top"),
        CellStyle("omplan percent", number_format=PERCENT, vertical="top"),
        CellStyle("omplan percent left", number_format=PERCENT, align="left", vertical="top"),
        CellStyle("omplan signed percent", number_format=SIGNED_PERCENT, vertical="top"),
        CellStyle("omplan signed points", number_format=SIGNED_POINTS, vertical="top"),
        CellStyle("omplan integer", number_format=INTEGER, vertical="top"),
        CellStyle("omplan fte", number_format=FTE, vertical="top"),
        CellStyle("omplan signed amount", number_format=SIGNED_AMOUNT, vertical="top"),
        CellStyle("omplan signed fte", number_format=SIGNED_FTE, vertical="top"),
        CellStyle("omplan input", fill=INPUT_FILL, wrap=True, vertical="top",
                  border_top="thin", border_bottom="thin"),
        CellStyle("omplan input date", number_format=DATE, fill=INPUT_FILL, align="left",
                  vertical="top", border_top="thin", border_bottom="thin"),
        CellStyle("omplan year", number_format=YEAR, align="left"),
        CellStyle("omplan value", align="left", vertical="top"),
        CellStyle("omplan datetime", number_format=DATETIME, align="left"),
        CellStyle("omplan key", bold=True, vertical="top"),
    ]
    styles = {s.name: s for s in base}
    # subtotal and total variants of the body styles (rows, not columns, carry these)
    for body in ("omplan text", "omplan money", "omplan percent", "omplan center",
                 "omplan signed money", "omplan signed percent", "omplan integer",
                 "omplan fte", "omplan signed amount", "omplan signed fte"):
        st = styles[body]
        sub = replace(st, name=body + " subtotal", bold=True, fill=SUBTOTAL_FILL,
                      border_top="thin")
        tot = replace(st, name=body + " total", bold=True, fill=TOTAL_FILL, border_top="thin",
                      border_bottom="double")
        styles[sub.name] = sub
        styles[tot.name] = tot
    return styles


#: Conditional-format looks; the layout names them, renderers build the rules.
HIGHLIGHTS: dict[str, HighlightStyle] = {
    "out of band": HighlightStyle("out of band", BAD_TEXT, BAD_FILL, bold=True),
}

#: Short names the layout uses for the body styles. PLAIN is the workbook's default style:
#: renderers write such cells without a style of their own (fast for big tables).
PLAIN_STYLE = "Normal"
MONEY = "omplan money"
SIGNED_MONEY = "omplan signed money"
PERCENT_STYLE = "omplan percent"
PERCENT_LEFT_STYLE = "omplan percent left"
SIGNED_PERCENT_STYLE = "omplan signed percent"
SIGNED_POINTS_STYLE = "omplan signed points"
TEXT_STYLE = "omplan text"
LABEL_STYLE = "omplan label"
WRAP_STYLE = "omplan wrap"
CENTER_STYLE = "omplan center"
INTEGER_STYLE = "omplan integer"
FTE_STYLE = "omplan fte"
AMOUNT_STYLE = INTEGER_STYLE  # money in a table whose title names the currency
SIGNED_AMOUNT_STYLE = "omplan signed amount"
SIGNED_FTE_STYLE = "omplan signed fte"
INPUT_STYLE = "omplan input"  # a cell for a person to fill in (notes, sign-off)
INPUT_DATE_STYLE = "omplan input date"
YEAR_STYLE = "omplan year"
VALUE_STYLE = "omplan value"  # a fact's value, text or number, read left to right
DATETIME_STYLE = "omplan datetime"
KEY_STYLE = "omplan key"
TITLE_STYLE = "omplan title"
SUBTITLE_STYLE = "omplan subtitle"
SECTION_STYLE = "omplan section"
NOTE_STYLE = "omplan note"
HEADER_STYLE = "omplan header"
HEADER_RIGHT_STYLE = "omplan header right"
HEADER_CENTER_STYLE = "omplan header center"  # a label over a group of columns

#: Styles whose header should be right-aligned (numbers read right-aligned).
NUMERIC_STYLES = frozenset({MONEY, SIGNED_MONEY, PERCENT_STYLE, SIGNED_PERCENT_STYLE,
                            SIGNED_POINTS_STYLE, INTEGER_STYLE, FTE_STYLE, SIGNED_AMOUNT_STYLE,
                            SIGNED_FTE_STYLE})


def points_vs(share: float | None, target: float) -> float | None:
    """An operation share against the target in percentage points (0.57 vs 0.55: +2.0)."""
    return None if share is None else (share - target) * 100


def row_variant(style: str, variant: str | None) -> str:
    """The subtotal/total variant of a body style (labels use the text variant)."""
    if not variant or style in (INPUT_STYLE, INPUT_DATE_STYLE):
        return style
    if style in (LABEL_STYLE, KEY_STYLE, WRAP_STYLE, YEAR_STYLE, DATETIME_STYLE, VALUE_STYLE):
        style = TEXT_STYLE
    if style == PERCENT_LEFT_STYLE:
        style = PERCENT_STYLE
    return f"{style} {variant}"
