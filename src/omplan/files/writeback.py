"""Write the report sheets into the user's own plan workbook, losing nothing (issue 4).

Order of work: refuse early (open in Excel or LibreOffice, read-only) -> scan the package for
anything openpyxl would not carry over (then write ``<stem>.omplan.xlsx`` beside it instead)
-> snapshot the user's sheets -> replace only omplan-owned sheets -> put back the saved values
of the user's formulas (openpyxl drops them) -> reopen the new bytes and verify the user's
sheets -> save atomically, keeping ``<name>.bak``; the plan is never replaced by a workbook
that failed the check, and a file that does not read back as written is restored.

Ownership is a hidden sheet-level defined name ``omplan_report`` whose value records the
report sheet it holds and the title it was written under, so renamed report sheets are still
ours, while the user's look-alike sheets and copies of report sheets (Excel copies the hidden
name along with a sheet) are never touched.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omplan.core.errors import OmplanError
from omplan.files.xlsxio import atomic_write_bytes, workbook_bytes
from omplan.report.layout import free_sheet_name

if TYPE_CHECKING:
    from omplan.files.run import PlanRun
    from omplan.report.layout import ReportLayout

OWNER_NAME = "omplan_report"
_OWNER_TAG = "omplan"
WRITABLE_SUFFIXES = (".xlsx", ".xlsm")

# Parts openpyxl reads and writes back (or that are safely regenerated).
_KEPT_PARTS = [
    r"\[Content_Types\]\.xml", r"_rels/\.rels", r"docProps/(app|core|custom)\.xml",
    r"xl/workbook\.xml", r"xl/_rels/workbook\.xml\.rels", r"xl/styles\.xml",
    r"xl/sharedStrings\.xml", r"xl/theme/theme\d+\.xml", r"xl/worksheets/sheet\d+\.xml",
    r"xl/worksheets/_rels/sheet\d+\.xml\.rels", r"xl/tables/table\d+\.xml",
    r"xl/drawings/drawing\d+\.xml", r"xl/drawings/_rels/drawing\d+\.xml\.rels",
    r"xl/charts/chart\d+\.xml", r"xl/charts/_rels/chart\d+\.xml\.rels",
    r"xl/media/image\d+\.(png|jpe?g|gif|bmp)", r"xl/comments\d*\.xml",
    r"xl/drawings/vmlDrawing\d+\.vml", r"xl/externalLinks/externalLink\d+\.xml",
    r"xl/externalLinks/_rels/externalLink\d+\.xml\.rels",
    r"xl/pivotTables/pivotTable\d+\.xml", r"xl/pivotTables/_rels/pivotTable\d+\.xml\.rels",
    r"xl/pivotCache/pivotCache(Definition|Records)\d+\.xml",
    r"xl/pivotCache/_rels/pivotCacheDefinition\d+\.xml\.rels",
    # the names openpyxl itself gives comments (a workbook written back before)
    r"xl/comments/comment\d+\.xml", r"xl/drawings/commentsDrawing\d+\.vml",
    # regenerated or printer-driver data: Excel rebuilds them, nothing of the user's is lost
    r"xl/calcChain\.xml", r"xl/printerSettings/printerSettings\d+\.bin",
    r"xl/charts/(style|colors)\d+\.xml", r"docProps/thumbnail\.(jpe?g|png|wmf|emf)",
]
# In an .xlsm openpyxl (keep_vba) copies the VBA project byte for byte, and the Office 2007
# ribbon (customUI/customUI.xml) with its package relationship. Not kept: the relationship of
# the Office 2010+ ribbon (customUI14.xml), ribbon images, and the VBA signature's
# relationship (xl/_rels/vbaProject.bin.rels) - those are reported below.
_VBA_PARTS = [r"xl/vbaProject\.bin", r"customUI/customUI\.xml"]
_KNOWN_LOSSY = [
    (r"xl/slicers/|xl/slicerCaches/", "slicers"),
    (r"xl/timelines/|xl/timelineCaches/", "timelines"),
    (r"xl/threadedComments/|xl/persons/", "threaded comments"),
    (r"xl/model/|customXml/.*item\d*\.data", "the data model (Power Pivot)"),
    (r"xl/richData/", "pictures in cells (rich data)"),
    (r"xl/metadata\.xml", "dynamic array formulas or cell metadata (xl/metadata.xml)"),
    (r"xl/webextensions/", "web extensions (Office add-ins)"),
    (r"xl/embeddings/", "embedded objects"),
    (r"xl/ctrlProps/", "form controls"),
    (r"xl/activeX/", "ActiveX controls"),
    (r"xl/macrosheets/|xl/dialogsheets/", "Excel 4 macro or dialog sheets"),
    (r"xl/chartsheets/", "chart sheets"),
    (r"xl/connections\.xml|xl/queryTables/", "data connections and queries"),
    (r"customXml/", "custom XML parts"),
    (r"xl/namedSheetViews/", "sheet views"),
    (r"xl/vbaProjectSignature|xl/_rels/vbaProject\.bin\.rels",
     "the digital signature of the VBA project (the macros would become unsigned)"),
    (r"customUI/", "the ribbon customisation (customUI) of Excel 2010 or later"),
    (r"xl/drawings/_rels/vmlDrawing", "pictures in comments or form controls"),
    (r"xl/media/", "pictures in a format openpyxl does not keep"),
]
# Excel extension (extLst) URIs in worksheets and what they hold.
_EXT_URIS = {
    "{05C60535-1F16-4fd2-B633-F4F36F0B64E0}": "sparklines",
    "{78C0D931-6437-407d-A8EE-F0AAD7539E65}": "Excel 2010 conditional formats (e.g. data bars)",
    "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}": "Excel 2010 data validations",
    "{A8765BA9-456A-4dab-B4F3-ACF838C121DE}": "slicers",
    "{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}": "slicers",
    "{7E03D99C-DC04-49d9-9315-930204A7B6E9}": "timelines",
    "{F7C9EE02-42E1-4005-9D12-6889AFFD525C}": "web extensions",
}
# Worksheet elements openpyxl does not read, so does not write back.
_SHEET_ELEMENTS = [
    (b"controls", "form or ActiveX controls"),
    (b"oleObjects", "embedded objects"),
    (b"picture", "a sheet background picture"),
    (b"customSheetViews", "custom views"),
    (b"protectedRanges", "ranges unlocked for editing (Allow Edit Ranges)"),
    (b"ignoredErrors", "dismissed error indicators (the green triangles would come back)"),
    (b"cellWatches", "Watch Window entries"),
    (b"dataConsolidate", "Consolidate settings"),
    (b"customProperties", "custom sheet properties"),
    (b"smartTags", "smart tags"),
    (b"webPublishItems", "web publishing settings"),
    (b"legacyDrawingHF", "pictures in headers or footers"),
    (b"drawingHF", "pictures in headers or footers"),
]
_WORKBOOK_ELEMENTS = [
    (b"fileSharing", "the 'read-only recommended' or password-to-modify setting"),
    (b"customWorkbookViews", "custom views"),
]
_WORKBOOK_LOSSY_EXT = {
    "{BBE1A952-AA13-448e-AADC-164F8A28A991}": "slicers",
    "{46BE6895-7355-4a93-B00E-2C351335B9C9}": "slicers",
    "{D0CA8CA8-9F24-4464-BF8E-62219DCF47F9}": "timelines",
    "{FCE2AD5D-F65C-4FA6-A056-5C36A1767C68}": "the data model (Power Pivot)",
}
# Package relationships openpyxl writes back (anything else at the package root is lost).
_ROOT_REL_TYPES = ("/officeDocument", "/core-properties", "/extended-properties",
                   "/custom-properties", "/thumbnail")
_CUSTOM_UI_2007 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"


class WritebackRefused(OmplanError):
    """Nothing was written: the workbook is open, read-only, or not a plan file we can touch."""


@dataclass
class WritebackResult:
    """What happened: written into the plan, or beside it, and why."""

    target: Path
    in_place: bool
    losses: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # report sheet -> name used instead
    backup: Path | None = None
    removed: list[str] = field(default_factory=list)  # our sheets no longer in the report


# --------------------------------------------------------------------------- preconditions


def owner_file(path: Path) -> Path:
    """Excel's lock file for an open workbook: ``~$`` + the name (first two chars replaced
    for long names by some versions, so both forms are checked)."""
    return path.with_name("~$" + path.name)


def lock_files(path: Path) -> list[Path]:
    """Every lock file that says the workbook is open: Excel's ``~$name`` (both forms) and
    LibreOffice's ``.~lock.name#``."""
    names = ["~$" + path.name, "~$" + path.name[2:], ".~lock." + path.name + "#"]
    return [path.with_name(n) for n in dict.fromkeys(names) if n != "~$"]


def check_writable(path: Path) -> None:
    """Refuse (nothing written) when the plan is open in Excel or cannot be written.

    The mode bits are checked as well as ``os.access``: root may write anything, but a file
    made read-only on purpose must not be overwritten by anybody.
    """
    path = Path(path)
    lock = next((c for c in lock_files(path) if c.exists()), None)
    if lock is not None:
        app = "LibreOffice" if lock.name.startswith(".~lock.") else "Excel"
        raise WritebackRefused(
            f"{path.name} is open in {app} (its lock file {lock.name} is beside it): close it "
            f"there first, then run again; nothing was written")
    if not path.is_file():
        raise WritebackRefused(f"{path} was not found; nothing was written")
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise WritebackRefused(f"{path.name}: omplan writes back only into .xlsx and .xlsm "
                               "workbooks; nothing was written (use --out for a report file)")
    mode = path.stat().st_mode
    folder_mode = path.parent.stat().st_mode
    if (not os.access(path, os.W_OK) or not mode & stat.S_IWUSR
            or not os.access(path.parent, os.W_OK) or not folder_mode & stat.S_IWUSR):
        raise WritebackRefused(f"{path.name} is read-only (or its folder is): nothing was "
                               "written; make it writable or use --out to write a report "
                               "elsewhere")


# --------------------------------------------------------------------------- package scan


def _matches(patterns: list[str], name: str) -> bool:
    return any(re.fullmatch(p, name) for p in patterns)


def lossy_features(path: str | os.PathLike[str]) -> list[str]:
    """What openpyxl would drop from this workbook, one readable item each (empty: safe)."""
    path = Path(path)
    losses: dict[str, None] = {}
    is_macro = path.suffix.lower() == ".xlsm"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        for name in names:
            if name.endswith("/"):
                continue
            if _matches(_KEPT_PARTS, name) or (is_macro and _matches(_VBA_PARTS, name)):
                continue
            label = next((what for pattern, what in _KNOWN_LOSSY if re.match(pattern, name)),
                         None)
            if label is None and re.match(r"xl/vba", name):
                label = "a VBA project in a workbook not saved as .xlsm"
            losses[label or f"the part {name}"] = None
        for name in names:
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                for item in _sheet_losses(archive.read(name)):
                    losses[item] = None
            elif re.fullmatch(r"xl/drawings/drawing\d+\.xml", name):
                for item in _drawing_losses(archive.read(name)):
                    losses[item] = None
            elif re.fullmatch(r"xl/drawings/vmlDrawing\d+\.vml", name):
                if _vml_controls(archive.read(name)) and not _vml_kept(name, is_macro):
                    losses["form controls (buttons, check boxes, …)"] = None
            elif name == "xl/workbook.xml":
                xml = archive.read(name)
                for uri, what in _WORKBOOK_LOSSY_EXT.items():
                    if uri.encode().lower() in xml.lower():
                        losses[what] = None
                for tag, what in _WORKBOOK_ELEMENTS:
                    if re.search(rb"<(?:\w+:)?" + tag + rb"\b", xml):
                        losses[what] = None
            elif name == "xl/sharedStrings.xml":
                if re.search(rb"<(?:\w+:)?rPh\b", archive.read(name)):
                    losses["phonetic guides (furigana)"] = None
            elif name == "_rels/.rels":
                for item in _root_rel_losses(archive.read(name), is_macro):
                    losses[item] = None
    return list(losses)


def _vml_kept(name: str, is_macro: bool) -> bool:
    """openpyxl keeps a VML drawing with form controls (buttons) only in an .xlsm, and only
    under a name its copy pattern matches (``vmlDrawing`` and a single digit)."""
    return is_macro and re.fullmatch(r"xl/drawings/vmlDrawing\d\.vml", name) is not None


def _vml_controls(xml: bytes) -> list[tuple[bytes, bytes]]:
    """The form controls of a VML drawing as (kind, macro), comments (Notes) left out."""
    out = []
    for shape in re.findall(rb"<(?:\w+:)?ClientData\b.*?</(?:\w+:)?ClientData>", xml, re.S):
        kind = re.search(rb'ObjectType="([^"]*)"', shape)
        if kind is None or kind.group(1) == b"Note":
            continue
        macro = re.search(rb"<(?:\w+:)?FmlaMacro>(.*?)</", shape, re.S)
        out.append((kind.group(1), macro.group(1) if macro else b""))
    return out


def _root_rel_losses(xml: bytes, is_macro: bool) -> list[str]:
    out = []
    for rel_type in re.findall(rb'Type="([^"]+)"', xml):
        kind = rel_type.decode()
        if kind.endswith(_ROOT_REL_TYPES) or (is_macro and kind == _CUSTOM_UI_2007):
            continue
        if kind.endswith("/ui/extensibility"):
            out.append("the ribbon customisation (customUI) of Excel 2010 or later")
        else:
            out.append(f"package data of the kind {kind.rsplit('/', 1)[-1]}")
    return out


def _sheet_losses(xml: bytes) -> list[str]:
    out = []
    for uri in re.findall(rb'<(?:\w+:)?ext\b[^>]*\buri="([^"]+)"', xml):
        out.append(_EXT_URIS.get(uri.decode(), f"Excel extension data ({uri.decode()})"))
    for tag, what in _SHEET_ELEMENTS:
        if re.search(rb"<(?:\w+:)?" + tag + rb"\b", xml):
            out.append(what)
    return out


def _drawing_losses(xml: bytes) -> list[str]:
    out = []
    if re.search(rb"<(?:\w+:)?(sp|grpSp|cxnSp)\b", xml):
        out.append("shapes or text boxes")
    for uri in re.findall(rb'<(?:\w+:)?graphicData\b[^>]*\buri="([^"]+)"', xml):
        if not uri.endswith(b"/chart"):
            out.append("SmartArt, slicers or other drawing objects")
    if re.search(rb"<(?:\w+:)?AlternateContent\b", xml):
        out.append("drawing objects of newer Excel versions (e.g. form controls)")
    return out


# --------------------------------------------------------------------------- ownership


def owner_value(sheet: str, title: str) -> str:
    """The defined-name formula marking a report sheet: which report sheet it holds and the
    title it was written under (``:`` cannot occur in sheet names)."""
    return '"' + f"{_OWNER_TAG}:{sheet}:{title}".replace('"', '""') + '"'


def _parse_mark(text: str | None, title: str) -> tuple[str, str] | None:
    text = text or ""
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
    return _parse_mark(getattr(name, "attr_text", None), ws.title)


def _pick_owned(marked: list[tuple[str, tuple[str, str]]]) -> dict[str, str]:
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


def _with_live_marks(marked: list[tuple[str, tuple[str, str]]], titles: list[str],
                     book_names: list[tuple[str, str | None]]) -> list[tuple[str, tuple[str, str]]]:
    """Add the sheets the live binding marked (a sheet marked both ways counts once)."""
    seen = {title for title, _ in marked}
    by_fold = {t.casefold(): t for t in titles}
    for name, refers in book_names:
        title = by_fold.get((referenced_sheet(refers) or "").casefold())
        if LIVE_MARK.fullmatch(name) and title is not None and title not in seen:
            marked.append((title, (title, title)))
            seen.add(title)
    return marked


def _book_names(wb: Any) -> list[tuple[str, str | None]]:
    return [(n, dn.attr_text) for n, dn in wb.defined_names.items()]


def owned_sheets(wb: Any) -> dict[str, Any]:
    """Report sheet -> the worksheet omplan wrote for it (see :func:`_pick_owned`), marked by
    ``--writeback`` (a hidden sheet-level name) or by the live Excel binding (book names)."""
    marked = [(ws.title, mark) for ws in wb.worksheets if (mark := owner_mark(ws))]
    marked = _with_live_marks(marked, wb.sheetnames, _book_names(wb))
    return {sheet: wb[title] for sheet, title in _pick_owned(marked).items()}


def _package_owned(data: bytes) -> set[str]:
    """Titles of the sheets omplan wrote, read from workbook.xml without loading the sheets."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as package:
        book = etree.fromstring(package.read("xl/workbook.xml"),
                                etree.XMLParser(resolve_entities=False, no_network=True))
    titles = [sheet.get("name") for sheet in book.iter("{*}sheet")]
    marked = []
    book_names = []
    for name in book.iter("{*}definedName"):
        local = name.get("localSheetId")
        if local is None:
            book_names.append((name.get("name") or "", name.text))
        if name.get("name") != OWNER_NAME or local is None or not local.isdigit() or int(
                local) >= len(titles):
            continue
        mark = _parse_mark(name.text, titles[int(local)])
        if mark is not None:
            marked.append((titles[int(local)], mark))
    return set(_pick_owned(_with_live_marks(marked, titles, book_names)).values())


# --------------------------------------------------------------------------- snapshots


def snapshot(wb: Any, sheets: list[str]) -> dict[str, Any]:
    """What must not change in the user's sheets: values and formulas, merged cells, data
    validations, defined names, and what else openpyxl carries (tables, conditional formats,
    comments, links, charts, pictures, visibility, VBA code names)."""
    snap: dict[str, Any] = {  # the live binding's sheet marks are omplan's, not the user's
        "names": {n: dn.attr_text for n, dn in wb.defined_names.items()
                  if not LIVE_MARK.fullmatch(n)},
        "code name": wb.code_name,
    }
    for title in sheets:
        ws = wb[title]
        cells, comments, links = {}, {}, {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    cells[c.coordinate] = _comparable(c.value)
                if c.comment is not None:
                    comments[c.coordinate] = c.comment.text
                if c.hyperlink is not None:
                    links[c.coordinate] = (c.hyperlink.target, c.hyperlink.location)
        validations = sorted((str(dv.sqref), dv.type, dv.formula1, dv.formula2)
                             for dv in ws.data_validations.dataValidation)
        formats = sorted((str(cf.sqref), rule.type, tuple(rule.formula or ()))
                         for cf in ws.conditional_formatting for rule in cf.rules)
        snap[title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": validations,
            "names": {n: dn.attr_text for n, dn in ws.defined_names.items()},
            "tables": sorted((t.name, t.ref) for t in ws.tables.values()),
            "conditional formats": formats,
            "comments": comments,
            "links": links,
            "charts and pictures": (len(ws._charts), len(ws._images)),
            "visibility": ws.sheet_state,
            "code name": ws.sheet_properties.codeName,
        }
    return snap


def _comparable(value: Any) -> Any:
    """A hashable, comparable form of a cell value (formulas objects and rich text too)."""
    kind = type(value).__name__
    if kind == "ArrayFormula":
        return ("array formula", value.ref, value.text)
    if kind == "DataTableFormula":
        return ("data table", tuple(value))
    if kind == "CellRichText":
        return ("rich text", tuple((str(block), repr(getattr(block, "font", None)))
                                   for block in value))
    return value


_LABELS = {"cells": "values or formulas", "merged": "merged cells",
           "validations": "data validations", "names": "defined names"}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Readable differences between two snapshots (empty when equal)."""
    out = []
    if before["names"] != after["names"]:
        changed = sorted(set(before["names"].items()) ^ set(after["names"].items()))
        out.append("the workbook's defined names changed ("
                   + ", ".join(dict.fromkeys(n for n, _ in changed)) + ")")
    if before["code name"] != after["code name"]:
        out.append("the workbook's VBA code name changed")
    for title, snap in before.items():
        if title in ("names", "code name"):
            continue
        other = after.get(title)
        if other is None:
            out.append(f"sheet '{title}' is missing")
            continue
        for key, value in snap.items():
            if value == other[key]:
                continue
            detail = ""
            if isinstance(value, dict) and key != "names":
                changed = sorted(set(value.items()) ^ set(other[key].items()), key=str)
                where = dict.fromkeys(f"{title}!{c}" for c, _ in changed)
                detail = " (" + ", ".join(list(where)[:5]) + ")"
            out.append(f"{_LABELS.get(key, key)} of sheet '{title}' changed{detail}")
    return out


# --------------------------------------------------------------------------- package parts


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its part name inside the package."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    book = etree.fromstring(archive.read("xl/workbook.xml"), parser)
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), parser)
    targets = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for sheet in book.iter("{*}sheet"):
        rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
        target = targets.get(rid)
        if target is None:
            continue
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        out[sheet.get("name")] = part
    return out


def _cached_values(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Cell -> (type, saved value) of every formula cell that has a saved value."""
    from lxml import etree

    out = {}
    strings: list[str] | None = None
    for _, cell in etree.iterparse(io.BytesIO(archive.read(part)), tag="{*}c",
                                   resolve_entities=False, no_network=True, huge_tree=True):
        formula = cell.find("{*}f")
        value = cell.find("{*}v")
        if formula is not None and value is not None and value.text is not None:
            kind, text = cell.get("t", "n"), value.text
            if kind == "s":  # a shared string as a formula result: store it as t="str"
                if strings is None:
                    strings = _shared_strings(archive)
                kind, text = "str", strings[int(text)] if int(text) < len(strings) else ""
            out[cell.get("r")] = (kind, text)
        cell.clear()
    return out


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    from lxml import etree

    try:
        xml = archive.read("xl/sharedStrings.xml")
    except KeyError:
        return []
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    return ["".join(t.text or "" for t in si.iter("{*}t") if t.getparent().tag.endswith(
        ("}si", "}r"))) for si in root.iter("{*}si")]


def _put_cached_values(xml: bytes, values: dict[str, tuple[str, str]]) -> bytes:
    """The sheet XML with the saved values of its formula cells put back."""
    from lxml import etree

    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True,
                                                 huge_tree=True))
    ns = root.nsmap.get(None, "http://schemas.openxmlformats.org/spreadsheetml/2006/main")
    for cell in root.iter(f"{{{ns}}}c"):
        saved = values.get(cell.get("r"))
        formula = cell.find(f"{{{ns}}}f")
        if saved is None or formula is None:
            continue
        kind, text = saved
        value = cell.find(f"{{{ns}}}v")
        if value is None:
            value = etree.SubElement(cell, f"{{{ns}}}v")
        value.text = text
        if kind == "n":
            cell.attrib.pop("t", None)
        else:
            cell.set("t", kind)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def restore_cached_values(original: bytes, data: bytes, sheets: list[str]) -> bytes:
    """openpyxl saves formulas without their saved values; put back the values the user's
    sheets had, so programs that read values (omplan itself, previews) still see them.
    Excel recalculates on opening all the same (openpyxl sets fullCalcOnLoad)."""
    with zipfile.ZipFile(io.BytesIO(original)) as before, \
            zipfile.ZipFile(io.BytesIO(data)) as after:
        old_parts, new_parts = _sheet_parts(before), _sheet_parts(after)
        updates = {}
        for title in sheets:
            if title not in old_parts or title not in new_parts:
                continue
            values = _cached_values(before, old_parts[title])
            if values:
                updates[new_parts[title]] = _put_cached_values(after.read(new_parts[title]),
                                                               values)
        if not updates:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rebuilt:
            for info in after.infolist():
                rebuilt.writestr(info, updates.get(info.filename) or after.read(info))
    return out.getvalue()


def _macro_parts(archive: zipfile.ZipFile) -> dict[str, bytes]:
    """The VBA project and ribbon parts of an .xlsm, which must come back byte for byte."""
    return {n: archive.read(n) for n in archive.namelist()
            if re.match(r"xl/vba|customUI/", n)}


def _all_vml_controls(archive: zipfile.ZipFile) -> Counter:
    return Counter(c for n in archive.namelist() if n.endswith(".vml")
                   for c in _vml_controls(archive.read(n)))


# --------------------------------------------------------------------------- writing


def _free_name(wanted: str, taken: set[str]) -> str:
    try:
        return free_sheet_name(wanted, taken)
    except ValueError as exc:
        raise WritebackRefused(str(exc)) from None


def _free_table_name(wanted: str, taken: set[str]) -> str:
    for n in range(1, 100):
        name = f"omplan_{wanted}" + ("" if n == 1 else str(n))
        if name.casefold() not in taken:
            return name
    raise WritebackRefused(f"no free table name for the report table '{wanted}'")


def write_into(run: PlanRun, path: str | os.PathLike[str]) -> WritebackResult:
    """Write the report sheets into the plan at ``path``, or beside it when that would lose
    something; raises :class:`WritebackRefused` when nothing may be written."""
    from omplan.files.report import report_layout, write_report

    plan_path = Path(path)
    check_writable(plan_path)
    if run.evaluation is None or not run.ok:
        raise WritebackRefused("the plan has errors, so there are no figures to write back; "
                               "fix the errors listed above, then run again")
    losses = lossy_features(plan_path)
    if losses:
        companion = plan_path.with_name(plan_path.stem + ".omplan.xlsx")
        write_report(run.evaluation, companion, input_findings=run.findings,
                     source_path=plan_path)
        return WritebackResult(companion, in_place=False, losses=losses)
    layout = report_layout(run.evaluation, input_findings=run.findings, source_path=plan_path)
    return _write_in_place(plan_path, layout)


def _load(source: Path | bytes, macro: bool) -> Any:
    import openpyxl

    if isinstance(source, bytes):
        source = io.BytesIO(source)  # type: ignore[assignment]
    return openpyxl.load_workbook(source, keep_vba=macro, keep_links=True, rich_text=True)


def _input_sheet_names() -> set[str]:
    from omplan.input.reader import OPTIONAL_SHEETS, REQUIRED_SHEETS, norm_header

    return {norm_header(n) for n in (*REQUIRED_SHEETS, *OPTIONAL_SHEETS)}


def _sheet_titles(layout: ReportLayout, owned: dict[str, Any],
                  user_sheets: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(report sheet -> title to write it under, report sheet -> title used instead because
    the user has a sheet of that name). A report sheet we wrote before keeps its title, even
    one the user gave it; the plan's input sheet names are never used (they would be read as
    input next time)."""
    from omplan.input.reader import norm_header

    inputs = _input_sheet_names()
    users = {norm_header(t) for t in user_sheets}
    titles: dict[str, str] = {}
    for sheet in layout.sheets:
        old = owned.get(sheet.name)
        if old is not None and norm_header(old.title) not in inputs:
            titles[sheet.name] = old.title
    taken = users | inputs | {norm_header(t) for t in titles.values()}
    wanted = {norm_header(s.name) for s in layout.sheets}
    for sheet in layout.sheets:
        if sheet.name in titles:
            continue
        title = sheet.name
        if norm_header(title) in taken:
            title = _free_name(sheet.name, taken | wanted)
        titles[sheet.name] = title
        taken.add(norm_header(title))
    renamed = {s: t for s, t in titles.items()
               if t != s and norm_header(s) in users}
    return titles, renamed


def _order(original: list[str], ours: set[str], replaced: dict[str, str],
           new_titles: list[str]) -> list[str]:
    """The sheet order after writeback: every user sheet where it was, a replaced report sheet
    in its predecessor's place, a new report sheet after the report sheet before it."""
    order = [replaced.get(t, t) for t in original if t not in ours or t in replaced]
    for i, title in enumerate(new_titles):
        if title in order:
            continue
        before = next((t for t in reversed(new_titles[:i]) if t in order), None)
        after = next((t for t in new_titles[i + 1:] if t in order), None)
        if before is not None:
            order.insert(order.index(before) + 1, title)
        elif after is not None:
            order.insert(order.index(after), title)
        else:
            order.append(title)
    return order


def _write_in_place(path: Path, layout: ReportLayout) -> WritebackResult:
    from openpyxl.workbook.defined_name import DefinedName

    from omplan.render.xlsx import render_sheets_into
    from omplan.report.layout import rename_sheets

    macro = path.suffix.lower() == ".xlsm"
    target = path.resolve()  # a symlinked plan: write the file it points to, keep the link
    original = target.read_bytes()
    info = target.stat()
    # our old sheets are replaced anyway: load them without their (possibly many) cells
    wb = _load(_without_cells(original, _package_owned(original)), macro)
    owned = owned_sheets(wb)
    ours = [t for t in wb.sheetnames if any(ws.title == t for ws in owned.values())]
    user_sheets = [t for t in wb.sheetnames if t not in ours]
    before = snapshot(wb, user_sheets)
    original_order = list(wb.sheetnames)
    active = wb.active.title if wb.active is not None else None
    states = {sheet: ws.sheet_state for sheet, ws in owned.items()}

    titles, renamed = _sheet_titles(layout, owned, user_sheets)
    for title in ours:  # replaced, never duplicated
        del wb[title]
    for name, refers in _book_names(wb):  # the live binding's marks of the sheets just removed
        if LIVE_MARK.fullmatch(name) and referenced_sheet(refers) in ours:
            del wb.defined_names[name]
    taken_names = {n.casefold() for n in wb.defined_names} | {
        n.casefold() for ws in wb.worksheets for n in [*ws.tables, *ws.defined_names]}
    tables = {}
    for spec in (t for s in layout.sheets for t in s.tables):
        if spec.name.casefold() in taken_names:
            tables[spec.name] = _free_table_name(spec.name, taken_names)
            taken_names.add(tables[spec.name].casefold())
    changed = {k: v for k, v in titles.items() if k != v}
    if changed or tables:
        layout = rename_sheets(layout, changed, tables)
    new_sheets = render_sheets_into(wb, layout)
    for sheet, ws in zip(titles, new_sheets, strict=True):
        ws.defined_names.add(DefinedName(OWNER_NAME, attr_text=owner_value(sheet, ws.title),
                                         hidden=True))
        ws.sheet_state = states.get(sheet, "visible")
    replaced = {owned[s].title: titles[s] for s in owned if s in titles}
    order = _order(original_order, set(ours), replaced, [ws.title for ws in new_sheets])
    wb._sheets = [wb[t] for t in order]
    _set_active(wb, replaced.get(active, active) if active else None)

    data = restore_cached_values(original, workbook_bytes(wb), user_sheets)
    problems = _check(original, data, before, user_sheets, macro)
    if problems:
        raise WritebackRefused(
            f"omplan did not write into {path.name}: checking the new version found that it "
            "would change your sheets (" + "; ".join(problems) + f"). {path.name} was left "
            "as it was; use --out to write the report to its own file, and please report "
            "this as a bug in omplan")

    check_writable(path)  # opened in Excel meanwhile?
    now = target.stat()
    if (now.st_mtime_ns, now.st_size) != (info.st_mtime_ns, info.st_size):
        raise WritebackRefused(f"{path.name} was saved by another program while omplan was "
                               "working on it; nothing was written: run again")
    backup = path.with_name(path.name + ".bak")
    atomic_write_bytes(backup, original, info)
    atomic_write_bytes(target, data, info)
    if target.read_bytes() != data:  # the disk did not keep what was written
        atomic_write_bytes(target, original, info)
        raise WritebackRefused(f"{path.name} did not read back as written; the original was "
                               "restored and nothing was changed")
    removed = [t for t in ours if t not in replaced]
    return WritebackResult(path, in_place=True, renamed=renamed, backup=backup,
                           removed=removed)


def _set_active(wb: Any, title: str | None) -> None:
    """Keep the sheet the user was on active (and selected) after sheets moved."""
    if title not in wb.sheetnames:
        title = next((ws.title for ws in wb.worksheets if ws.sheet_state == "visible"), None)
    if title is None:
        return
    ws = wb[title]
    wb.active = wb.worksheets.index(ws)
    if ws.sheet_state == "visible" and not any(
            view.tabSelected for view in ws.views.sheetView):
        ws.views.sheetView[0].tabSelected = True


def _check(original: bytes, data: bytes, before: dict[str, Any], user_sheets: list[str],
           macro: bool) -> list[str]:
    """Differences in the user's sheets between the original and the new workbook bytes."""
    try:
        report = [t for t in _sheet_parts_of(data) if t not in user_sheets]
        reopened = _load(_without_cells(data, report), macro)
        problems = differences(before, snapshot(reopened, user_sheets))
    except Exception as exc:  # the new workbook does not even open: certainly not written
        return [f"the new workbook could not be read back ({type(exc).__name__}: {exc})"]
    with zipfile.ZipFile(io.BytesIO(original)) as old, zipfile.ZipFile(io.BytesIO(data)) as new:
        if macro and _macro_parts(old) != _macro_parts(new):
            problems.append("the VBA project or ribbon changed")
        if _all_vml_controls(old) != _all_vml_controls(new):
            problems.append("form controls (buttons) changed")
        old_parts, new_parts = _sheet_parts(old), _sheet_parts(new)
        for title in user_sheets:
            if title in old_parts and title in new_parts and (
                    _cached_values(old, old_parts[title])
                    != _cached_values(new, new_parts[title])):
                problems.append(f"the saved values of formulas on sheet '{title}' changed")
    return problems


def _sheet_parts_of(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return _sheet_parts(package)


def _without_cells(data: bytes, sheets: set[str] | list[str]) -> bytes:
    """A copy of the package in which ``sheets`` have no cells, to load the other sheets
    without parsing the (possibly long) report sheets."""
    if not sheets:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        empty = {part for title, part in _sheet_parts(package).items() if title in sheets}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
            for info in package.infolist():
                content = package.read(info)
                if info.filename in empty:
                    content = re.sub(rb"<((?:\w+:)?sheetData)\b[^>]*>.*</\1>", b"<\\1/>",
                                     content, flags=re.S)
                copy.writestr(info.filename, content)
    return out.getvalue()
