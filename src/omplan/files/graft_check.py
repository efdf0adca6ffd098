"""The check after grafting: the new package read back and compared with the user's, part by
part, before anything is written.

Every part of the user's must be the same raw zip record, but the shared parts (which must
still hold every element they had) and omplan's own removed ones; the user's sheets and
defined names must all be there.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from omplan.files.book import Book, canon, parse_xml, read_book
from omplan.files.graft import Grafted
from omplan.files.zip_records import GraftError
from omplan.input.opc import external, local, rels_source


def verify(original: Book, data: bytes, result: Grafted) -> list[str]:
    """Differences between the user's parts before and after, other than the documented
    additions: every part byte-identical (raw zip record) except the shared parts and
    omplan's own; the shared parts keep every element they had."""
    problems = []
    try:
        after = read_book(data)
    except GraftError as exc:
        return [f"the new workbook cannot be read back ({exc})"]
    new = {m.name: m for m in after.members}
    removed = set(result.removed)
    for m in original.members:
        if m.name in removed or m.name in result.shared:
            continue
        other = new.get(m.name)
        if other is None:
            problems.append(f"the part {m.name} is missing")
        elif other.local != m.local or other.central[:42] != m.central[:42] \
                or other.central[46:] != m.central[46:]:
            problems.append(f"the part {m.name} changed")
    for name in [*result.added, *result.shared]:
        member = new.get(name)
        if member is None:
            continue
        if zlib.crc32(member.content()) != struct.unpack_from("<L", member.central, 16)[0]:
            problems.append(f"the part {name} does not read back")
    for name in result.shared:
        if name not in new:
            problems.append(f"the part {name} is missing")
            continue
        problems += _kept_elements(original, after, name, removed)
    kept = [s.title for s in original.sheets if s.part not in removed]
    titles = [s.title for s in after.sheets]
    if not all(t in titles for t in kept):
        problems.append("a sheet of yours is missing from the workbook")
    else:
        before_names = {(n.name, original.sheets[n.local].title
                         if n.local is not None and n.local < len(original.sheets) else None,
                         n.text) for n in original.names
                        if n.local is None or n.local >= len(original.sheets)
                        or original.sheets[n.local].part not in removed}
        after_names = {(n.name, titles[n.local] if n.local is not None
                        and n.local < len(titles) else None, n.text) for n in after.names}
        lost = {n for n in before_names - after_names if n[1] is not None or not
                n[0].casefold().startswith("omplan_sheet_")}
        if lost:
            problems.append("defined names changed (" + ", ".join(
                sorted({n[0] for n in lost})) + ")")
    return problems


def _kept_elements(original: Book, after: Book, name: str, removed: set[str]) -> list[str]:
    """Every top-level element of the shared part ``name`` of ``original`` is still in it in
    ``after``: equal, or a collection (fonts, cellXfs, …) that only grew; the sheet list,
    defined names and book views are checked by title instead (their indices move with the
    sheet order); entries for the parts ``removed`` may go."""
    old, new = parse_xml(original.read(name), name), parse_xml(after.read(name), name)
    problems = []
    new_kids = [c for c in new if isinstance(c.tag, str)]
    present = {canon(c) for c in new_kids}
    for c in old:
        if not isinstance(c.tag, str) or local(c.tag) in (
                "sheets", "definedNames", "bookViews"):
            continue
        if local(c.tag) in ("Override", "Relationship") and not external(c):
            written = c.get("Target")
            target = (original.target("", c.get("PartName") or "") if written is None
                      else original.target(rels_source(name), written))
            if target in removed:
                continue
        if canon(c) in present or _grew(c, new_kids):
            continue
        problems.append(f"{name}: an element {local(c.tag)} changed")
    return problems


def _grew(el: Any, candidates: list[Any]) -> bool:
    """A collection that only grew: same tag and attributes (but its count), same first
    children."""
    kids = [canon(c) for c in el if isinstance(c.tag, str)]
    attrs = {k: v for k, v in el.attrib.items() if k != "count"}
    for cand in candidates:
        if cand.tag != el.tag or {k: v for k, v in cand.attrib.items() if k != "count"} != attrs:
            continue
        got = [canon(c) for c in cand if isinstance(c.tag, str)]
        if got[:len(kids)] == kids:
            return True
    return False
