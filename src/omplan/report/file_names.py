"""The names of the files a batch writes: each plan's quarterly budgets and the rollups."""

from __future__ import annotations

from omplan.core.periods import MONTH_ABBR, fiscal_months

__all__ = ["output_name", "quarter_months_tag", "rollup_name"]


def output_name(stem: str, fiscal_year: int, quarter: str) -> str:
    """``<plan stem>_FY<year>_Q<n>.xlsx``."""
    return f"{stem}_FY{fiscal_year}_{quarter}.xlsx"


def quarter_months_tag(fiscal_year: int, fy_start_month: int, quarter: str) -> str:
    """``Jul-Sep``: the first and last calendar month of ``quarter`` in a fiscal year that
    starts in ``fy_start_month`` (what tells two fiscal calendars' Q2 FY2027 apart)."""
    months = fiscal_months(fiscal_year, fy_start_month, quarter)
    return f"{MONTH_ABBR[months[0][1] - 1]}-{MONTH_ABBR[months[-1][1] - 1]}"


def rollup_name(fiscal_year: int, quarter: str, currency: str | None = None,
                fy_start_month: int | None = None) -> str:
    """``rollup_FY<year>_Q<n>.xlsx``; with ``_<Mon>-<Mon>`` (the quarter's calendar months,
    from ``fy_start_month``) when a batch mixes fiscal calendars, and ``_<CUR>`` when it
    mixes currencies: ``rollup_FY2027_Q2_Jul-Sep_EUR.xlsx``."""
    months = (f"_{quarter_months_tag(fiscal_year, fy_start_month, quarter)}"
              if fy_start_month else "")
    suffix = f"_{currency}" if currency else ""
    return f"rollup_FY{fiscal_year}_{quarter}{months}{suffix}.xlsx"
