"""Write the comparison of two plan versions: the workbook (``--out``) and the JSON (``--json``),
each atomically (a crash leaves the old file or the new one, never half of one)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from omplan.core.versions import PlanComparison
from omplan.files.report import ReportError, generation_time
from omplan.files.xlsxio import atomic_write_bytes
from omplan.report.diff import diff_layout


def _refuse_sources(target: Path, sources: Sequence[str | os.PathLike[str]]) -> None:
    for source in sources:
        if target.exists() and target.resolve() == Path(source).resolve():
            raise ReportError(f"{target.name} is one of the plans compared: choose another "
                              "file name")


def write_diff_workbook(comparison: PlanComparison, path: str | os.PathLike[str],
                        sources: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """The Bridge, Changes and About sheets into ``path`` (an .xlsx, never one of ``sources``,
    the plan files compared)."""
    from omplan.core.version import __version__
    from omplan.render.xlsx import render_workbook

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ReportError(f"the comparison is an Excel workbook: give a file name ending in "
                          f".xlsx, not {target.name!r}")
    _refuse_sources(target, sources)
    generated, _ = generation_time()
    buffer = io.BytesIO()
    render_workbook(diff_layout(comparison, generated, __version__), buffer)
    return atomic_write_bytes(target, buffer.getvalue())


def write_diff_json(comparison: PlanComparison, path: str | os.PathLike[str],
                    sources: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """The JSON of the comparison (full float precision) into ``path``."""
    target = Path(path)
    _refuse_sources(target, sources)
    text = json.dumps(comparison.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_bytes(target, (text + "\n").encode("utf-8"))


__all__ = ["write_diff_json", "write_diff_workbook"]
