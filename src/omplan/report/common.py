"""Sheets every workbook omplan writes shares: the Ledger, Checks, and About's common rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.findings import Finding
from omplan.core.ledger import LEDGER_FRAME_COLUMNS
from omplan.core.settings import SETTINGS_BY_KEY
from omplan.core.settings import settings_rows as schema_rows
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder, _display_len
from omplan.report.layout import Block, PrintSetup, Ref, SourceInfo, Styled, TableSpec

#: The Ledger sheet's columns: the ledger's keys, its amount, then the FTE of labour rows.
LEDGER_COLUMNS = LEDGER_FRAME_COLUMNS


class LedgerRows(Sequence[tuple[Any, ...]]):
    """The ledger as rows of plain Python values (blank keys as None), built lazily, in the
    order of :data:`LEDGER_COLUMNS` (``names``)."""

    def __init__(self, ledger: pd.DataFrame) -> None:
        self._ledger = ledger
        self.names: tuple[str, ...] = LEDGER_COLUMNS

    @cached_property
    def columns(self) -> list[list[Any]]:
        out = []
        for name in self.names:
            series = self._ledger[name]
            if not isinstance(series.dtype, pd.CategoricalDtype):  # amount, fte
                out.append(series.to_numpy(dtype=float).tolist())
                continue
            cats = [None if c == "" else str(c) for c in series.cat.categories]
            lookup = np.array([*cats, None], dtype=object)  # code -1 (missing) -> None
            out.append(lookup[series.cat.codes.to_numpy()].tolist())
        return out

    def __len__(self) -> int:
        return len(self._ledger)

    def __getitem__(self, index: Any) -> Any:  # type: ignore[override]
        if isinstance(index, slice):  # a few rows (column widths): from those rows alone
            if "columns" in self.__dict__:
                columns = self.columns
                return [tuple(c[i] for c in columns) for i in range(*index.indices(len(self)))]
            return list(LedgerRows(self._ledger.iloc[index]))
        return tuple(c[index] for c in self.columns)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.columns, strict=True)


#: Ledger headers as the sheet shows them (``FTE``, not ``Fte``).
LEDGER_HEADER = tuple("FTE" if c == "fte" else c.capitalize() for c in LEDGER_COLUMNS)
#: Number columns of the ledger and their styles; every other column is text.
_LEDGER_NUMBER_STYLES = {"amount": st.MONEY, "fte": st.FTE_STYLE}


def ledger_sheet(ledger: pd.DataFrame, currency: str) -> SheetBuilder:
    """The Ledger sheet: ``ledger``'s rows as an Excel Table, streamed as a bulk block."""
    rows = LedgerRows(ledger)
    styles = [_LEDGER_NUMBER_STYLES.get(c, st.PLAIN_STYLE) for c in LEDGER_COLUMNS]
    block = Block("ledger", 1, 1, rows, styles, header=LEDGER_HEADER, bulk=True)
    sh = SheetBuilder("Ledger")
    sheet = sh.layout
    sheet.blocks.append(block)
    sheet.show_gridlines = True
    last = max(block.last_row, block.first_row)  # a table needs one data row
    sheet.tables.append(TableSpec("Ledger", Ref("Ledger", 1, 1, last, len(LEDGER_COLUMNS)),
                                  LEDGER_HEADER))
    widths = {}
    for j, name in enumerate(LEDGER_COLUMNS, start=1):
        if name == "amount":
            top = float(ledger["amount"].abs().max()) if len(ledger) else 0.0
            widths[j] = max(14.0, _display_len(top, "money", currency) + 4)
            continue
        if not isinstance(ledger[name].dtype, pd.CategoricalDtype):
            widths[j] = 10.0  # FTE: 12.35
            continue
        longest = max((len(str(c)) for c in ledger[name].cat.categories), default=0)
        widths[j] = min(max(float(longest) + 4, len(name) + 6.0), 50.0)
    sheet.column_widths = widths
    sheet.freeze = (2, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 1))
    return sh


CHECKS_HEADER = ("Scenario", "Severity", "Code", "Location", "Message")


def checks_sheet(findings: Sequence[Finding], scenarios: Sequence[str] | None = None, *,
                 wrap: bool = True) -> SheetBuilder:
    """The Checks sheet: one row per finding in an Excel Table, with the scenario each belongs
    to when ``scenarios`` (one per finding) is given; ``wrap`` sizes rows to long messages."""
    header = CHECKS_HEADER if scenarios is not None else CHECKS_HEADER[1:]
    rows = [[f.severity, f.code, f.location, f.message] for f in findings]
    if scenarios is not None:
        rows = [[name, *row] for name, row in zip(scenarios, rows, strict=True)]
    block = Block("checks", 1, 1, rows, [st.TEXT_STYLE] * (len(header) - 1) + [st.WRAP_STYLE],
                  header=header)
    sh = SheetBuilder("Checks")
    sh.add(block)
    sheet = sh.layout
    sheet.show_gridlines = True
    last = max(block.last_row, block.first_row)
    sheet.tables.append(TableSpec("Checks", Ref("Checks", 1, 1, last, len(header)),
                                  header, style="TableStyleLight9"))
    if wrap:
        sheet.column_widths = {len(header): 90.0}
        sh.wrap_rows(block, len(header) - 1)
    sheet.freeze = (2, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 1))
    return sh


def provenance_rows(version: str, source: SourceInfo, generated: datetime) -> list[list[Any]]:
    """About-sheet rows: who produced the workbook, from which file (and its SHA-256), when."""
    return [
        ["Produced by", f"omplan {version}".strip()],
        ["Plan file", source.name or "–"],
        ["Plan file SHA-256", source.sha256 or "–"],
        ["Generated (UTC)", Styled(generated, st.DATETIME_STYLE)],
    ]


def settings_rows(settings: Any, percent_style: str,
                  year_style: str | None = None) -> list[list[Any]]:
    """About-sheet rows: every setting of the schema with the value used, in schema order;
    fractions in ``percent_style``, the fiscal year and start month in ``year_style``."""
    out: list[list[Any]] = []
    for key, value in schema_rows(settings):
        kind = SETTINGS_BY_KEY[key].kind
        if kind == "fraction":
            value = Styled(value, percent_style)
        elif kind in ("integer", "month") and year_style is not None:
            value = Styled(value, year_style)
        out.append([key, value])
    return out
