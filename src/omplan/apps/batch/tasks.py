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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from omplan.core.errors import OmplanError
from omplan.input.tables import parse_period

BASELINE = "Baseline"
QUARTER_NAMES = ("Q1", "Q2", "Q3", "Q4")
REPORT_NAME = "batch_report.json"
PLAN_SUFFIXES = (".xlsx", ".xlsm")
#: ``<plan stem>.actuals.xlsx`` (or .xlsm, .csv) beside a plan: its actual spend.
ACTUALS_INFIX = ".actuals"
ACTUALS_SUFFIXES = (".xlsx", ".xlsm", ".csv")
DASK_HINT = "pip install 'omplan[dask]'"


class BatchError(OmplanError, ValueError):
    """A batch that cannot start: no plans, a bad option, Dask missing or unreachable."""


ALL = "all"
QUARTER_HELP = "Q1–Q4 (of the first fiscal year), FY<year> Q<n> (e.g. FY2028 Q2) or all"


def _quarter_key(label: str) -> tuple[int, int, int]:
    """Sort order of normalised labels: all, then Q1..Q4, then FY quarters by year."""
    if label == ALL:
        return (0, 0, 0)
    period = parse_period(label)
    assert period is not None
    year, q = period
    return (1 if year is None else 2, year or 0, q)


def parse_quarters(quarter: str | Sequence[str]) -> tuple[str, ...]:
    """The ``--quarter`` choices, normalised and in order: ``"q2"`` -> ("Q2",) (Q2 of each
    plan's first fiscal year); ``"FY2028Q2"`` -> ("FY2028 Q2",); ``"all"`` -> ("all",) (every
    quarter of each plan's horizon). Raises :class:`BatchError` for anything else."""
    items = [quarter] if isinstance(quarter, str) else list(quarter)
    out: set[str] = set()
    for item in items:
        text = str(item).strip()
        period = parse_period(text)  # Q2, FY2028 Q2, fy2028q2, FY2028-Q2
        if text.casefold() == ALL:
            out.add(ALL)
        elif period is None:
            raise BatchError(f"quarter must be {QUARTER_HELP}, got {item!r}")
        elif period[0] is None:
            out.add(f"Q{period[1]}")
        else:
            out.add(f"FY{period[0]} Q{period[1]}")
    if not out:
        raise BatchError(f"no quarter given: use {QUARTER_HELP}")
    if ALL in out:
        return (ALL,)
    return tuple(sorted(out, key=_quarter_key))


def resolve_quarters(choices: Sequence[str], first_fiscal_year: int, years: int
                     ) -> tuple[list[tuple[int, int]], list[str]]:
    """The (fiscal year, quarter 1–4) pairs ``choices`` select in a horizon of ``years``
    fiscal years from ``first_fiscal_year``, in time order and once each, and the choices
    that fall outside it."""
    picked: set[tuple[int, int]] = set()
    outside: list[str] = []
    for choice in choices:
        if choice == ALL:
            picked.update((first_fiscal_year + y, q) for y in range(years) for q in range(1, 5))
            continue
        period = parse_period(choice)
        assert period is not None, choice
        year = first_fiscal_year if period[0] is None else period[0]
        if first_fiscal_year <= year < first_fiscal_year + years:
            picked.add((year, period[1]))
        else:
            outside.append(choice)
    return sorted(picked), outside


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
    #: where the plan's actual spend came from and how far it goes (None: no actuals)
    actuals: dict[str, Any] | None = None
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
    from omplan.files.xlsxio import atomic_write_bytes, source_date
    from omplan.pipeline import run_plan
    from omplan.render.xlsx import render_workbook
    from omplan.report.actuals import scenario_actuals
    from omplan.report.layout import ReportTooLarge, SourceInfo
    from omplan.report.quarterly import (
        build_quarter_layout,
        output_name,
        quarter_actuals,
        quarter_figures,
        quarter_month_labels,
    )

    files = actuals_files(path)
    if len(files) > 1:
        names = " and ".join(p.name for p in files)
        result.errors = [finding(
            "actuals-ambiguous", f"{names} are both beside the plan: omplan does not know "
            "which holds the actual spend; keep one of them", files[1].name)]
        return
    run = run_plan(path, files[0] if files else None)
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
    horizon = plan.horizon
    picked, outside = resolve_quarters(quarters, horizon.first_fiscal_year, horizon.years)
    if outside:
        result.errors = [_outside_horizon(plan.setting_cells, choice,
                                          horizon.first_fiscal_year, horizon.years)
                         for choice in outside]
        return
    figures = quarter_figures(run.evaluation, scenario)
    actuals = scenario_actuals(run.evaluation, scenario)
    if actuals is not None:
        result.actuals = {"source": actuals.figures.source, "through": actuals.figures.through}
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
    for fiscal_year, n in picked:
        quarter = QUARTER_NAMES[n - 1]
        period = horizon.period_of(fiscal_year, n)
        assert period is not None
        name = output_name(stem, fiscal_year, quarter)
        try:
            layout = build_quarter_layout(
                run.evaluation, scenario, period.index, input_findings=run.findings,
                source=source, generated=moment, version=__version__,
                generated_note=generated_note, quarters=figures, actuals=actuals)
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
        months = quarter_month_labels(fiscal_year, s.fy_start_month, quarter)
        result.quarters.append({**figures[period.index].to_json(), "months": months,
                                "output": name,
                                "actuals": quarter_actuals(actuals, figures, period)})
    result.status = "ok"


def actuals_files(path: str | os.PathLike[str]) -> list[Path]:
    """The actuals files beside a plan: ``<stem>.actuals.xlsx``, ``.xlsm`` or ``.csv`` (names
    compared ignoring case), in that order; more than one is ambiguous."""
    plan = Path(path)
    wanted = {f"{plan.stem}{ACTUALS_INFIX}{suffix}".casefold(): i
              for i, suffix in enumerate(ACTUALS_SUFFIXES)}
    try:
        found = [p for p in plan.parent.iterdir()
                 if p.name.casefold() in wanted and p.is_file()]
    except OSError:  # the folder cannot be listed: the plan's own read reports it
        return []
    return sorted(found, key=lambda p: (wanted[p.name.casefold()], p.name))


def _outside_horizon(setting_cells: Mapping[str, str], choice: str, first: int,
                     years: int) -> dict[str, str]:
    """The error of a ``--quarter`` the plan does not cover, at the Settings cell that sets
    the horizon's end (or its start, for a quarter before it): ``setting_cells`` is the
    plan's :attr:`~omplan.core.model.Plan.setting_cells`."""
    last = first + years - 1
    span = f"FY{first}" if years == 1 else f"FY{first}–FY{last}"
    label = choice if choice.startswith("FY") else f"FY{first} {choice}"
    before = int(label[2:6]) < first
    key = "fiscal_year" if before else "horizon_years"
    location = setting_cells.get(key) or setting_cells.get("fiscal_year") or "Settings"
    fix = ("choose a quarter from that year on" if before else
           "choose a quarter within it or raise horizon_years")
    return finding("quarter-outside-horizon",
                   f"--quarter {label} is outside this plan's horizon, {span} (fiscal_year "
                   f"{first}, horizon_years {years}), so no workbook was written for it; "
                   f"{fix}", location)
