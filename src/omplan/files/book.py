"""The user's package read for grafting: its raw zip members, the workbook's sheets, defined
names and tables, and the XML helpers the graft edits its shared parts with.

Part names and relationships come from the package model the safety scan uses too
(:class:`omplan.input.opc.Package`); a part that is missing or does not parse is a
:class:`GraftError`. No cells are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from omplan.files.zip_records import GraftError, Member, read_zip
from omplan.input.opc import CONTENT_TYPES_PART, Package, local, sheet_ref

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                          remove_blank_text=False)


# --------------------------------------------------------------------------- XML helpers


def parse_xml(data: bytes, name: str) -> Any:
    """An untrusted part, parsed without entities or network access."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise GraftError(f"the part {name} cannot be parsed ({exc})") from None


def serialise(root: Any, original: bytes) -> bytes:
    """An edited part's bytes, keeping the standalone declaration of the ``original``."""
    standalone = None
    head = original[:200]
    if b"standalone" in head:
        standalone = b'standalone="yes"' in head or b"standalone='yes'" in head
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                          standalone=standalone)


def canon(el: Any) -> tuple[Any, ...]:
    """A comparable form of an element (namespace prefixes and declarations ignored)."""
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(),
            tuple(canon(c) for c in el if isinstance(c.tag, str)))


def child(parent: Any, name: str) -> Any:
    """The first child of ``parent`` called ``name`` (any namespace), or None."""
    return next((c for c in parent if local(c.tag) == name), None)


def ensure(parent: Any, name: str, order: list[str], ns: str) -> Any:
    """The child ``name`` of ``parent``, created in its schema position when missing."""
    found = child(parent, name)
    if found is not None:
        return found
    el = etree.Element(f"{{{ns}}}{name}")
    later = order[order.index(name) + 1:]
    for i, c in enumerate(parent):
        if local(c.tag) in later:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


# --------------------------------------------------------------------------- the package


@dataclass
class SheetEntry:
    """A ``<sheet>`` of the workbook part."""

    title: str
    sheet_id: int
    rid: str
    part: str | None
    state: str


@dataclass
class NameEntry:
    """A ``<definedName>`` of the workbook part (``local``: its sheet's index)."""

    name: str
    local: int | None
    text: str
    hidden: bool


class Book(Package):
    """A package read for grafting: its raw members and the workbook's structure."""

    def __init__(self, members: list[Member], prefix: bytes = b"", comment: bytes = b"",
                 workbook: str = "") -> None:
        by_name = {m.name: m for m in members}
        super().__init__(by_name, lambda name: by_name[name].content())
        self.members = members
        self.prefix = prefix
        self.comment = comment
        self.workbook = workbook
        self.sheets: list[SheetEntry] = []
        self.names: list[NameEntry] = []
        self.tables: dict[str, set[str]] = {}  # sheet title -> its (casefolded) table names
        self.active = 0  # index of the active sheet (the first book view's activeTab)

    def missing(self, part: str) -> Exception:
        return GraftError(f"the part {part} is missing")

    def unparsable(self, part: str, exc: Exception) -> Exception:
        return GraftError(f"the part {part} cannot be parsed ({exc})")


def read_book(data: bytes) -> Book:
    """Read the structure of the user's package (no cells are read)."""
    members, prefix, comment = read_zip(data)
    book = Book(members, prefix, comment)
    if not book.has(CONTENT_TYPES_PART):
        raise GraftError("it has no [Content_Types].xml (not an Office Open XML package)")
    workbook = book.main_part()
    if workbook is None or not book.has(workbook):
        raise GraftError("its workbook part was not found")
    book.workbook = workbook
    root = parse_xml(book.read(workbook), workbook)
    if root.tag == f"{{{STRICT_NS}}}workbook":
        raise GraftError("it is saved as Strict Open XML")
    if root.tag != f"{{{MAIN_NS}}}workbook":
        raise GraftError("its workbook part is not a spreadsheet")
    targets = {r.rid: r.target for r in book.rels(workbook) if not r.external}
    sheets = child(root, "sheets")
    for sheet in (sheets if sheets is not None else []):
        if local(sheet.tag) != "sheet":
            continue
        ref = sheet_ref(sheet)
        book.sheets.append(SheetEntry(ref.name, int(ref.sheet_id or 0), ref.rid,
                                      targets.get(ref.rid), ref.state))
    views = child(root, "bookViews")
    view = child(views, "workbookView") if views is not None else None
    active = view.get("activeTab") if view is not None else None
    book.active = int(active) if active and active.isdigit() else 0
    names = child(root, "definedNames")
    for dn in (names if names is not None else []):
        if local(dn.tag) != "definedName":
            continue
        index = dn.get("localSheetId")
        book.names.append(NameEntry(dn.get("name") or "",
                                    int(index) if index and index.isdigit() else None,
                                    dn.text or "", dn.get("hidden") in ("1", "true")))
    for entry in book.sheets:
        found: set[str] = set()
        for rel in (book.rels(entry.part) if entry.part else []):
            if not rel.external and rel.type.endswith("/table") and book.has(rel.target):
                table = parse_xml(book.read(rel.target), rel.target)
                found |= {(table.get(a) or "").casefold() for a in ("name", "displayName")}
        book.tables[entry.title] = found - {""}
    return book
