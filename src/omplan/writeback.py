"""Write the report sheets into the user's own plan workbook, losing nothing (issue 4).

Order of work: refuse early (open in Excel, read-only) -> scan the package for anything
openpyxl would not carry over (then write ``<stem>.omplan.xlsx`` beside it instead) ->
snapshot the user's sheets -> replace only omplan-owned sheets -> save atomically, keeping
``<name>.bak`` -> reopen and verify the user's sheets; on any difference restore the original.
Ownership is a hidden sheet-level defined name, so renamed or look-alike sheets are never
mistaken for ours.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import PlanRun
    from .layout import ReportLayout

OWNER_NAME = "omplan_report"
OWNER_VALUE = '"omplan"'

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
    # regenerated or printer-driver data: Excel rebuilds them, nothing of the user's is lost
    r"xl/calcChain\.xml", r"xl/printerSettings/printerSettings\d+\.bin",
    r"xl/charts/(style|colors)\d+\.xml",
]
_VBA_PARTS = [r"xl/vbaProject\.bin", r"xl/vbaProjectSignature\.bin",
              r"xl/_rels/vbaProject\.bin\.rels", r"customUI/.*", r"_rels/customUI\.xml\.rels"]
_KNOWN_LOSSY = [
    (r"xl/slicers/|xl/slicerCaches/", "slicers"),
    (r"xl/timelines/|xl/timelineCaches/", "timelines"),
    (r"xl/threadedComments/|xl/persons/", "threaded comments"),
    (r"xl/model/|customXml/.*item\d*\.data", "the data model (Power Pivot)"),
    (r"xl/richData/", "pictures in cells (rich data)"),
    (r"xl/webextensions/", "web extensions (Office add-ins)"),
    (r"xl/embeddings/", "embedded objects"),
    (r"xl/ctrlProps/", "form controls"),
    (r"xl/activeX/", "ActiveX controls"),
    (r"xl/macrosheets/|xl/dialogsheets/", "Excel 4 macro or dialog sheets"),
    (r"xl/chartsheets/", "chart sheets"),
    (r"xl/connections\.xml|xl/queryTables/", "data connections and queries"),
    (r"customXml/", "custom XML parts"),
    (r"xl/namedSheetViews/", "sheet views"),
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
_WORKBOOK_LOSSY_EXT = {
    "{BBE1A952-AA13-448e-AADC-164F8A28A991}": "slicers",
    "{46BE6895-7355-4a93-B00E-2C351335B9C9}": "slicers",
    "{D0CA8CA8-9F24-4464-BF8E-62219DCF47F9}": "timelines",
    "{FCE2AD5D-F65C-4FA6-A056-5C36A1767C68}": "the data model (Power Pivot)",
}


class WritebackRefused(Exception):
    """Nothing was written: the workbook is open, read-only, or not a plan file we can touch."""


@dataclass
class WritebackResult:
    """What happened: written into the plan, or beside it, and why."""

    target: Path
    in_place: bool
    losses: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # report sheet -> name used instead
    backup: Path | None = None


# --------------------------------------------------------------------------- preconditions


def owner_file(path: Path) -> Path:
    """Excel's lock file for an open workbook: ``~$`` + the name (first two chars replaced
    for long names by some versions, so both forms are checked)."""
    return path.with_name("~$" + path.name)


def check_writable(path: Path) -> None:
    """Refuse (nothing written) when the plan is open in Excel or cannot be written."""
    candidates = [owner_file(path), path.with_name("~$" + path.name[2:])]
    if any(c.exists() for c in candidates if c.name != "~$"):
        raise WritebackRefused(
            f"{path.name} is open in Excel (its lock file ~${path.name} is beside it): close "
            "it there first; nothing was written")
    if not path.is_file():
        raise WritebackRefused(f"{path} was not found; nothing was written")
    mode = path.stat().st_mode
    if not os.access(path, os.W_OK) or not (mode & stat.S_IWUSR) or not os.access(
            path.parent, os.W_OK):
        raise WritebackRefused(f"{path.name} is read-only (or its folder is): nothing was "
                               "written; make it writable or use --out to write a report "
                               "elsewhere")


# --------------------------------------------------------------------------- package scan


def _matches(patterns: list[str], name: str) -> bool:
    return any(re.fullmatch(p, name) for p in patterns)


def lossy_features(path: Path) -> list[str]:
    """What openpyxl would drop from this workbook, one readable item each (empty: safe)."""
    losses: dict[str, None] = {}
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        is_macro = path.suffix.lower() == ".xlsm"
        for name in names:
            if name.endswith("/"):
                continue
            if _matches(_KEPT_PARTS, name) or (is_macro and _matches(_VBA_PARTS, name)):
                continue
            label = next((what for pattern, what in _KNOWN_LOSSY if re.match(pattern, name)),
                         None)
            if label is None and _matches(_VBA_PARTS, name):
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
                if re.search(rb'ObjectType="(?!Note")', archive.read(name)):
                    losses["form controls (buttons, check boxes, …)"] = None
            elif name == "xl/workbook.xml":
                for uri, what in _WORKBOOK_LOSSY_EXT.items():
                    if uri.encode().lower() in archive.read(name).lower():
                        losses[what] = None
    return list(losses)


def _sheet_losses(xml: bytes) -> list[str]:
    out = []
    for uri in re.findall(rb'<(?:\w+:)?ext\b[^>]*\buri="([^"]+)"', xml):
        out.append(_EXT_URIS.get(uri.decode(), f"Excel extension data ({uri.decode()})"))
    for tag, what in ((b"controls", "form or ActiveX controls"),
                      (b"oleObjects", "embedded objects"),
                      (b"picture", "a sheet background picture")):
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


# --------------------------------------------------------------------------- snapshots


def _is_owned(ws: Any) -> bool:
    name = ws.defined_names.get(OWNER_NAME)
    return name is not None and name.attr_text == OWNER_VALUE


def snapshot(wb: Any, sheets: list[str]) -> dict[str, Any]:
    """What must not change in the user's sheets: values and formulas, merged cells, data
    validations, and the workbook's and those sheets' defined names."""
    snap: dict[str, Any] = {"names": {n: dn.attr_text for n, dn in wb.defined_names.items()}}
    for title in sheets:
        ws = wb[title]
        cells = {c.coordinate: _comparable(c.value) for row in ws.iter_rows() for c in row
                 if c.value is not None}
        validations = sorted((str(dv.sqref), dv.type, dv.formula1, dv.formula2)
                             for dv in ws.data_validations.dataValidation)
        snap[title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": validations,
            "names": {n: dn.attr_text for n, dn in ws.defined_names.items()},
        }
    return snap


def _comparable(value: Any) -> Any:
    text = getattr(value, "text", None)  # array formulas, data table formulas
    return text if text is not None else value


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Readable differences between two snapshots (empty when equal)."""
    out = []
    if before["names"] != after["names"]:
        out.append("the workbook's defined names changed")
    for title, snap in before.items():
        if title == "names":
            continue
        other = after.get(title)
        if other is None:
            out.append(f"sheet '{title}' is missing")
            continue
        for key, label in (("cells", "values or formulas"), ("merged", "merged cells"),
                           ("validations", "data validations"), ("names", "defined names")):
            if snap[key] != other[key]:
                detail = ""
                if key == "cells":
                    changed = sorted(set(snap[key].items()) ^ set(other[key].items()))[:3]
                    detail = " (" + ", ".join(f"{title}!{c}" for c, _ in changed) + ")"
                out.append(f"{label} of sheet '{title}' changed{detail}")
    return out


# --------------------------------------------------------------------------- writing


def _free_name(wanted: str, taken: set[str]) -> str:
    for n in range(1, 100):
        suffix = " (omplan)" if n == 1 else f" (omplan {n})"
        name = wanted[: 31 - len(suffix)] + suffix
        if name.casefold() not in taken:
            return name
    raise WritebackRefused(f"no free sheet name for the report sheet '{wanted}'")


def write_into(run: PlanRun, path: str | os.PathLike[str]) -> WritebackResult:
    """Write the report sheets into the plan at ``path``, or beside it when that would lose
    something; raises :class:`WritebackRefused` when nothing may be written."""
    from .report import report_layout, write_report

    plan_path = Path(path)
    check_writable(plan_path)
    if run.evaluation is None or not run.ok:
        raise WritebackRefused("the plan has errors, so there are no figures to write back")
    losses = lossy_features(plan_path)
    if losses:
        companion = plan_path.with_name(plan_path.stem + ".omplan.xlsx")
        write_report(run.evaluation, companion, input_findings=run.findings,
                     source_path=plan_path)
        return WritebackResult(companion, in_place=False, losses=losses)
    layout = report_layout(run.evaluation, input_findings=run.findings, source_path=plan_path)
    return _write_in_place(plan_path, layout)


def _load(path: Path) -> Any:
    import openpyxl

    return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm",
                                  keep_links=True, rich_text=True)


def _write_in_place(path: Path, layout: ReportLayout) -> WritebackResult:
    from openpyxl.workbook.defined_name import DefinedName

    from .layout import rename_sheets
    from .render_xlsx import render_sheets_into
    from .xlsxio import atomic_write_bytes, workbook_bytes

    original = path.read_bytes()
    wb = _load(path)
    owned = [ws.title for ws in wb.worksheets if _is_owned(ws)]
    user_sheets = [title for title in wb.sheetnames if title not in owned]
    before = snapshot(wb, user_sheets)
    vba_before = _vba_bytes(path)

    for title in owned:  # ours: replaced, never duplicated
        del wb[title]
    taken = {t.casefold() for t in wb.sheetnames}
    renamed: dict[str, str] = {}
    for sheet in layout.sheets:
        if sheet.name.casefold() in taken:
            renamed[sheet.name] = _free_name(sheet.name, taken | {
                s.name.casefold() for s in layout.sheets})
            taken.add(renamed[sheet.name].casefold())
    user_tables = {name.casefold() for ws in wb.worksheets for name in ws.tables}
    tables = {t.name: f"omplan_{t.name}" for s in layout.sheets for t in s.tables
              if t.name.casefold() in user_tables}
    if renamed or tables:
        layout = rename_sheets(layout, renamed, tables)
    new_sheets = render_sheets_into(wb, layout)
    for ws in new_sheets:
        ws.defined_names.add(DefinedName(OWNER_NAME, attr_text=OWNER_VALUE, hidden=True))

    data = workbook_bytes(wb)
    backup = path.with_name(path.name + ".bak")
    atomic_write_bytes(backup, original)
    atomic_write_bytes(path, data)
    problems = differences(before, snapshot(_load(path), user_sheets))
    if vba_before != _vba_bytes(path):
        problems.append("the VBA project changed")
    if problems:
        atomic_write_bytes(path, original)
        raise WritebackRefused(
            f"writing into {path.name} would have changed your sheets ("
            + "; ".join(problems) + "); the original was restored and nothing was changed")
    return WritebackResult(path, in_place=True, renamed=renamed, backup=backup)


def _vba_bytes(path: Path) -> bytes | None:
    with zipfile.ZipFile(path) as archive:
        try:
            return archive.read("xl/vbaProject.bin")
        except KeyError:
            return None

