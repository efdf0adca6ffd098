"""Write the report workbook of an evaluated plan: layout, render, atomic replace.

Generation time honours ``SOURCE_DATE_EPOCH`` (reproducible builds), so the same input gives
the same bytes. A report that cannot fit Excel's grid is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from omplan.core.errors import OmplanError
from omplan.core.findings import Finding
from omplan.core.ledger import Evaluation
from omplan.files.xlsxio import atomic_write_bytes, source_date
from omplan.report.annual import build_report_layout
from omplan.report.layout import ReportLayout, ReportTooLarge, SourceInfo

if TYPE_CHECKING:
    from omplan.files.run import PlanRun


class ReportError(OmplanError, ValueError):
    """The report cannot be written (too large for Excel, or no figures)."""


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
                  source_path: str | os.PathLike[str] | None = None) -> ReportLayout:
    """The layout of the report (pure data), with About facts filled in."""
    from omplan.core.version import __version__

    if not evaluation.ok:
        raise ReportError("the plan has errors, so there are no figures to report; fix the "
                          "errors listed by 'omplan run' first")
    source = SourceInfo(evaluation.plan.source_name)
    if source_path is not None and Path(source_path).is_file():
        source = SourceInfo(Path(source_path).name, file_sha256(source_path))
    generated, note = generation_time()
    try:
        return build_report_layout(evaluation, input_findings=input_findings, source=source,
                                   generated=generated, version=__version__,
                                   generated_note=note)
    except ReportTooLarge as exc:
        raise ReportError(str(exc)) from None


def write_report(evaluation: Evaluation, path: str | os.PathLike[str], *,
                 input_findings: Sequence[Finding] = (),
                 source_path: str | os.PathLike[str] | None = None) -> Path:
    """Write the report workbook to ``path`` atomically and return the path.

    ``input_findings`` are the reader's warnings (listed with Baseline, as in the JSON);
    ``source_path`` is the plan file, named and hashed on the About sheet.
    """
    from omplan.render.xlsx import render_workbook

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ReportError(f"the report is an Excel workbook: give a file name ending in .xlsx, "
                          f"not {target.name!r}")
    if source_path is not None and target.exists() and target.resolve() == Path(
            source_path).resolve():
        raise ReportError(f"{target.name} is the plan itself: choose another file name for "
                          "the report")
    layout = report_layout(evaluation, input_findings=input_findings, source_path=source_path)
    buffer = io.BytesIO()
    render_workbook(layout, buffer)
    return atomic_write_bytes(target, buffer.getvalue())


def write_run_report(run: PlanRun, path: str | os.PathLike[str]) -> Path:
    """The report of a :class:`PlanRun` (``omplan.api.run_plan``)."""
    if run.evaluation is None or not run.ok:
        raise ReportError("the plan has errors, so there are no figures to report; fix the "
                          "errors listed by 'omplan run' first")
    return write_report(run.evaluation, path, input_findings=run.findings,
                        source_path=run.source)

