"""The Excel binding's public module name: xlwings.conf's ``UDF Modules = omplan.excel``.

The code lives in :mod:`omplan.apps.excel`; this module re-exports the entry point and the
custom functions so that workbooks naming ``omplan.excel`` keep working.
"""

from omplan.apps.excel import (  # noqa: F401  (xlwings finds the functions as members)
    OM_BAND_STATUS,
    OM_PAYBACK,
    OM_SPLIT,
    OM_SUMMARY,
    OM_TARGET_SHARE,
    OM_VARIANCE,
    main,
    run_in_book,
)
