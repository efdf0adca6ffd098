"""One base class for every exception omplan raises on purpose.

Bad input is reported as findings (errors as data); these exceptions are for what stops a
whole command: a file that is no workbook, a report too large for Excel, a refused writeback.
``except omplan.OmplanError`` catches all of them and nothing else.
"""


class OmplanError(Exception):
    """Base class of omplan's exceptions; the message is one sentence for the user."""
