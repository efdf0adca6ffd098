"""The names of the files a batch writes: each plan's quarterly budgets and the rollups."""

from __future__ import annotations

__all__ = ["output_name", "rollup_name"]


def output_name(stem: str, fiscal_year: int, quarter: str) -> str:
    """``<plan stem>_FY<year>_Q<n>.xlsx``."""
    return f"{stem}_FY{fiscal_year}_{quarter}.xlsx"


def rollup_name(fiscal_year: int, quarter: str, currency: str | None = None) -> str:
    """``rollup_FY<year>_Q<n>.xlsx``, with ``_<CUR>`` when a batch mixes currencies."""
    suffix = f"_{currency}" if currency else ""
    return f"rollup_FY{fiscal_year}_{quarter}{suffix}.xlsx"

