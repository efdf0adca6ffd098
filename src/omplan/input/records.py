"""Input sheets as canonical row records, ``{column: normalised value}`` in sheet order.

Two workbooks that hold the same plan give the same records whatever their formatting, column
order or header case: columns are named as the input schema spells them, every column the
schema reads is present (blank when the sheet lacks it), and each value is normalised the way
the reader reads its column (1 and 1.0 are 1.0; ``in house`` is ``In-house``; a blank FTE is
0.0; a blank optional text is None). Plan versions fingerprint and compare these, matching
rows by their sheet's ``key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from omplan.core.settings import SETTINGS_BY_KEY, month_number
from omplan.input.actuals import _parse_month
from omplan.input.schema import (
    SHEETS,
    SOURCING_ALIASES,
    ColumnSpec,
    SheetSpec,
    find_sheet_table,
)
from omplan.input.settings_sheet import setting_key
from omplan.input.tables import (
    Collector,
    SheetGrid,
    as_float,
    currency_code,
    is_blank,
    norm_enum,
    norm_header,
    parse_period,
    parse_yes_no,
    period_header,
    rows,
)

__all__ = ["Record", "canonical_records", "record_key", "sheet_records"]

#: One input row: column name (as the schema spells it) -> normalised value.
Record = dict[str, Any]


def _text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _number(value: Any, blank: Any) -> Any:
    if is_blank(value):
        return blank
    number = as_float(value)
    return _text(value) if number is None else number


def _whole(value: Any) -> Any:
    number = as_float(value)
    if number is not None and number.is_integer():
        return int(number)
    return _text(value)


def _normaliser(column: ColumnSpec) -> Callable[[Any], Any]:
    """How a cell of ``column`` is normalised (the kinds typed by their row excepted)."""
    kind = column.kind
    if kind == "number":
        blank = 0.0 if column.blank == "zero" else None
        return lambda value: _number(value, blank)
    if kind == "choice":
        def choice(value: Any) -> Any:
            text = _text(value)
            return None if text is None else column.choice_of(text) or text
        return choice
    if kind == "yesno":
        def yes_no(value: Any) -> Any:
            answer = parse_yes_no(value)
            return _text(value) if answer is None else answer
        return yes_no
    if kind == "currency":
        def code(value: Any) -> Any:
            text = _text(value)
            return None if text is None else currency_code(text) or text
        return code
    if kind == "year":
        def year(value: Any) -> Any:
            if isinstance(value, str) and norm_enum(value).startswith("fy"):
                value = norm_enum(value)[2:]
            return None if is_blank(value) else _whole(value)
        return year
    if kind == "period":
        def period(value: Any) -> Any:
            parsed = parse_period(value)
            if parsed is None:
                return _text(value)
            year, quarter = parsed
            return f"Q{quarter}" if year is None else f"FY{year} Q{quarter}"
        return period
    if kind == "month":
        def month(value: Any) -> Any:
            year, number, why = _parse_month(value)
            if why == "blank":
                return None
            return f"{year:04d}-{number:02d}" if not why else _text(value)
        return month
    if kind == "setting":
        return lambda value: None if is_blank(value) else setting_key(value)
    return _text


def _setting_value(key: Any, value: Any) -> Any:
    """A Settings Value as its setting's kind reads it."""
    spec = SETTINGS_BY_KEY.get(key) if isinstance(key, str) else None
    if spec is None or is_blank(value):
        return _text(value)
    if spec.kind in ("integer", "month"):
        if spec.kind == "month" and isinstance(value, str) and month_number(value) is not None:
            return month_number(value)
        return _whole(value)
    if spec.kind in ("fraction", "number"):
        return _number(value, None)
    if spec.kind == "currency":
        text = _text(value)
        return text if text is None else currency_code(text) or text
    return _text(value)


def _change_value(change: Any, value: Any) -> Any:
    """A Scenarios Value as its row's change reads it."""
    if change == "sourcing":
        text = _text(value)
        return None if text is None else SOURCING_ALIASES.get(norm_enum(text), text)
    if change in ("fte_factor", "rate_factor"):
        return _number(value, None)
    return _text(value)


def sheet_records(grid: SheetGrid, spec: SheetSpec) -> list[Record]:
    """The rows of one input sheet as records, in sheet order (fully empty rows skipped; none
    when its header lacks a required column)."""
    out = Collector()
    table = find_sheet_table(grid, spec, out)
    if table is None:
        return []
    columns = list(spec.read_columns)
    if spec.periods is not None:  # the FY<year> Q<n> columns, under their canonical label
        for c, value in enumerate(grid.rows[table.header_r] if grid.rows else ()):
            parsed = period_header(value)
            if parsed is not None and c not in table.cols.values():
                label = f"FY{parsed[0]} Q{parsed[1]}"
                if label not in table.cols:
                    table.cols[label] = c
                    columns.append(spec.period_column(label, override=True))
    normalise = {c.name: _normaliser(c) for c in columns}
    overrides = {c.name for c in columns[len(spec.read_columns):]}
    records = []
    for row in rows(table, out):
        record: Record = {}
        for column in columns:
            raw = row.raw(column.name)
            if column.kind == "value":
                by = record.get("Setting", record.get("Change"))
                value = (_setting_value if "Setting" in record else _change_value)(by, raw)
            else:
                value = normalise[column.name](raw)
            if value is not None or column.name not in overrides:
                record[column.name] = value
        records.append(record)
    return records


def canonical_records(grids: Mapping[str, SheetGrid]) -> dict[str, list[Record]]:
    """Every input sheet found in ``grids`` (names matched like the reader does) -> its
    records, sheets in schema order."""
    by_name = {norm_header(name): grid for name, grid in grids.items()}
    found = {}
    for spec in SHEETS:
        grid = by_name.get(norm_header(spec.name))
        if grid is not None:
            found[spec.name] = sheet_records(grid, spec)
    return found


def record_key(spec: SheetSpec, record: Record) -> tuple[Any, ...]:
    """The key of a row within its sheet (the spec's key columns)."""
    return tuple(record.get(column) for column in spec.key)
