"""Why a report cannot be built: the exceptions the report builders raise on purpose.

Each is an :class:`~omplan.core.errors.OmplanError` and a ``ValueError``, so callers that
caught ``ValueError`` before keep working; the message is one sentence for the user.
"""

from __future__ import annotations

from omplan.core.errors import OmplanError

__all__ = ["ReportError", "ReportTooLarge"]


class ReportError(OmplanError, ValueError):
    """A report cannot be built: the plan has errors (no figures), it has no such scenario
    or quarter, or the report is too large for Excel (:class:`ReportTooLarge`)."""


class ReportTooLarge(ReportError):
    """The report does not fit Excel's grid; raised before anything is written."""
