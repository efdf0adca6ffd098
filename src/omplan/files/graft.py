"""Part-level surgery on a user's .xlsx/.xlsm package: graft omplan's report sheets in, take
omplan's old ones out, and copy every other part of the user's byte for byte.

The user's package is never re-serialised. Members that do not change are copied as raw zip
records (local header, compressed bytes and data descriptor as they are, so compression,
timestamps and extra fields stay), in their original order. Only the *shared parts* change,
and only by additions (plus the removal of omplan's own entries on a rerun):

* ``[Content_Types].xml``: overrides for the new parts;
* the workbook part (``xl/workbook.xml``): ``<sheet>`` entries, defined names of the report
  (print titles and areas, the ownership mark ``omplan_report``), and the sheet indices
  (``localSheetId``, ``activeTab``, ``firstSheet``) that moved with the sheet order;
* its relationships (``xl/_rels/workbook.xml.rels``): one per report sheet;
* the styles part: the report's fonts, fills, borders, number formats, cell formats and
  differential formats appended (existing ones untouched, duplicates reused); a package
  without one gets the report's as ``xl/styles.xml``;
* ``xl/calcChain.xml`` is removed only when it lists cells of a removed omplan sheet.

These shared parts are parsed and re-serialised with lxml (the elements already there are kept
as they are) and deflated again; everything else is byte for byte. Report cells are inline
strings, so the user's shared strings part is never touched. Pure functions, no file access.

The zip records are :mod:`omplan.files.zip_records`, the package read for grafting
:mod:`omplan.files.book`, the styles merge :mod:`omplan.files.style_merge` and the check
after grafting :mod:`omplan.files.graft_check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from omplan.files.book import MAIN_NS, Book, child, ensure, parse_xml, serialise
from omplan.files.ownership import OWNER_NAME
from omplan.files.style_merge import Styles
from omplan.files.zip_records import GraftError, dos_date_time, new_member, read_zip, write_zip
from omplan.input.opc import (
    CONTENT_TYPES_PART,
    PKG_REL_NS,
    REL_NS,
    external,
    local,
    relative,
    rels_name,
    sheet_ref,
)

__all__ = ["Graft", "GraftError", "Grafted", "graft", "owned_parts"]

_RT = REL_NS + "/"
_CT_PREFIX = "application/vnd.openxmlformats-officedocument."
CONTENT_TYPES = {
    "worksheet": _CT_PREFIX + "spreadsheetml.worksheet+xml",
    "drawing": _CT_PREFIX + "drawing+xml",
    "chart": _CT_PREFIX + "drawingml.chart+xml",
    "table": _CT_PREFIX + "spreadsheetml.table+xml",
    "styles": _CT_PREFIX + "spreadsheetml.styles+xml",
}
_RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"
#: Where new parts go, by the kind of relationship that points at them.
_FOLDERS = {"worksheet": "xl/worksheets/sheet", "drawing": "xl/drawings/drawing",
            "chart": "xl/charts/chart", "table": "xl/tables/table"}
#: The styles part's usual name: openpyxl, for one, reads styles only from this part.
STYLES_PART = "xl/styles.xml"
_BOOK_ORDER = ["fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews",
               "sheets", "functionGroups", "externalReferences", "definedNames", "calcPr",
               "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
               "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"]
_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


@dataclass
class Graft:
    """What to do: the report package, the sheets to take out, the final order."""

    report: bytes
    drop: list[str]  # titles of omplan's old sheets
    order: list[str]  # every sheet title in its final order (the report's included)
    marks: dict[str, str]  # report sheet title -> value of its omplan_report name
    states: dict[str, str] = field(default_factory=dict)  # report title -> visibility
    drop_names: set[str] = field(default_factory=set)  # book-level names to remove
    active: str | None = None  # the title of the sheet to keep active
    date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)


@dataclass
class Grafted:
    """The new package and an account of what changed."""

    data: bytes
    shared: list[str]
    added: list[str]
    removed: list[str]


def _reachable(book: Book, starts: list[str]) -> list[str]:
    seen: list[str] = []
    todo = list(starts)
    while todo:
        part = todo.pop()
        if part in seen or not book.has(part):
            continue
        seen.append(part)
        todo += [r.target for r in book.rels(part) if not r.external]
    return seen


def owned_parts(book: Book, titles: list[str]) -> list[str]:
    """The parts of the sheets ``titles`` and everything they alone refer to."""
    parts = [s.part for s in book.sheets if s.title in titles and s.part]
    return _removable(book, parts)


def _removable(book: Book, sheets: list[str]) -> list[str]:
    """omplan's old sheet parts and what they alone reference (with their .rels parts)."""
    candidates = set(_reachable(book, sheets))
    sources = ["", *[m.name for m in book.members if not m.name.endswith(".rels")]]
    while True:
        kept = {r.target for s in sources if s not in candidates
                for r in book.rels(s) if not r.external} & candidates
        kept -= set(sheets)
        if not kept:
            break
        candidates -= set(_reachable(book, list(kept)))
    out = sorted(candidates)
    return out + [rels_name(p) for p in out if book.has(rels_name(p))]


def _free(base: str, ext: str, taken: set[str]) -> str:
    n = 1
    while f"{base}{n}{ext}".casefold() in taken:
        n += 1
    name = f"{base}{n}{ext}"
    taken.add(name.casefold())
    return name


def _table_ids(book: Book, skip: set[str]) -> set[int]:
    ids = set()
    for m in book.members:
        if m.name in skip or not re.search(r"(?i)tables?/[^/]*\.xml$", m.name):
            continue
        found = re.search(rb'\bid="(\d+)"', m.content()[:2000])
        if found:
            ids.add(int(found.group(1)))
    return ids


_STYLED = re.compile(rb'(<(?:c|row)\b[^>]*?\ss=")(\d+)"')
#: A style attribute among a report sheet's cells, whose text never holds a quote (the
#: renderer writes it as &quot;), so that ' s="' cannot occur inside text
_CELL_STYLE = re.compile(rb'( s=")(\d+)"')
_COL_STYLE = re.compile(rb'(<col\b[^>]*?\sstyle=")(\d+)"')
_DXF = re.compile(rb'(<cfRule\b[^>]*?\sdxfId=")(\d+)"')
_TEXT_ESCAPE = re.compile(rb"(<t\b[^>]*>)([^<]*_x[0-9A-Fa-f]{4}_[^<]*)(</t>)")
_SHEET_VIEW = re.compile(rb"<sheetView\b[^>]*>")
_TAB_SELECTED = re.compile(rb'\stabSelected="[^"]*"')


def _report_sheet(xml: bytes, styles: Styles, selected: bool) -> bytes:
    """A report sheet (omplan's own, as openpyxl wrote it) with the user's style indices,
    escaped literal text and the tab selection; edited by pattern, for speed."""
    xf_cache: dict[bytes, bytes] = {}

    def xf(match: re.Match[bytes]) -> bytes:
        index = match.group(2)
        if index not in xf_cache:
            xf_cache[index] = str(styles.xf(int(index))).encode()
        return match.group(1) + xf_cache[index] + b'"'

    def dxf(match: re.Match[bytes]) -> bytes:
        return match.group(1) + str(styles.dxf(int(match.group(2)))).encode() + b'"'

    def escape(match: re.Match[bytes]) -> bytes:
        return match.group(1) + _ESCAPED.sub(r"_x005F_\1", match.group(2).decode(
            "utf-8")).encode("utf-8") + match.group(3)

    def view(match: re.Match[bytes]) -> bytes:
        tag = _TAB_SELECTED.sub(b"", match.group(0))
        if selected:
            tag = tag[:len(b"<sheetView")] + b' tabSelected="1"' + tag[len(b"<sheetView"):]
        return tag

    # the cells (hundreds of MB in a big Ledger) by the plain pattern; the rest as before
    start, end = xml.find(b"<sheetData>"), xml.rfind(b"</sheetData>")
    if start < 0 or end < start:
        start = end = len(xml)
    head, body, tail = xml[:start], xml[start:end], xml[end:]
    del xml  # the caller's copy was the only other: at most two copies of the cells at once
    body = _CELL_STYLE.sub(xf, body)
    if b"_x" in body:
        body = _TEXT_ESCAPE.sub(escape, body)
    rest = []
    for part in (head, tail):
        part = _DXF.sub(dxf, _COL_STYLE.sub(xf, _STYLED.sub(xf, part)))
        if b"_x" in part:
            part = _TEXT_ESCAPE.sub(escape, part)
        rest.append(_SHEET_VIEW.sub(view, part))
    return rest[0] + body + rest[1]


def graft(book: Book, job: Graft) -> Grafted:
    """Put the report's sheets into ``book`` and take omplan's old ones out."""
    report = Book(read_zip(job.report)[0], workbook="xl/workbook.xml")
    report_root = parse_xml(report.read(report.workbook), "report")
    report_targets = {r.rid: r.target for r in report.rels(report.workbook)}
    report_sheets = [(ref.name, report_targets[ref.rid]) for ref in
                     map(sheet_ref, report_root.iter(f"{{{MAIN_NS}}}sheet"))]
    titles = [t for t, _ in report_sheets]

    by_title = {s.title: s for s in book.sheets}
    dropped = [by_title[t] for t in job.drop]
    removed = _removable(book, [s.part for s in dropped if s.part])
    removed_set = {r.casefold() for r in removed}
    taken = {m.name.casefold() for m in book.members} - removed_set  # reruns reuse names
    new_parts: dict[str, bytes] = {}
    content_types: dict[str, str] = {}
    styles, styles_part, styles_rel = _styles(book, report, taken, new_parts, content_types)

    table_ids = _table_ids(book, set(removed))
    book_rels: list[tuple[str, str, str]] = []  # (Id, type, part) added to the workbook
    used_rids = {r.rid.casefold() for r in book.rels(book.workbook)}
    next_sheet_id = max([0, *(s.sheet_id for s in book.sheets)]) + 1
    new_sheets: dict[str, tuple[str, int]] = {}  # title -> (relationship id, sheetId)
    for title, part in report_sheets:
        sheet_part = _free(_FOLDERS["worksheet"], ".xml", taken)
        new_parts[sheet_part] = _report_sheet(report.read(part), styles, title == job.active)
        content_types[sheet_part] = CONTENT_TYPES["worksheet"]
        _copy_related(report, part, sheet_part, new_parts, content_types, taken, table_ids)
        rid = _free("rId", "", used_rids)
        book_rels.append((rid, _RT + "worksheet", sheet_part))
        new_sheets[title] = (rid, next_sheet_id)
        next_sheet_id += 1
    if styles_rel:
        book_rels.append((_free("rId", "", used_rids), _RT + "styles", styles_part))

    wb_xml = book.read(book.workbook)
    root = parse_xml(wb_xml, book.workbook)
    _edit_workbook(root, book, job, new_sheets, titles,
                   list(report_root.iter(f"{{{MAIN_NS}}}definedName")))

    # calcChain: only when it lists cells of a sheet taken out (Excel rebuilds it)
    drop_ids = {s.sheet_id for s in dropped}
    calc = next((r.target for r in book.rels(book.workbook)
                 if not r.external and r.type == _RT + "calcChain"), None)
    if calc is not None and book.has(calc) and drop_ids and _chain_uses(
            book.read(calc), calc, drop_ids):
        removed.append(calc)
        removed_set.add(calc.casefold())

    changed: dict[str, bytes] = {}
    changed[book.actual(book.workbook)] = serialise(root, wb_xml)
    if styles.changed and not styles.fresh:
        changed[book.actual(styles_part)] = serialise(styles.root, book.read(styles_part))
    changed[book.actual(rels_name(book.workbook))] = _edit_rels(
        book, book.workbook, removed_set, book_rels)
    changed[book.actual(CONTENT_TYPES_PART)] = _edit_content_types(
        book.read(CONTENT_TYPES_PART), removed_set, content_types)

    members = []
    for m in book.members:
        if m.name.casefold() in removed_set:
            continue
        if m.name in changed:
            members.append(new_member(m.name, changed.pop(m.name), like=m))
        else:
            members.append(m)
    stamp = dos_date_time(job.date_time)
    for name, content in {**changed, **new_parts}.items():
        members.append(new_member(name, content, date_time=stamp))
    shared = [book.actual(p) for p in (book.workbook, rels_name(book.workbook),
                                       CONTENT_TYPES_PART)]
    if styles.changed and not styles.fresh:
        shared.append(book.actual(styles_part))
    return Grafted(write_zip(members, book.prefix, book.comment), shared,
                   sorted(new_parts), [book.actual(p) for p in removed])


def _styles(book: Book, report: Book, taken: set[str], new_parts: dict[str, bytes],
            content_types: dict[str, str]) -> tuple[Styles, str, bool]:
    """(the styles to map the report's formats into, their part, whether the workbook needs
    a relationship to it): the user's styles part, or, in a package that has none, the
    report's own as a new part, named ``xl/styles.xml`` when that name is free (a reader such
    as openpyxl looks for no other)."""
    rel = next((r for r in book.rels(book.workbook)
                if not r.external and r.type == _RT + "styles"), None)
    report_styles = parse_xml(report.read(STYLES_PART), "report styles")
    if rel is not None and book.has(rel.target):
        return Styles(book.read(rel.target), rel.target, report_styles), rel.target, False
    if rel is not None and rel.target.casefold() not in taken:
        part = rel.target  # the package names a styles part it lacks: that part is added
        taken.add(part.casefold())
    elif STYLES_PART.casefold() not in taken:
        part = STYLES_PART
        taken.add(part.casefold())
    else:
        part = _free("xl/styles", ".xml", taken)
    new_parts[part] = report.read(STYLES_PART)
    content_types[part] = CONTENT_TYPES["styles"]
    return Styles(None, "", report_styles), part, rel is None


def _edit_workbook(root: Any, book: Book, job: Graft, new_sheets: dict[str, tuple[str, int]],
                   titles: list[str], report_names: list[Any]) -> None:
    """The workbook part with the report's sheets in the final order, omplan's old ones
    out, the report's defined names and ownership marks added, and the sheet indices of the
    user's local names and book views moved with the order."""
    sheets_el = child(root, "sheets")
    if sheets_el is None:
        raise GraftError("its workbook part lists no sheets")
    old_titles = [s.title for s in book.sheets]
    elements = {s.get("name"): s for s in sheets_el if local(s.tag) == "sheet"}
    for title in job.drop:
        sheets_el.remove(elements.pop(title))
    for title, (rid, sheet_id) in new_sheets.items():
        el = etree.SubElement(sheets_el, f"{{{MAIN_NS}}}sheet", name=title,
                              sheetId=str(sheet_id))
        if job.states.get(title, "visible") != "visible":
            el.set("state", job.states[title])
        el.set(f"{{{REL_NS}}}id", rid)
        elements[title] = el
    if sorted(elements) != sorted(job.order):
        raise GraftError("the sheet order to write does not match the sheets")
    others = [c for c in sheets_el if local(c.tag) != "sheet"]
    for c in list(sheets_el):
        sheets_el.remove(c)
    for title in job.order:
        sheets_el.append(elements[title])
    for c in others:
        sheets_el.append(c)
    new_index = {t: i for i, t in enumerate(job.order)}

    def moved(index: str | None) -> str | None:
        if index is None or not index.isdigit() or int(index) >= len(old_titles):
            return index
        return str(new_index.get(old_titles[int(index)], 0))

    names_el = child(root, "definedNames")
    if names_el is not None:
        for dn in list(names_el):
            if local(dn.tag) != "definedName":
                continue
            index = dn.get("localSheetId")
            if index is not None and index.isdigit() and int(index) < len(old_titles):
                if old_titles[int(index)] in job.drop:
                    names_el.remove(dn)
                    continue
                dn.set("localSheetId", moved(index))
            elif index is None and dn.get("name") in job.drop_names:
                names_el.remove(dn)
    if report_names or job.marks:
        names_el = ensure(root, "definedNames", _BOOK_ORDER, MAIN_NS)
        for dn in report_names:
            index = dn.get("localSheetId")
            el = etree.SubElement(names_el, f"{{{MAIN_NS}}}definedName", name=dn.get("name"))
            if index is not None:
                el.set("localSheetId", str(new_index[titles[int(index)]]))
            el.text = dn.text
        for title, value in job.marks.items():
            el = etree.SubElement(names_el, f"{{{MAIN_NS}}}definedName", name=OWNER_NAME,
                                  localSheetId=str(new_index[title]), hidden="1")
            el.text = value
    if names_el is not None and len(names_el) == 0:
        root.remove(names_el)
    views = child(root, "bookViews")
    for view in (views if views is not None else []):
        if view.get("firstSheet") is not None:
            view.set("firstSheet", moved(view.get("firstSheet")) or "0")
        if job.active in new_index:
            if view.get("activeTab") is not None or new_index[job.active] != 0:
                view.set("activeTab", str(new_index[job.active]))
        elif view.get("activeTab") is not None:
            view.set("activeTab", moved(view.get("activeTab")) or "0")


def _chain_uses(xml: bytes, name: str, sheet_ids: set[int]) -> bool:
    """Whether the calculation chain ``xml`` lists a cell of one of the sheets ``sheet_ids``."""
    current = 0
    for c in parse_xml(xml, name):
        if c.get("i") is not None:
            current = int(c.get("i"))
        if current in sheet_ids:
            return True
    return False


def _copy_related(report: Book, part: str, new_part: str, new_parts: dict[str, bytes],
                  content_types: dict[str, str], taken: set[str], table_ids: set[int]) -> None:
    """Copy the parts a report part refers to (drawings, charts, tables) under free names,
    with its relationships retargeted."""
    rels = report.rels(part)
    if not rels:
        return
    root = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
    for rid, kind, target, outside in rels:
        el = etree.SubElement(root, f"{{{PKG_REL_NS}}}Relationship", Id=rid, Type=kind)
        if outside:
            el.set("Target", target)
            el.set("TargetMode", "External")
            continue
        short = kind.rsplit("/", 1)[-1]
        folder = _FOLDERS.get(short)
        if folder is None:
            raise GraftError(f"the report refers to a part of the kind {short}")
        copied = _free(folder, ".xml", taken)
        content = report.read(target)
        if short == "table":
            table_id = max([0, *table_ids]) + 1
            table_ids.add(table_id)
            table = parse_xml(content, target)
            table.set("id", str(table_id))
            content = etree.tostring(table, xml_declaration=True, encoding="UTF-8",
                                     standalone=True)
        new_parts[copied] = content
        content_types[copied] = CONTENT_TYPES[short]
        _copy_related(report, target, copied, new_parts, content_types, taken, table_ids)
        el.set("Target", relative(new_part, copied))
    new_parts[rels_name(new_part)] = etree.tostring(root, xml_declaration=True,
                                                    encoding="UTF-8", standalone=True)


def _edit_rels(book: Book, part: str, removed: set[str],
               added: list[tuple[str, str, str]]) -> bytes:
    """The relationships of ``part`` without those to removed parts, with ``added``."""
    name = rels_name(part)
    xml = book.read(name)
    root = parse_xml(xml, name)
    for rel in list(root):
        if local(rel.tag) != "Relationship" or external(rel):
            continue
        if book.target(part, rel.get("Target") or "").casefold() in removed:
            root.remove(rel)
    ns = root.tag.split("}")[0][1:]
    for rid, kind, target in added:
        etree.SubElement(root, f"{{{ns}}}Relationship", Id=rid, Type=kind,
                         Target=relative(part, target))
    return serialise(root, xml)


def _edit_content_types(xml: bytes, removed: set[str], added: dict[str, str]) -> bytes:
    """The content types without overrides for removed parts, with overrides for ``added``."""
    root = parse_xml(xml, CONTENT_TYPES_PART)
    ns = root.tag.split("}")[0][1:]
    defaults = set()
    for el in list(root):
        if local(el.tag) == "Override" and (el.get("PartName") or "").lstrip(
                "/").casefold() in removed:
            root.remove(el)
        elif local(el.tag) == "Default":
            defaults.add((el.get("Extension") or "").casefold())
    if "rels" not in defaults:
        etree.SubElement(root, f"{{{ns}}}Default", Extension="rels", ContentType=_RELS_CT)
    for part, kind in added.items():
        etree.SubElement(root, f"{{{ns}}}Override", PartName="/" + part, ContentType=kind)
    return serialise(root, xml)
