"""The xlwings binding, in two parts: :mod:`~omplan.apps.excel.button` (the Run scenarios
button: a live book's plan checked, evaluated and reported into it; ownership of the sheets
it writes) and :mod:`~omplan.apps.excel.functions` (the six custom functions).

Workbooks refer to them as :mod:`omplan.excel`, which re-exports both.
"""
