"""The report workbook, by its former address: assembled in :mod:`omplan.report.plan_report`
from :mod:`~omplan.report.summary_sheet` and :mod:`~omplan.report.scenario_sheet`. Kept for
importers not yet moved to those modules.
"""

from __future__ import annotations

from omplan.report.plan_report import SHEET_GUIDE, build_report_layout
from omplan.report.scenario_sheet import COMPONENT_LABELS, NO_ROLE, NO_SOURCING
from omplan.report.summary_sheet import SUMMARY_HEADER, YEARS_HEADER

__all__ = ["COMPONENT_LABELS", "NO_ROLE", "NO_SOURCING", "SHEET_GUIDE", "SUMMARY_HEADER",
           "YEARS_HEADER", "build_report_layout"]
