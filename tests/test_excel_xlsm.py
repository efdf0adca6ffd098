"""The macro-enabled template: xlwings' quickstart VBA (read with oletools' olevba), the Run
scenarios button, the xlwings.conf sheet, and `omplan new PLAN.xlsm`."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

import omplan
from omplan.apps.cli import sample_plan_path
from omplan.files.template_sheets import HEADERS
from omplan.files.xlsm import (
    BUTTON_CAPTION,
    CONF_SHEET,
    FIXED_TIMESTAMP,
    MACRO,
    XlsmNameError,
    build_xlsm,
    companion_module,
    quickstart_path,
)
from omplan.pipeline import run_plan

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "workbooks" / "omplan.xlsm"


def vba_modules(path: Path) -> dict[str, str]:
    """VBA module name -> source, as olevba extracts it."""
    olevba = pytest.importorskip("oletools.olevba", reason="pip install oletools (test extra)")
    parser = olevba.VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        return {name: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def test_shipped_xlsm_carries_the_run_python_macro():
    modules = vba_modules(SHIPPED)
    code = modules["Module1.bas"]
    assert f"Sub {MACRO}()" in code
    assert re.search(r'RunPython "import " & mymodule & ";" & mymodule & "\.main\(\)"', code)
    assert "ThisWorkbook.Name" in code  # the module is named after the workbook: omplan
    # the VBA project is xlwings' own, byte for byte
    with zipfile.ZipFile(SHIPPED) as ours, zipfile.ZipFile(quickstart_path()) as theirs:
        assert ours.read("xl/vbaProject.bin") == theirs.read("xl/vbaProject.bin")


def test_shipped_xlsm_has_the_button_and_the_conf_sheet():
    with zipfile.ZipFile(SHIPPED) as archive:
        vml = archive.read("xl/drawings/vmlDrawing1.vml").decode()
        types = archive.read("[Content_Types].xml").decode()
        sheet1 = archive.read("xl/worksheets/sheet1.xml").decode()
        rels = archive.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert f"<x:FmlaMacro>[0]!{MACRO}</x:FmlaMacro>" in vml
    assert BUTTON_CAPTION in vml and 'ObjectType="Button"' in vml
    assert "macroEnabled.main+xml" in types and 'Extension="vml"' in types
    rid = re.search(r'<legacyDrawing r:id="([^"]+)"/>', sheet1).group(1)
    assert f'Id="{rid}"' in rels and "vmlDrawing1.vml" in rels
    wb = openpyxl.load_workbook(SHIPPED, keep_vba=True)
    assert wb.sheetnames == ["Start here", *HEADERS, CONF_SHEET]
    assert wb["Start here"].sheet_properties.codeName == "Sheet1"  # Module1's neighbours
    assert all(ws.sheet_properties.codeName for ws in wb.worksheets)
    conf = wb[CONF_SHEET]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", "omplan.excel")
    assert conf["A2"].value is None  # xlwings reads A1 down to the first blank row
    start = [c.value for c in wb["Start here"]["A"] if c.value]
    assert any("Run scenarios" in line for line in start)


def test_shipped_xlsm_is_the_sample_plan():
    got = run_plan(SHIPPED)
    assert got.ok
    assert got.summary()["scenarios"] == run_plan(sample_plan_path()).summary()["scenarios"]


def test_shipped_xlsm_is_rebuilt_byte_for_byte():
    with zipfile.ZipFile(SHIPPED) as ours, zipfile.ZipFile(quickstart_path()) as theirs:
        if ours.read("xl/vbaProject.bin") != theirs.read("xl/vbaProject.bin"):
            pytest.skip("another xlwings version's quickstart is installed")
    assert build_xlsm(sample=True, timestamp=FIXED_TIMESTAMP) == SHIPPED.read_bytes(), (
        "workbooks/omplan.xlsm is out of date: run python workbooks/build_xlsm.py")


def test_omplan_main_is_the_run_button():
    """omplan.xlsm's macro runs `import omplan; omplan.main()`."""
    from omplan.excel import main

    assert omplan.main is main


def test_cli_new_xlsm_writes_the_workbook_and_its_module(tmp_path):
    target = tmp_path / "budget_2027.xlsm"
    cmd = [sys.executable, "-m", "omplan", "new", str(target), "--sample"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "budget_2027.py" in done.stdout
    companion = target.with_suffix(".py")
    spec = importlib.util.spec_from_file_location("budget_2027", companion)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from omplan.excel import main

    assert module.main is main
    assert "SampleCall" in "".join(vba_modules(target).values())
    assert run_plan(target).ok
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize("name, why", [
    ("my plan.xlsm", "letters, digits and underscores"),
    ("2027.xlsm", "letters, digits and underscores"),
    ("pandas.xlsm", "already installed"),
])
def test_cli_new_xlsm_refuses_names_the_macro_cannot_import(tmp_path, name, why):
    done = subprocess.run([sys.executable, "-m", "omplan", "new", str(tmp_path / name)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and why in done.stderr
    assert not list(tmp_path.iterdir())


def test_omplan_xlsm_needs_no_companion(tmp_path):
    assert companion_module(tmp_path / "omplan.xlsm") is None
    with pytest.raises(XlsmNameError):
        companion_module(tmp_path / "class.xlsm")


def test_libreoffice_opens_the_xlsm(tmp_path):
    """A real spreadsheet application reads the package (LibreOffice, headless)."""
    if os.environ.get("OMPLAN_SKIP_LIBREOFFICE"):
        pytest.skip("OMPLAN_SKIP_LIBREOFFICE is set")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    profile = (tmp_path / "profile").as_uri()
    done = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless",
                           "--convert-to", "xlsx", "--outdir", str(tmp_path), str(SHIPPED)],
                          capture_output=True, text=True, timeout=300)
    out = tmp_path / "omplan.xlsx"
    assert out.is_file(), done.stdout + done.stderr
    assert openpyxl.load_workbook(out).sheetnames == ["Start here", *HEADERS, CONF_SHEET]


def test_xlsm_notes_name_every_custom_function_with_examples_that_run():
    import omplan.excel as udfs
    from omplan.files.xlsm import CONF_NOTES, START_EXTRA

    names = sorted(n for n in dir(udfs) if n.startswith("OM_"))
    assert len(names) == 6
    conf = " ".join(CONF_NOTES)
    start = " ".join(text for _, text in START_EXTRA)
    assert all(name in conf for name in names), conf
    wb = openpyxl.load_workbook(SHIPPED, keep_vba=True)
    start_sheet = " ".join(str(c.value) for c in wb["Start here"]["A"] if c.value)
    conf_sheet = " ".join(str(c.value) for c in wb[CONF_SHEET]["A"] if c.value)
    assert "OM_PAYBACK" in start_sheet and "OM_VARIANCE" in conf_sheet
    # the examples' scenario and quarter exist in the shipped sample, and its tables too
    scenario = re.search(r'OM_PAYBACK\("([^"]+)"', start).group(1)
    quarter = re.search(r'OM_VARIANCE\("([^"]+)"', start).group(1)
    summary = run_plan(SHIPPED).summary()
    assert scenario in [s["name"] for s in summary["scenarios"]]
    assert quarter in [f"FY{q['fiscal_year']} {q['quarter']}"
                       for q in summary["scenarios"][0]["quarters"]]
    tables = {t for ws in wb.worksheets for t in ws.tables}
    for used in re.findall(r"(\w+Table)\[#All\]", start):
        assert used in tables, used
