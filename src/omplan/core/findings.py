"""Findings: problems as data, each with a ``Sheet!A1`` location (spec §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omplan.core.errors import OmplanError

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or advice: severity, stable code, readable message, ``Sheet!A1`` or ''."""

    severity: Severity
    code: str
    message: str
    location: str = ""

    def as_dict(self) -> dict[str, str]:
        """The JSON form (``dataclasses.asdict`` deep-copies: 50 µs a finding, not 1 µs)."""
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "location": self.location}

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def column_letter(col: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def quote_sheet(sheet: str) -> str:
    """Quote a sheet name the way Excel does in references when it needs quoting."""
    if sheet.replace("_", "").isalnum() and not sheet[0].isdigit():
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def cell_ref(sheet: str, row: int, col: int) -> str:
    """``Sheet!A1`` for a 1-based row and column."""
    return f"{quote_sheet(sheet)}!{column_letter(col)}{row}"


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


class FileProblem(OmplanError):
    """A file-level problem (not a workbook, encrypted, bomb, ...): one sentence for the user."""

    code = "file-unreadable"

    def __init__(self, message: str, code: str = "file-unreadable") -> None:
        super().__init__(message)
        self.code = code

    def as_finding(self, location: str = "") -> Finding:
        return Finding("error", self.code, str(self), location)
