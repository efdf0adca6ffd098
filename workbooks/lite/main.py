"""omplan in xlwings Lite: paste this file into Lite's main.py tab (and requirements.txt into
its requirements.txt tab).

- The script ``run_scenarios`` (Lite's task pane: Run) checks the plan sheets of the open
  workbook and writes the report sheets (Summary, one sheet per scenario, Ledger, Checks,
  About), exactly as the Run scenarios button of the desktop .xlsm does.
- The custom functions OM_SUMMARY, OM_SPLIT, OM_PAYBACK, OM_VARIANCE, OM_BAND_STATUS and
  OM_TARGET_SHARE are registered from here: Lite registers the functions it finds in this
  module, and importing them from omplan.excel makes them members of it.
"""

import xlwings as xw
from xlwings import script

from omplan.excel import (  # noqa: F401  (registered as Excel custom functions)
    OM_BAND_STATUS,
    OM_PAYBACK,
    OM_SPLIT,
    OM_SUMMARY,
    OM_TARGET_SHARE,
    OM_VARIANCE,
    run_in_book,
)


@script
def run_scenarios(book: xw.Book):
    """Check the plan in this workbook and write omplan's report sheets into it."""
    result = run_in_book(book)
    print(result.message)
