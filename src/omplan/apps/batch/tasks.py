"""What one plan does in a batch: read, check, evaluate, write its quarterly workbooks.

:func:`run_plan_task` takes paths and returns a small picklable :class:`PlanResult`, so the
same function runs in a local process pool or on a Dask worker. Standard library only at the
top: workers stay light until a task runs.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from omplan.core.errors import OmplanError

BASELINE = "Baseline"
QUARTER_NAMES = ("Q1", "Q2", "Q3", "Q4")
REPORT_NAME = "batch_report.json"
PLAN_SUFFIXES = (".xlsx", ".xlsm")
DASK_HINT = "pip install 'omplan[dask]'"


class BatchError(OmplanError, ValueError):
    """A batch that cannot start: no plans, a bad option, Dask missing or unreachable."""


def parse_quarters(quarter: str | Sequence[str]) -> tuple[str, ...]:
    """``"Q2"`` -> ("Q2",); ``"all"`` -> Q1..Q4; a list of quarters in fiscal order."""
    items = [quarter] if isinstance(quarter, str) else list(quarter)
    out: set[str] = set()
    for item in items:
        text = str(item).strip().upper()
        if text == "ALL":
            out.update(QUARTER_NAMES)
        elif text in QUARTER_NAMES:
            out.add(text)
        else:
            raise BatchError(f"quarter must be Q1, Q2, Q3, Q4 or all, got {item!r}")
    if not out:
        raise BatchError("no quarter given: use Q1, Q2, Q3, Q4 or all")
    return tuple(q for q in QUARTER_NAMES if q in out)


def finding(code: str, message: str, location: str = "") -> dict[str, str]:
    """An error of a plan, as the JSON report lists it."""
    return {"severity": "error", "code": code, "message": message, "location": location}


@dataclass
class PlanResult:
    """What a task reports about one plan: status, outputs, errors, the quarter figures of the
    scenario (the driver rolls them up) and how the task ran (seconds, memory, process)."""

    path: str
    file: str
    plan: str
    status: str = "failed"
    scenario: str = BASELINE
    fiscal_year: int | None = None
    currency: str | None = None
    fy_start_month: int | None = None
    band: dict[str, float] | None = None
    target: float | None = None
    quarters: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float | None = None
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None
    pid: int | None = None

    @classmethod
    def new(cls, path: str, scenario: str) -> PlanResult:
        """A failed result with no figures yet, named after the plan file."""
        return cls(path=path, file=Path(path).name, plan=Path(path).stem, scenario=scenario)

    @classmethod
    def failure(cls, path: str, scenario: str, code: str, message: str) -> PlanResult:
        """A plan that failed before or outside its task."""
        result = cls.new(path, scenario)
        result.errors.append(finding(code, message))
        return result

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def first_error(self) -> str:
        """``Location: message`` of the first error ("" when there is none)."""
        if not self.errors:
            return ""
        error = self.errors[0]
        return f"{error['location']}: {error['message']}" if error["location"] else \
            error["message"]

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-able dict (the run metrics only once the task has run)."""
        data = asdict(self)
        if self.pid is None:
            for key in ("seconds", "cpu_seconds", "peak_rss_mb", "pid"):
                del data[key]
        return data


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MB (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_plan_task(path: str, quarter: str | Sequence[str], out_dir: str,
                  scenario: str = BASELINE, generated: str | None = None,
                  generated_note: str = "") -> PlanResult:
    """Read, check and evaluate one plan; write its quarterly budget workbooks to ``out_dir``.

    Picklable and self-contained (local processes and Dask workers run it as it is); takes
    paths, returns only small data: status, outputs, errors and the quarter figures (the JSON
    summary's quarters of ``scenario``) the driver rolls up. Never raises for a bad plan.
    ``generated`` (ISO time) is the batch's one generation time.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = PlanResult.new(str(path), scenario)
    try:
        _run_task(result, str(path), parse_quarters(quarter), Path(out_dir), scenario,
                  generated, generated_note)
    except Exception as exc:  # one bad plan never stops the batch: an error of this plan
        result.status = "failed"
        result.errors.append(finding(
            "internal-error", f"omplan failed on this plan ({type(exc).__name__}: {exc}); this "
            "is a bug in omplan: please report it with the plan"))
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    result.peak_rss_mb = _peak_rss_mb()
    result.pid = os.getpid()
    return result


def _run_task(result: PlanResult, path: str, quarters: tuple[str, ...], out: Path,
              scenario: str, generated: str | None, generated_note: str) -> None:
    from omplan.core.version import __version__
    from omplan.files.report import file_sha256
    from omplan.files.run import run_plan
    from omplan.files.xlsxio import atomic_write_bytes, source_date
    from omplan.render.xlsx import render_workbook
    from omplan.report.layout import ReportTooLarge, SourceInfo
    from omplan.report.quarterly import (
        build_quarter_layout,
        output_name,
        quarter_figures,
        quarter_month_labels,
    )

    run = run_plan(path)
    plan = run.plan
    if plan is not None:
        s = plan.settings
        result.plan, result.fiscal_year, result.currency = s.plan_name, s.fiscal_year, s.currency
        result.fy_start_month = s.fy_start_month
        result.band = {"low": s.band_low, "high": s.band_high}
        result.target = plan.target_operation_share()
    if not run.ok:
        result.errors = [f.as_dict() for f in run.errors]
        return
    assert plan is not None and run.evaluation is not None
    if scenario not in plan.scenario_names:
        names = ", ".join(plan.scenario_names)
        result.errors = [finding(
            "unknown-scenario", f"the plan has no scenario '{scenario}' (its scenarios: "
            f"{names}); add it to the Scenarios sheet or run the batch with another "
            "--scenario", "Scenarios")]
        return
    figures = quarter_figures(run.evaluation, scenario)
    source = SourceInfo(Path(path).name, file_sha256(path))
    moment = datetime.fromisoformat(generated) if generated else source_date()
    stem = Path(path).stem
    s = plan.settings
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        result.errors.append(finding(
            "write-failed", f"the folder {out} could not be created: {exc.strerror or exc}"))
        return
    for quarter in quarters:
        name = output_name(stem, s.fiscal_year, quarter)
        try:
            layout = build_quarter_layout(
                run.evaluation, scenario, quarter, input_findings=run.findings, source=source,
                generated=moment, version=__version__, generated_note=generated_note,
                quarters=figures)
            buffer = io.BytesIO()
            render_workbook(layout, buffer)
            atomic_write_bytes(out / name, buffer.getvalue())
        except ReportTooLarge as exc:
            result.errors.append(finding("too-large", f"{name} was not written: {exc}"))
            return
        except OSError as exc:
            result.errors.append(finding(
                "write-failed", f"{name} could not be written to {out}: "
                f"{exc.strerror or exc}"))
            return
        result.outputs.append(name)
        months = quarter_month_labels(s.fiscal_year, s.fy_start_month, quarter)
        result.quarters.append({**figures[QUARTER_NAMES.index(quarter)].to_json(),
                                "months": months, "output": name})
    result.status = "ok"
