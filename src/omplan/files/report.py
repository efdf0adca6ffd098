"""Write the report workbook of a run: layout, render, atomic replace.

Generation time honours ``SOURCE_DATE_EPOCH`` (reproducible builds), so the same input gives
the same bytes. A report that cannot fit Excel's grid is refused before anything is written
(:class:`~omplan.report.layout.ReportTooLarge`).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from omplan.core.errors import OmplanError
from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation
from omplan.core.summary import PlanFigures
from omplan.files.xlsxio import atomic_write_bytes, source_date
from omplan.pipeline import PlanRun
from omplan.report.annual import build_report_layout
from omplan.report.layout import ReportLayout, SourceInfo

#: why a run has no report (a plan with errors)
NO_FIGURES = ("the plan has errors, so there are no figures to report; fix the errors listed "
              "by 'omplan run' first")


class ReportError(OmplanError, ValueError):
    """The report cannot be written (no figures, or not a name for a workbook)."""


def generation_time() -> tuple[datetime, str]:
    """(UTC time without tzinfo, note): ``SOURCE_DATE_EPOCH`` when set, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    note = f"SOURCE_DATE_EPOCH={epoch}" if epoch.isdigit() else ""
    return source_date(), note


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_layout(evaluation: Evaluation, *, input_findings: Sequence[Finding] = (),
                  source_path: str | os.PathLike[str] | None = None,
                  figures: PlanFigures | None = None) -> ReportLayout:
    """The layout of the report (pure data), with About facts filled in; ``figures``: the
    run's figures when already computed (:attr:`PlanRun.figures`).

    Raises :class:`ReportError` without figures, and
    :class:`~omplan.report.layout.ReportTooLarge` for a report Excel cannot hold.
    """
    from omplan.core.version import __version__

    if not evaluation.ok:
        raise ReportError(NO_FIGURES)
    source = SourceInfo(evaluation.plan.source_name)
    if source_path is not None and Path(source_path).is_file():
        source = SourceInfo(Path(source_path).name, file_sha256(source_path))
    generated, note = generation_time()
    return build_report_layout(evaluation, input_findings=input_findings, source=source,
                               generated=generated, version=__version__,
                               generated_note=note, figures=figures)


def run_layout(run: PlanRun) -> ReportLayout:
    """The report layout of a run (its own figures, its plan file on the About sheet)."""
    if run.evaluation is None or not run.ok:
        raise ReportError(NO_FIGURES)
    return report_layout(run.evaluation, input_findings=run.findings,
                         source_path=run.source_file, figures=run.figures)


def write_report(run: PlanRun, path: str | os.PathLike[str]) -> Path:
    """Write the report workbook of ``run`` (:func:`omplan.run_plan`) to ``path`` atomically
    and return the path; the same argument order as :func:`omplan.write_into`.

    Raises :class:`ReportError` for a plan with errors or a name that is not an .xlsx (or
    the plan itself), :class:`~omplan.report.layout.ReportTooLarge` for a report Excel cannot
    hold; nothing is written then.
    """
    from omplan.render.xlsx import render_workbook

    if not isinstance(run, PlanRun):  # the call of before: write_report(evaluation, ...)
        raise TypeError("write_report takes the run of omplan.run_plan, as write_into does: "
                        "omplan.write_report(omplan.run_plan(PLAN), REPORT), not a "
                        f"{type(run).__name__}")
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ReportError(f"the report is an Excel workbook: give a file name ending in .xlsx, "
                          f"not {target.name!r}")
    source = run.source_file
    if source is not None and target.exists() and target.resolve() == source.resolve():
        raise ReportError(f"{target.name} is the plan itself: choose another file name for "
                          "the report")
    buffer = io.BytesIO()
    render_workbook(run_layout(run), buffer)
    return atomic_write_bytes(target, buffer.getvalue())
