"""A plan that carries a huge sheet omplan does not read (its own Ledger after a writeback of a
16,000-line x 11-scenario plan inflates past the 128 MiB member limit) still reads, with the
same figures; and a stray value far out on a sheet costs neither a crash nor gigabytes.

Independent of the writeback code: the big part is added to the zip directly."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from omplan.apps.cli import sample_plan_path
from omplan.files.run import run_plan
from omplan.input import package

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import write_plan  # noqa: E402

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _ledger_rows(target_bytes: int):
    """Sheet XML like omplan's Ledger, in chunks, until ``target_bytes`` are out."""
    yield (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
           b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    written, start = 0, 2
    while written < target_bytes:
        rows = []
        for r in range(start, start + 20_000):
            rows.append(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>1'
                        f'</v></c><c r="C{r}" t="s"><v>2</v></c><c r="H{r}" t="s"><v>3</v></c>'
                        f'<c r="K{r}" s="1"><v>{r * 1.1!r}</v></c></row>')
        start += 20_000
        chunk = "".join(rows).encode()
        written += len(chunk)
        yield chunk
    yield b"</sheetData></worksheet>"


def add_big_sheet(src: Path, dst: Path, name: str, target_bytes: int) -> int:
    """Copy the workbook ``src`` to ``dst`` with one more sheet whose part inflates to more
    than ``target_bytes``; returns its inflated size."""
    part = "xl/worksheets/sheet_big.xml"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED,
                                                      compresslevel=1) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b"</sheets>", (
                    f'<sheet xmlns:r="{REL_NS}" name="{name}" sheetId="999" '
                    f'r:id="rIdBig"/></sheets>').encode())
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", (
                    f'<Relationship Id="rIdBig" Type="{REL_NS}/worksheet" '
                    'Target="worksheets/sheet_big.xml"/></Relationships>').encode())
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    f'<Override PartName="/{part}" ContentType="{SHEET_TYPE}"/></Types>'
                ).encode())
            zout.writestr(info, data)
        with zout.open(part, "w", force_zip64=True) as out:
            for chunk in _ledger_rows(target_bytes):
                out.write(chunk)
        return zout.getinfo(part).file_size


def test_plan_with_a_ledger_past_the_member_limit_reads_again(tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.xlsx", 300, 3, seed=5)
    before = run_plan(plan)
    assert before.ok, before.errors
    big = tmp_path / "written_back.xlsx"
    size = add_big_sheet(plan, big, "Ledger", package.MAX_MEMBER_INFLATED + 4 * 1024 * 1024)
    assert size > package.MAX_MEMBER_INFLATED  # the old scan refused exactly this
    scan = package.scan_workbook(big)
    assert "Ledger" in scan.sheet_names and "Ledger" not in scan.sheet_parts
    after = run_plan(big)
    assert after.ok, after.errors
    assert after.summary()["scenarios"] == before.summary()["scenarios"]
    with pytest.raises(package.FileProblem) as info:
        package.scan_workbook(big, sheets=None)  # reading every sheet: refused as before
    assert info.value.code == "zip-bomb"


def _far_value(src: Path, dst: Path, sheet: str, ref: str) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet] if sheet in wb.sheetnames else wb.create_sheet(sheet)
    ws[ref] = 1
    wb.save(dst)
    return dst


_PEAK_SCRIPT = """
import json, resource, sys
from omplan.files.run import run_plan
run = run_plan(sys.argv[1])
out = {"ok": run.ok, "totals": [s["total"] for s in run.summary()["scenarios"]],
       "findings": [f.as_dict() for f in run.findings],
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print(json.dumps(out))
"""


@pytest.mark.parametrize(("sheet", "ref", "warned"), [
    ("N", "XFD1048576", False),  # a sheet omplan does not read: never opened
    ("Settings", "XFD1048576", True),  # used to try to allocate 512 GiB (exit 134)
    ("Profile", "ZZ100000", True),  # used to cost 2.8 GB and 14 s
    ("Staffing", "IV70000", True),
])
def test_a_value_far_out_on_a_sheet_is_read_in_bounded_memory(
        tmp_path: Path, sheet: str, ref: str, warned: bool) -> None:
    sample = sample_plan_path()
    expected = [s["total"] for s in run_plan(sample).summary()["scenarios"]]
    path = _far_value(sample, tmp_path / "far.xlsx", sheet, ref)
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["totals"] == expected
    assert result["peak_mb"] < 400, result["peak_mb"]
    ignored = [f for f in result["findings"] if f["code"] == "cells-ignored"]
    if warned:
        assert [f["location"] for f in ignored] == [f"{sheet}!{ref}"]
        assert ref in ignored[0]["message"] and "beyond column CV" in ignored[0]["message"]
    else:
        assert ignored == []


def test_a_far_value_within_the_columns_is_kept_and_located(tmp_path: Path) -> None:
    # Settings!A1048576: read (column A), streamed cell by cell, reported by the reader
    path = _far_value(sample_plan_path(), tmp_path / "far.xlsx", "Settings", "A1048576")
    run = run_plan(path)
    assert run.ok
    assert [f.location for f in run.findings if f.code == "unknown-setting"] == [
        "Settings!A1048576"]


def test_a_plan_written_back_into_itself_past_the_member_limit_runs_again(
        tmp_path: Path) -> None:
    """The real thing, end to end: `omplan run PLAN --writeback` on a generated plan whose
    Ledger then inflates past 128 MiB (inline strings, as the graft writes them), and the next
    `omplan run PLAN` reads it with the same figures, in bounded memory."""
    plan = write_plan(tmp_path / "plan.xlsx", 1000, 10, seed=5)
    first, again = tmp_path / "first.json", tmp_path / "again.json"
    cli = [sys.executable, "-m", "omplan", "run", str(plan)]
    done = subprocess.run([*cli, "--writeback", "--json", str(first)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Report sheets written into" in done.stdout
    with zipfile.ZipFile(plan) as archive:
        ledger = max(archive.infolist(), key=lambda i: i.file_size)
    assert ledger.file_size > package.MAX_MEMBER_INFLATED, ledger.file_size  # today's limit
    scan = package.scan_workbook(plan)
    assert "Ledger" in scan.sheet_names and "Ledger" not in scan.sheet_parts
    peak = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(plan)],
                          capture_output=True, text=True, timeout=600)
    assert peak.returncode == 0, peak.stderr[-2000:]
    result = json.loads(peak.stdout)
    print(f"\nLedger part {ledger.file_size / 2**20:.0f} MiB inflated; the plan read again "
          f"with a peak RSS of {result['peak_mb']:.0f} MB")
    assert result["ok"] and result["peak_mb"] < 600, result["peak_mb"]
    done = subprocess.run([*cli, "--json", str(again)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    before = json.loads(first.read_text())["scenarios"]
    after = json.loads(again.read_text())["scenarios"]
    assert [s["total"] for s in after] == [s["total"] for s in before] == result["totals"]
    assert after == before
