"""Which sheets are omplan's: the marks written with them, read back the same everywhere.

``omplan run --writeback`` marks each report sheet with a hidden sheet-level defined name
``omplan_report`` whose value records the report sheet it holds and the title it was written
under; the Excel button (``omplan.excel``) marks its sheets with book-scoped names
``omplan_sheet_<n>`` referring to the sheet's A1. A user's copy of a report sheet carries the
mark too: ours is the one still under the title we wrote (:func:`pick_owned`).
"""

from __future__ import annotations

import re
from typing import Any

OWNER_NAME = "omplan_report"
_OWNER_TAG = "omplan"


def owner_value(sheet: str, title: str) -> str:
    """The defined-name formula marking a report sheet: which report sheet it holds and the
    title it was written under (``:`` cannot occur in sheet names)."""
    return '"' + f"{_OWNER_TAG}:{sheet}:{title}".replace('"', '""') + '"'


def parse_mark(text: str | None, title: str) -> tuple[str, str] | None:
    """(report sheet, title when written) from a mark's value (``=`` allowed in front);
    None for a value that is not omplan's. The first format (``"omplan"``) recorded no report
    sheet: the sheet's own title stands for both."""
    text = (text or "").strip().lstrip("=").strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    parts = text[1:-1].replace('""', '"').split(":")
    if parts == [_OWNER_TAG]:  # the first format: no record of the report sheet
        return title, title
    if len(parts) != 3 or parts[0] != _OWNER_TAG:
        return None
    return parts[1], parts[2]


def owner_mark(ws: Any) -> tuple[str, str] | None:
    """(report sheet, title when written) of a sheet omplan wrote; None for the user's."""
    name = ws.defined_names.get(OWNER_NAME)
    return parse_mark(getattr(name, "attr_text", None), ws.title)


def pick_owned(marked: list[tuple[str, tuple[str, str]]]) -> dict[str, str]:
    """Report sheet -> title of the sheet omplan wrote for it, from (title, mark) pairs. When
    several sheets carry the mark of one report sheet, the others are copies the user made:
    ours is the one still under the title we wrote; if none is, all are left to the user."""
    candidates: dict[str, list[tuple[str, str]]] = {}
    for title, (sheet, written) in marked:
        candidates.setdefault(sheet, []).append((title, written))
    owned = {}
    for sheet, found in candidates.items():
        exact = [title for title, written in found if title == written]
        if len(found) == 1 or len(exact) == 1:
            owned[sheet] = found[0][0] if len(found) == 1 else exact[0]
    return owned


#: Book-scoped names with which the live Excel binding (omplan.excel) marks its sheets:
#: ``omplan_sheet_<n>`` referring to the sheet's A1.
LIVE_MARK_PREFIX = "omplan_sheet_"
LIVE_MARK = re.compile(re.escape(LIVE_MARK_PREFIX) + r"\d+", re.IGNORECASE)


def unquote_sheet(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def referenced_sheet(refers_to: str | None) -> str | None:
    """The sheet of a reference such as ``='My sheet'!$A$1`` (None for other formulas)."""
    text = (refers_to or "").strip().lstrip("=")
    if "!" not in text or text.startswith('"'):
        return None
    return unquote_sheet(text.rsplit("!", 1)[0])
