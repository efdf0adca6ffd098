"""The Excel binding's public module name: xlwings.conf's ``UDF Modules = omplan.excel``.

The code lives in :mod:`omplan.apps.excel.button` (the Run scenarios button: ``main``,
``run_in_book``) and :mod:`omplan.apps.excel.functions` (the custom functions ``OM_*``);
this module re-exports both, so that workbooks naming ``omplan.excel`` keep working. Importing
it imports xlwings (the functions' decorators need it).
"""

from omplan.apps.excel.button import (
    LIVE_LEDGER_ROWS,
    LiveRun,
    Ownership,
    grids_from_book,
    is_owned,
    main,
    mark_owned,
    ownership,
    run_in_book,
)
from omplan.apps.excel.functions import (
    DEFAULT_FISCAL_YEAR,
    DEFAULT_LEVEL,
    ERROR_PREFIX,
    OM_BAND_STATUS,
    OM_PAYBACK,
    OM_SPLIT,
    OM_SUMMARY,
    OM_TARGET_SHARE,
    OM_VARIANCE,
    baseline_share,
    baseline_table,
    table_rows,
)

__all__ = [
    "DEFAULT_FISCAL_YEAR", "DEFAULT_LEVEL", "ERROR_PREFIX", "LIVE_LEDGER_ROWS", "LiveRun",
    "OM_BAND_STATUS", "OM_PAYBACK", "OM_SPLIT", "OM_SUMMARY", "OM_TARGET_SHARE", "OM_VARIANCE",
    "Ownership", "baseline_share", "baseline_table", "grids_from_book", "is_owned", "main",
    "mark_owned", "ownership", "run_in_book", "table_rows",
]
