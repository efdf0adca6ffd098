"""Writeback into workbooks nobody on the project wrote: the shared real-world corpus (Excel,
LibreOffice, Google Sheets and other producers; see ``shared/realworld/SOURCES.md``).

Each corpus file is given the tiny plan's input sheets (grafted in by omplan's own grafting
code, so nothing else of the file changes), then written back into twice. Every part of the
file must come back as the same raw zip record but the shared parts; the rerun may change only
omplan's parts; a file omplan cannot graft into gets the companion file, never an error.

openpyxl, as users' own scripts call it, opens every written workbook whose original it opens.

The corpus is read in place (``../shared/realworld/corpus`` beside the repository, or the
folder ``OMPLAN_CORPUS`` names); without it these tests are skipped. The whole corpus takes
100 s on a quiet 2-core machine and over 6 minutes on a busy one, so by default a
deterministic sample is tried (every third file, in name order, so every producer is in it,
and the files that once broke a reader) and LibreOffice opens a sample of the results;
``OMPLAN_FULL_CORPUS=1`` tries every file and has LibreOffice open every written workbook.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from factories import tiny_plan
from test_writeback import assert_parts_kept, records

from omplan.files.book import read_book
from omplan.files.graft import Graft, GraftError, graft
from omplan.files.run import run_plan
from omplan.files.writeback import write_into

CORPUS = Path(os.environ.get("OMPLAN_CORPUS") or (
    Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "corpus"))
FULL = os.environ.get("OMPLAN_FULL_CORPUS", "") not in ("", "0")
SAMPLE_STEP = 3
LIBREOFFICE_SAMPLE = 24
#: Tried in the sample too: packages without a styles part, into which the report's styles
#: once went as xl/styles1.xml, where openpyxl does not look for them.
ALWAYS = ("calamine__empty_shared_string_value.xlsx", "calamine__inlineStr_cdata.xlsx")

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(),
                                reason=f"the real-world corpus is not at {CORPUS}")


def input_sheets() -> bytes:
    """A package holding only the tiny plan's input sheets (openpyxl, write-only)."""
    wb = openpyxl.Workbook(write_only=True)
    for name, rows in tiny_plan().items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def with_inputs(data: bytes, inputs: bytes) -> bytes:
    """``data`` with the plan's input sheets added after its own; nothing else changed."""
    book = read_book(data)
    titles = [s.title for s in book.sheets]
    job = Graft(report=inputs, drop=[], order=[*titles, *tiny_plan()], marks={})
    return graft(book, job).data


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    companion: dict[str, str] = field(default_factory=dict)  # file -> reason
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Outcome:
    folder = tmp_path_factory.mktemp("corpus")
    source = folder / "source.xlsx"
    inputs = input_sheets()
    openpyxl.load_workbook(io.BytesIO(inputs)).save(source)
    run = run_plan(source)
    assert run.ok
    out = Outcome()
    start = time.perf_counter()
    files = sorted(CORPUS.iterdir())
    if not FULL:
        always = [CORPUS / name for name in ALWAYS if (CORPUS / name).is_file()]
        files = sorted({*files[::SAMPLE_STEP], *always})
    for path in files:
        target = folder / path.name
        try:
            data = path.read_bytes()
            try:
                prepared = with_inputs(data, inputs)
            except GraftError:
                prepared = data  # not graftable: the companion must be written instead
            target.write_bytes(prepared)
            result = write_into(run, target)
            if not result.in_place:
                assert prepared == data, "a package we grafted the inputs into"
                assert target.read_bytes() == data and result.target.is_file()
                out.companion[path.name] = result.reason
                continue
            first = target.read_bytes()
            assert_parts_kept(prepared, first)
            assert write_into(run, target).in_place
            assert_parts_kept(first, target.read_bytes())  # the rerun: omplan's parts only
            assert_parts_kept(prepared, target.read_bytes())
            assert sorted(records(first)) == sorted(records(target.read_bytes()))
            out.written.append(target)
        except Exception as exc:  # collected: every file is tried, all failures reported
            out.failures[path.name] = f"{type(exc).__name__}: {exc}"[:300]
    out.seconds = time.perf_counter() - start
    return out


def test_every_corpus_workbook_is_written_into_or_gets_the_companion(corpus):
    print(f"\ncorpus: {len(corpus.written)} written into, {len(corpus.companion)} companion "
          f"files, {len(corpus.failures)} failures, {corpus.seconds:.0f} s")
    for name, reason in corpus.companion.items():
        print(f"  companion: {name}: {reason}")
    assert corpus.failures == {}
    tried = len(corpus.written) + len(corpus.companion)
    assert len(corpus.written) >= 0.95 * tried and tried >= (400 if FULL else 130)
    assert {f.name for f in corpus.written} >= {n for n in ALWAYS if (CORPUS / n).is_file()}


def opens_in_openpyxl(path: Path) -> str:
    """'' when ``openpyxl.load_workbook`` (its default mode, as users' scripts call it) reads
    ``path``, else the error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            openpyxl.load_workbook(path).close()
    except Exception as exc:  # any failure to open is the finding
        return f"{type(exc).__name__}: {exc}"[:200]
    return ""


def test_openpyxl_opens_every_written_workbook_whose_original_it_opens(corpus):
    """A written workbook stays open to the users' own scripts: whenever openpyxl reads the
    corpus file as it was, it reads the file omplan wrote into (styles included: openpyxl
    reads them from xl/styles.xml only)."""
    broken, opened, unreadable = {}, 0, 0
    for written in corpus.written:
        if opens_in_openpyxl(CORPUS / written.name):
            unreadable += 1  # openpyxl cannot read the original either
            continue
        error = opens_in_openpyxl(written)
        if error:
            broken[written.name] = error
        else:
            opened += 1
    print(f"\nopenpyxl opened {opened} of {len(corpus.written)} written workbooks "
          f"({unreadable} whose original it cannot open either)")
    assert broken == {}
    assert opened >= 0.95 * len(corpus.written)


def opened_by_libreoffice(soffice: str, files: list[Path], outdir: Path,
                          profile: Path) -> dict[Path, bool]:
    """File -> whether LibreOffice converted it to CSV. LibreOffice aborts a batch on a file
    it crashes on: that file is tried again on its own and the batch goes on after it."""
    from test_libreoffice import convert

    done: dict[Path, bool] = {}
    todo = list(files)
    while todo:
        convert(soffice, todo, "csv", outdir, profile)
        converted = [f for f in todo if (outdir / f"{f.stem}.csv").is_file()]
        done.update(dict.fromkeys(converted, True))
        rest = [f for f in todo if f not in done]
        if not rest:
            break
        first = next((i for i, f in enumerate(todo) if f not in done))
        done[todo[first]] = False  # crashed on (or could not open) this one
        todo = [f for f in todo[first + 1:] if f not in done]
    for f in [f for f, ok in done.items() if not ok]:  # a crash can depend on the file
        convert(soffice, [f], "csv", outdir, profile)  # before: each one again, alone
        done[f] = (outdir / f"{f.stem}.csv").is_file()
    return done


def test_libreoffice_opens_the_written_workbooks(corpus, soffice, tmp_path):
    """Every written workbook opens in LibreOffice, unless the same file before writeback
    (its ``.bak``) does not open either (a few corpus files crash LibreOffice as they are)."""
    files = corpus.written
    if not FULL:  # a deterministic sample, spread over the producers
        step = max(1, len(files) // LIBREOFFICE_SAMPLE)
        files = files[::step][:LIBREOFFICE_SAMPLE]
    profile = tmp_path / "profile"
    opened = opened_by_libreoffice(soffice, files, tmp_path / "csv", profile)
    failed = [f for f, ok in opened.items() if not ok]
    if failed:
        before = tmp_path / "before"
        before.mkdir()
        copies = [Path(shutil.copyfile(f.with_name(f.name + ".bak"), before / f.name))
                  for f in failed]
        was = opened_by_libreoffice(soffice, copies, tmp_path / "csv-before", profile)
        failed = [f.name for f, c in zip(failed, copies, strict=True) if was[c]]
    print(f"\nLibreOffice opened {sum(opened.values())} of {len(files)} written workbooks")
    assert failed == [], "LibreOffice opens these before writeback but not after"
