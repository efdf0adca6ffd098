"""The period axis: quarters indexed over the fiscal years of a plan's horizon, and their months.

Quarter k of a horizon starting in fiscal year Y is quarter ``k mod 4 + 1`` of fiscal year
``Y + k div 4``. A fiscal year is named by the calendar year in which it *starts*: with
``fy_start_month`` 4, FY2027 runs Apr 2027 – Mar 2028 and its Q4 is Jan–Mar 2028. Every module
that needs quarter names, month labels or fiscal-year spans asks this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

QUARTERS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


@dataclass(frozen=True, slots=True)
class Period:
    """Quarter ``index`` (k) of a horizon: quarter ``quarter`` (1–4) of ``fiscal_year``."""

    index: int
    fiscal_year: int
    quarter: int

    @property
    def name(self) -> str:
        """``Q3``."""
        return QUARTERS[self.quarter - 1]

    @property
    def year_index(self) -> int:
        """y = k div 4: 0 for the horizon's first fiscal year."""
        return self.index // 4

    @property
    def label(self) -> str:
        """``FY2027 Q3``."""
        return f"FY{self.fiscal_year} {self.name}"


@dataclass(frozen=True)
class Horizon:
    """The fiscal years a plan covers, quarter by quarter."""

    first_fiscal_year: int
    years: int = 1
    fy_start_month: int = 1

    @cached_property
    def periods(self) -> tuple[Period, ...]:
        return tuple(Period(k, self.first_fiscal_year + k // 4, k % 4 + 1)
                     for k in range(4 * self.years))

    @property
    def fiscal_years(self) -> list[int]:
        return [self.first_fiscal_year + y for y in range(self.years)]

    def __len__(self) -> int:
        return 4 * self.years

    @property
    def labels(self) -> tuple[str, ...]:
        """Period names as the ledger's ``quarter`` column holds them: ``Q1``..``Q4`` for a
        one-year horizon (as in v1), ``FY2027 Q1``... otherwise."""
        if self.years == 1:
            return QUARTERS
        return tuple(p.label for p in self.periods)

    def period_of(self, fiscal_year: int, quarter: int) -> Period | None:
        """The period for quarter 1–4 of ``fiscal_year``; None outside the horizon."""
        k = 4 * (fiscal_year - self.first_fiscal_year) + quarter - 1
        return self.periods[k] if 0 <= k < len(self) and 1 <= quarter <= 4 else None

    def month_index(self, year: int, month: int) -> int:
        """Fiscal month index i of calendar (year, month): 0 for the horizon's first month;
        negative or ≥ 12 × years when outside the horizon."""
        return (year - self.first_fiscal_year) * 12 + (month - self.fy_start_month)

    def month_of(self, index: int) -> tuple[int, int]:
        """Calendar (year, month) of fiscal month index i."""
        offset = self.fy_start_month - 1 + index
        return self.first_fiscal_year + offset // 12, offset % 12 + 1

    def months(self, period: Period) -> list[tuple[int, int]]:
        """The (calendar year, month 1–12) of the period's three months."""
        return fiscal_months(period.fiscal_year, self.fy_start_month, period.name)


_QUARTER_RE = re.compile(r"(?:fy(\d{4}))?q([1-4])")


def parse_quarter(value: Any) -> tuple[int | None, int] | None:
    """A quarter typed in a cell: 'Q3' -> (None, 3); 'FY2028 Q3', 'fy2028q3', 'FY 2028-Q3'
    -> (2028, 3). Case, spaces, hyphens and underscores are ignored; None when unreadable."""
    if not isinstance(value, str):
        return None
    match = _QUARTER_RE.fullmatch(re.sub(r"[\s\-_]+", "", value).casefold())
    if match is None:
        return None
    return (int(match[1]) if match[1] else None), int(match[2])


def quarter_index(value: Any, horizon: Horizon) -> int | None:
    """The period index k a quarter text names (``Q<n>`` of the first fiscal year, or
    ``FY<year> Q<n>``); 0 for a blank; None when unreadable or outside the horizon."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    parsed = parse_quarter(value)
    if parsed is None:
        return None
    year, quarter = parsed
    period = horizon.period_of(horizon.first_fiscal_year if year is None else year, quarter)
    return None if period is None else period.index


def fiscal_months(fiscal_year: int, fy_start_month: int, quarter: str) -> list[tuple[int, int]]:
    """The (calendar year, month 1–12) of the three months of ``quarter`` (``Q1``..``Q4``)."""
    q = QUARTERS.index(quarter)
    out = []
    for k in range(3):
        offset = fy_start_month - 1 + 3 * q + k
        out.append((fiscal_year + offset // 12, offset % 12 + 1))
    return out


def month_label(year: int, month: int) -> str:
    """``Apr 2027``."""
    return f"{MONTH_ABBR[month - 1]} {year}"


def quarter_month_labels(fiscal_year: int, fy_start_month: int, quarter: str) -> list[str]:
    """``["Apr 2027", "May 2027", "Jun 2027"]``: the quarter's months, labelled."""
    return [month_label(y, m) for y, m in fiscal_months(fiscal_year, fy_start_month, quarter)]


def fiscal_year_span(fiscal_year: int, fy_start_month: int) -> str:
    """``Apr 2027 – Mar 2028``: the twelve months of the fiscal year."""
    first = fiscal_months(fiscal_year, fy_start_month, "Q1")[0]
    last = fiscal_months(fiscal_year, fy_start_month, "Q4")[2]
    return f"{month_label(*first)} – {month_label(*last)}"


def quarter_labels(fy_start_month: int) -> list[str]:
    """``Q1 (Apr–Jun)`` ... for a fiscal year starting in ``fy_start_month`` (1–12)."""
    labels = []
    for q, name in enumerate(QUARTERS):
        first = (fy_start_month - 1 + 3 * q) % 12
        labels.append(f"{name} ({MONTH_ABBR[first]}–{MONTH_ABBR[(first + 2) % 12]})")
    return labels
