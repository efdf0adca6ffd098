"""The macro-enabled plan template: omplan's input sheets on xlwings' quickstart workbook.

xlwings ships ``quickstart.xlsm`` with one VBA module (checked with ``olevba``)::

    Sub SampleCall()
        mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, ...) - 1))
        RunPython "import " & mymodule & ";" & mymodule & ".main()"
    End Sub

and a VBA reference to the xlwings add-in, which provides ``RunPython``. We keep that VBA
project byte for byte (editing VBA source inside ``vbaProject.bin`` without Excel would leave
stale compiled code behind) and follow its convention instead: the macro imports the Python
module named after the workbook and calls its ``main()``. So ``PLAN.xlsm`` comes with a
two-line ``PLAN.py`` beside it that re-exports :func:`omplan.excel.main`; the shipped
``omplan.xlsm`` needs no companion because ``omplan.main`` is that function.

On top of the quickstart we add: the template's sheets (``Start here`` takes the place of
``Sheet1`` so the VBA document modules keep their sheets), an ``xlwings.conf`` sheet (the
quickstart's ``_xlwings.conf``, activated) that names ``omplan.excel`` as the UDF module, and
a form button "Run scenarios" on ``Start here`` assigned to ``SampleCall``. openpyxl cannot
write form buttons, so the button's VML part is added to the saved package afterwards, in the
form XlsxWriter's ``insert_button`` writes (which XlsxWriter checks against Excel's files).

This module does not import xlwings: it only finds the quickstart file inside the package.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import keyword
import os
import re
import zipfile
from pathlib import Path
from typing import Any

from omplan.core.errors import OmplanError

#: The quickstart's macro; the button runs it.
MACRO = "SampleCall"
BUTTON_CAPTION = "Run scenarios"
CONF_SHEET = "xlwings.conf"
#: Settings of the xlwings.conf sheet (xlwings reads A1 downwards to the first blank row;
#: a key present here overrides the add-in's setting, so only what omplan needs is set).
CONF_SETTINGS: list[tuple[str, str]] = [("UDF Modules", "omplan.excel")]
#: The custom functions of omplan.excel, as the notes name them.
UDF_NAMES = ("OM_SUMMARY", "OM_SPLIT", "OM_PAYBACK", "OM_VARIANCE", "OM_BAND_STATUS",
             "OM_TARGET_SHARE")
CONF_NOTES = [
    "xlwings reads the settings above from A1 down to the first blank row; a setting listed "
    "here overrides the xlwings add-in's (ribbon) setting of the same name.",
    f"UDF Modules: the custom functions {', '.join(UDF_NAMES[:-1])} and {UDF_NAMES[-1]} "
    "come from omplan.excel (Windows: xlwings ribbon > Import Functions).",
    "To use another Python, add a row above the blank row, e.g. Interpreter_Win | "
    r"C:\path\to\venv\Scripts\pythonw.exe   or   Interpreter_Mac | /path/to/venv/bin/python.",
    "The Run scenarios button runs the macro SampleCall, which runs: import <workbook name>; "
    "<workbook name>.main() — keep <workbook name>.py (written by 'omplan new') beside this "
    "file, or name the workbook omplan.xlsm.",
]
START_EXTRA: list[tuple[str, str]] = [
    ("", ""),
    ("", ""),
    ("p", "Press Run scenarios (above) after editing the yellow cells: the Summary, scenario, "
          "Ledger, Checks and About sheets are written into this workbook. Needs Python with "
          "omplan and the xlwings add-in: pip install omplan, then xlwings addin install."),
    ("p", "Custom functions: =OM_SUMMARY(StaffingTable[#All], RatesTable[#All], "
          "AllocationTable[#All]) spills the Baseline table; OM_SPLIT gives its operation "
          "share; =OM_PAYBACK(\"Offshore L3\", StaffingTable[#All], RatesTable[#All], "
          "AllocationTable[#All], ScenariosTable[#All]) a scenario's payback in months; "
          "=OM_VARIANCE(\"FY2027 Q2\", ActualsTable[#All], StaffingTable[#All], "
          "RatesTable[#All], AllocationTable[#All]) a quarter's actual minus plan."),
]
#: Where the button sits on 'Start here' (0-based cells and pixel offsets, VML anchor order:
#: left col, dx, top row, dy, right col, dx, bottom row, dy): rows 2–3 of the wide column A.
BUTTON_ANCHOR = (0, 8, 1, 3, 0, 200, 2, 17)
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)


class XlsmNameError(OmplanError, ValueError):
    """The .xlsm's name cannot carry the Run button (see :func:`companion_module`)."""


def quickstart_path() -> Path:
    """xlwings' ``quickstart.xlsm``, found without importing xlwings."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("xlwings is not installed: pip install xlwings")
    path = Path(list(spec.submodule_search_locations)[0]) / "quickstart.xlsm"
    if not path.is_file():
        raise FileNotFoundError(f"xlwings' quickstart workbook is missing: {path}")
    return path


def companion_module(path: str | os.PathLike[str]) -> str | None:
    """The Python module the .xlsm's macro imports (its file stem); None for ``omplan``, whose
    package already has ``main``. Raises :class:`XlsmNameError` for names the macro cannot
    import, or that would hide another installed module."""
    stem = Path(path).stem
    if stem == "omplan":
        return None
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise XlsmNameError(
            f"{Path(path).name}: the Run button imports a Python module named after the "
            "workbook, so the name must be letters, digits and underscores, not starting with "
            "a digit (e.g. budget_2027.xlsm)")
    try:
        found = importlib.util.find_spec(stem)
    except (ImportError, ValueError):
        found = None
    origin = Path(found.origin).resolve() if found is not None and found.origin else None
    if origin is not None and (origin == Path(path).with_suffix(".py").resolve()
                               or origin.parent == Path.cwd().resolve()):
        found = None  # our own companion from before, or a file in the current folder
    if found is not None:
        raise XlsmNameError(
            f"{Path(path).name}: a Python module named '{stem}' is already installed, and the "
            f"Run button's '{stem}.py' would hide it; choose another workbook name")
    return stem


def companion_source(stem: str) -> str:
    return (f'"""The Run button of {stem}.xlsm: xlwings\' macro runs '
            f'`import {stem}; {stem}.main()`."""\n\n'
            "from omplan.excel import main\n\n"
            '__all__ = ["main"]\n')


def build_xlsm(fiscal_year: int | None = None, sample: bool = False,
               timestamp: dt.datetime | None = None) -> bytes:
    """The .xlsm template's bytes (the same inputs and timestamp give the same bytes)."""
    import openpyxl

    from omplan.files.template_sheets import add_template_sheets
    from omplan.files.xlsxio import workbook_bytes

    wb = openpyxl.load_workbook(quickstart_path(), keep_vba=True)
    start, conf = wb["Sheet1"], wb["_xlwings.conf"]
    start.title = "Start here"
    conf.title = CONF_SHEET
    _write_conf(conf)
    add_template_sheets(wb, fiscal_year, sample, start=start, start_extra=START_EXTRA)
    wb.move_sheet(conf, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(CONF_SHEET))
    wb.active = 0
    taken = {ws.sheet_properties.codeName for ws in wb.worksheets}
    n = 1
    for ws in wb.worksheets:  # every sheet gets a VBA code name, as Excel (and XlsxWriter) do
        while not ws.sheet_properties.codeName:
            candidate = f"Sheet{n}"
            n += 1
            if candidate not in taken:
                ws.sheet_properties.codeName = candidate
                taken.add(candidate)
    data = workbook_bytes(wb, timestamp or FIXED_TIMESTAMP)
    return add_button(data, "Start here", MACRO, BUTTON_CAPTION)


def write_xlsm(path: str | os.PathLike[str], *, sample: bool = False,
               fiscal_year: int | None = None) -> Path:
    """Write the .xlsm template to ``path`` and, unless it is ``omplan.xlsm``, the companion
    ``<stem>.py`` beside it; raises :class:`XlsmNameError` (nothing written) for a bad name."""
    from omplan.files.xlsxio import atomic_write_bytes, source_date

    target = Path(path)
    stem = companion_module(target)
    data = build_xlsm(fiscal_year, sample, source_date())
    atomic_write_bytes(target, data)
    if stem is not None:
        atomic_write_bytes(target.with_suffix(".py"), companion_source(stem).encode())
    return target


def _write_conf(ws: Any) -> None:
    from openpyxl.styles import Alignment, Font

    for row in ws.iter_rows():
        for cell in row:
            cell.value = None
    for r, (key, value) in enumerate(CONF_SETTINGS, start=1):
        ws.cell(r, 1, key).font = Font(bold=True)
        ws.cell(r, 2, value)
    for r, note in enumerate(CONF_NOTES, start=len(CONF_SETTINGS) + 2):
        ws.cell(r, 1, note).alignment = Alignment(wrap_text=False)
        ws.cell(r, 1).font = Font(italic=True, color="595959")
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 30


# --------------------------------------------------------------------------- the button

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_VML_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"


def button_vml(macro: str, caption: str, anchor: tuple[int, ...] = BUTTON_ANCHOR) -> str:
    """A VML drawing with one form button running ``macro`` (as XlsxWriter writes it)."""
    esc = caption.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" '
        'o:connecttype="rect"/><o:lock v:ext="edit" shapetype="t"/></v:shapetype>'
        '<v:shape id="_x0000_s1025" type="#_x0000_t201" style="position:absolute;'
        'margin-left:6pt;margin-top:17.25pt;width:144pt;height:28.5pt;z-index:1;'
        'mso-wrap-style:tight" o:button="t" fillcolor="buttonFace [67]" '
        'strokecolor="windowText [64]" o:insetmode="auto">'
        '<v:fill color2="buttonFace [67]" o:detectmouseclick="t"/>'
        '<o:lock v:ext="edit" rotation="t"/>'
        '<v:textbox style="mso-direction-alt:auto" o:singleclick="f">'
        '<div style="text-align:center"><font face="Calibri" size="220" color="#000000">'
        f"{esc}</font></div></v:textbox>"
        '<x:ClientData ObjectType="Button">'
        f"<x:Anchor>{', '.join(str(v) for v in anchor)}</x:Anchor>"
        "<x:PrintObject>False</x:PrintObject><x:AutoFill>False</x:AutoFill>"
        f"<x:FmlaMacro>[0]!{macro}</x:FmlaMacro>"
        "<x:TextHAlign>Center</x:TextHAlign><x:TextVAlign>Center</x:TextVAlign>"
        "</x:ClientData></v:shape></xml>"
    )


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    """The package path of the worksheet named ``sheet``."""
    workbook = parts["xl/workbook.xml"].decode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    for tag in re.findall(r"<sheet\b[^>]*/>", workbook):
        name = re.search(r'\bname="([^"]*)"', tag)
        rid = re.search(r'\br:id="([^"]*)"', tag)
        if name and rid and name.group(1) == sheet:
            for rel in re.findall(r"<Relationship\b[^>]*/>", rels):
                if f'Id="{rid.group(1)}"' in rel:
                    target = re.search(r'Target="([^"]*)"', rel).group(1)  # type: ignore[union-attr]
                    return target.lstrip("/") if target.startswith("/xl/") else "xl/" + target
    raise KeyError(f"no sheet {sheet!r} in the package")


def add_button(package: bytes, sheet: str, macro: str, caption: str) -> bytes:
    """Add a form button running ``macro`` to ``sheet`` of a saved .xlsm (bytes in, bytes out;
    member order and times are kept, so the result stays deterministic)."""
    with zipfile.ZipFile(io.BytesIO(package)) as zin:
        infos = zin.infolist()
        parts = {i.filename: zin.read(i) for i in infos}
    part = _sheet_part(parts, sheet)
    folder, name = part.rsplit("/", 1)
    rels_name = f"{folder}/_rels/{name}.rels"
    n = 1
    while f"xl/drawings/vmlDrawing{n}.vml" in parts:
        n += 1
    vml_name = f"xl/drawings/vmlDrawing{n}.vml"
    rels = parts.get(rels_name, (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b"</Relationships>")).decode()
    rid, k = "rIdOmplanButton", 1
    while f'Id="{rid}"' in rels:
        k += 1
        rid = f"rIdOmplanButton{k}"
    rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{_VML_REL}" '
                        f'Target="../drawings/vmlDrawing{n}.vml"/></Relationships>')
    xml = parts[part].decode()
    if "<legacyDrawing" in xml:
        raise ValueError(f"sheet {sheet!r} already has a VML drawing")
    root = re.search(r"<worksheet\b[^>]*>", xml)
    assert root is not None
    if f'xmlns:r="{_REL_NS}"' not in root.group(0):
        xml = xml.replace(root.group(0), root.group(0)[:-1] + f' xmlns:r="{_REL_NS}">', 1)
    element = f'<legacyDrawing r:id="{rid}"/>'
    # schema order: legacyDrawing comes before legacyDrawingHF, picture, oleObjects, controls,
    # webPublishItems, tableParts and extLst
    later = re.search(r"<(legacyDrawingHF|picture|oleObjects|controls|webPublishItems|"
                      r"tableParts|extLst)\b", xml)
    at = later.start() if later else xml.rindex("</worksheet>")
    xml = xml[:at] + element + xml[at:]
    types = parts["[Content_Types].xml"].decode()
    if 'Extension="vml"' not in types:
        types = types.replace("<Default ", f'<Default Extension="vml" ContentType="{_VML_TYPE}"/>'
                              "<Default ", 1)
    parts[part] = xml.encode()
    parts[rels_name] = rels.encode()
    parts[vml_name] = button_vml(macro, caption).encode()
    parts["[Content_Types].xml"] = types.encode()
    out = io.BytesIO()
    date_time = infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0)
    names = [i.filename for i in infos]
    for extra in (rels_name, vml_name):
        if extra not in names:
            names.append(extra)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for filename in names:
            member = zipfile.ZipInfo(filename, date_time=date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o600 << 16
            zout.writestr(member, parts[filename])
    return out.getvalue()
