"""Quarterly batch runs: a budget workbook per plan and quarter, rollups, a JSON report.

One task function, :func:`run_plan_task`, reads a plan, evaluates it and writes its quarterly
workbooks; it takes paths and returns a small JSON-able dict, so the same function runs in a
local process pool or on a Dask cluster (workers read and write a shared folder). The driver
collects the results as they complete (progress), then writes the rollups and
``batch_report.json`` from the quarter figures in the results.

This module imports only the standard library at the top: workers and ``import omplan`` stay
light; pandas, openpyxl, rich and distributed load where they are used.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

BASELINE = "Baseline"
QUARTER_NAMES = ("Q1", "Q2", "Q3", "Q4")
REPORT_NAME = "batch_report.json"
PLAN_SUFFIXES = (".xlsx", ".xlsm")
DASK_HINT = "pip install 'omplan[dask]'"
#: Files a batch writes: never taken for plans when a folder is expanded.
_OUTPUT_NAME = re.compile(r"(.+_FY-?\d+_Q[1-4]|rollup_FY-?\d+_Q[1-4](_[A-Za-z0-9]+)?)\.xlsx",
                          re.IGNORECASE)
#: The modules a worker needs, imported once by the fork server (Linux) before any fork.
WORKER_MODULES = ["omplan.apps.batch", "omplan.files.run", "omplan.report.quarterly",
                  "omplan.render.xlsx", "omplan.files.report", "omplan.files.xlsxio"]
FRAME_COLUMNS = ("plan", "path", "status", "fiscal_year", "currency", "quarter", "total",
                 "operation", "maintenance", "operation_share", "band_status", "target",
                 "output", "error")


class BatchError(ValueError):
    """A batch that cannot start: no plans, a bad option, Dask missing or unreachable."""


# --------------------------------------------------------------------------- inputs


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


def is_output_name(name: str) -> bool:
    """True for the file names a batch writes (quarterly budgets and rollups)."""
    return _OUTPUT_NAME.fullmatch(name) is not None


def expand_paths(paths: Iterable[str | os.PathLike[str]],
                 warn: Callable[[str], None] | None = None) -> list[Path]:
    """Plan files from files and folders, in the given order (a folder's plans by name).

    A folder contributes its .xlsx/.xlsm files (not sub-folders), leaving out Excel lock files
    (``~$…``), hidden files and files a batch writes. A path given twice counts once. A path
    that does not exist is kept: its task reports it as a failed plan.
    """
    out: list[Path] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            out.append(path)

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path)
            continue
        found = sorted(
            (p for p in path.iterdir()
             if p.suffix.lower() in PLAN_SUFFIXES and p.is_file()
             and not p.name.startswith(("~$", ".")) and not is_output_name(p.name)),
            key=lambda p: (p.name.casefold(), p.name))
        if not found and warn is not None:
            warn(f"{path}: no plan workbooks (.xlsx, .xlsm) in this folder")
        for p in found:
            add(p)
    return out


# --------------------------------------------------------------------------- the task


def _finding(code: str, message: str, location: str = "") -> dict[str, str]:
    return {"severity": "error", "code": code, "message": message, "location": location}


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MB (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _new_result(path: str, scenario: str) -> dict[str, Any]:
    return {"path": path, "file": Path(path).name, "plan": Path(path).stem, "status": "failed",
            "scenario": scenario, "fiscal_year": None, "currency": None, "fy_start_month": None,
            "band": None, "target": None, "quarters": [], "outputs": [], "errors": []}


def run_plan_task(path: str, quarter: str | Sequence[str], out_dir: str,
                  scenario: str = BASELINE, generated: str | None = None,
                  generated_note: str = "") -> dict[str, Any]:
    """Read, check and evaluate one plan; write its quarterly budget workbooks to ``out_dir``.

    Picklable and self-contained (local processes and Dask workers run it as it is); takes
    paths, returns only small JSON-able data: status, outputs, errors and the quarter figures
    (the JSON summary's quarters of ``scenario``) the driver rolls up. Never raises for a bad
    plan. ``generated`` (ISO time) is the batch's one generation time.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = _new_result(str(path), scenario)
    try:
        _run_task(result, str(path), parse_quarters(quarter), Path(out_dir), scenario,
                  generated, generated_note)
    except Exception as exc:  # one bad plan never stops the batch: an error of this plan
        result["status"] = "failed"
        result["errors"].append(_finding(
            "internal-error", f"omplan failed on this plan ({type(exc).__name__}: {exc}); this "
            "is a bug in omplan: please report it with the plan"))
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu_start
    result["peak_rss_mb"] = _peak_rss_mb()
    result["pid"] = os.getpid()
    return result


def _run_task(result: dict[str, Any], path: str, quarters: tuple[str, ...], out: Path,
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
        result.update(plan=s.plan_name, fiscal_year=s.fiscal_year, currency=s.currency,
                      fy_start_month=s.fy_start_month,
                      band={"low": s.band_low, "high": s.band_high},
                      target=plan.target_operation_share())
    if not run.ok:
        result["errors"] = [f.as_dict() for f in run.errors]
        return
    assert plan is not None and run.evaluation is not None
    if scenario not in plan.scenario_names:
        names = ", ".join(plan.scenario_names)
        result["errors"] = [_finding(
            "unknown-scenario", f"the plan has no scenario '{scenario}' (its scenarios: "
            f"{names}); add it to the Scenarios sheet or run the batch with another "
            "--scenario", "Scenarios")]
        return
    figures = quarter_figures(run.evaluation, scenario)
    source = SourceInfo(Path(path).name, file_sha256(path))
    moment = datetime.fromisoformat(generated) if generated else source_date()
    stem = Path(path).stem
    s = plan.settings
    out.mkdir(parents=True, exist_ok=True)
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
            result["errors"].append(_finding("too-large", f"{name} was not written: {exc}"))
            return
        except OSError as exc:
            result["errors"].append(_finding(
                "write-failed", f"{name} could not be written to {out}: "
                f"{exc.strerror or exc}"))
            return
        result["outputs"].append(name)
        months = quarter_month_labels(s.fiscal_year, s.fy_start_month, quarter)
        result["quarters"].append({**figures[QUARTER_NAMES.index(quarter)].to_json(),
                                   "months": months,
                                   "output": name})
    result["status"] = "ok"


def _failed_result(path: str, scenario: str, code: str, message: str) -> dict[str, Any]:
    result = _new_result(path, scenario)
    result["errors"].append(_finding(code, message))
    return result


# --------------------------------------------------------------------------- executors

Task = tuple[int, str]  # (index in the batch, path as the worker opens it)
Done = Callable[[int, dict[str, Any]], None]


def _mp_context() -> Any:
    """Linux: a fork server that imported the worker modules once (cheap, thread-safe forks);
    elsewhere the platform default (spawn)."""
    import multiprocessing as mp

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if (sys.platform.startswith("linux") and main_file
            and getattr(main, "__spec__", None) is None and not os.path.exists(main_file)):
        # a script read from stdin: forkserver and spawn children would try to re-run it
        return mp.get_context("fork")
    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_MODULES)
        return ctx
    return mp.get_context()


def _run_local(tasks: Sequence[Task], jobs: int, kwargs: dict[str, Any], done: Done,
               task: Callable[..., dict[str, Any]] = run_plan_task) -> None:
    """A process pool of ``jobs`` workers; a plan whose worker dies is retried alone."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = _mp_context()
    broken: list[Task] = []
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), mp_context=ctx)
    try:
        futures = {pool.submit(task, path, **kwargs): (i, path) for i, path in tasks}
        for future in as_completed(futures):
            i, path = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append((i, path))
                continue
            except Exception as exc:  # e.g. a result that cannot be unpickled
                result = _failed_result(path, kwargs["scenario"], "worker-failed",
                                        f"the worker failed: {type(exc).__name__}: {exc}")
            done(i, result)
    except BaseException:  # Ctrl-C: do not start the plans still waiting
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    # A dead worker (killed for memory, a crash in a C library) breaks the whole pool: run the
    # plans it took with it one at a time, each in its own process, so only the culprit fails.
    for i, path in sorted(broken):
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                result = pool.submit(task, path, **kwargs).result()
            except BrokenProcessPool:
                result = _failed_result(
                    path, kwargs["scenario"], "worker-died",
                    "the process running this plan died (out of memory, or a crash outside "
                    "Python); no workbook was written for it")
        done(i, result)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BatchError("--scheduler needs Dask's distributed scheduler, which is not "
                         f"installed: {DASK_HINT}") from None
    return distributed


def _run_dask(tasks: Sequence[Task], scheduler: str, kwargs: dict[str, Any],
              done: Done) -> None:
    """The same tasks on an existing Dask scheduler; workers read and write the shared
    folder (paths are passed, not data)."""
    distributed = _import_distributed()
    try:
        client = distributed.Client(scheduler, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    try:
        batch_id = uuid.uuid4().hex[:8]
        futures = {}
        for i, path in tasks:
            future = client.submit(run_plan_task, path, key=f"omplan-batch-{batch_id}-{i}",
                                   pure=False, **kwargs)
            futures[future] = (i, path)
        for future in distributed.as_completed(list(futures), loop=client.loop):
            i, path = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker, a worker without omplan, ...
                result = _failed_result(path, kwargs["scenario"], "worker-failed",
                                        f"the Dask task failed: {type(exc).__name__}: {exc}")
            done(i, result)
    finally:
        client.close()


# --------------------------------------------------------------------------- progress


class Progress:
    """Silent progress; the base of the plain-lines and the rich progress bar."""

    def start(self, total: int) -> None:  # noqa: B027 - deliberately empty
        pass

    def advance(self, result: dict[str, Any], done: int, total: int) -> None:  # noqa: B027
        pass

    def stop(self) -> None:  # noqa: B027
        pass


def _status_line(result: dict[str, Any]) -> str:
    if result["status"] == "ok":
        n = len(result["outputs"])
        return f"ok      {result['file']}: {n} workbook{'s' if n != 1 else ''}"
    return f"failed  {result['file']}: {first_error(result)}"


class LineProgress(Progress):
    """One plain line per finished plan (logs, pipes, cron mail)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def advance(self, result: dict[str, Any], done: int, total: int) -> None:
        width = len(str(total))
        self.echo(f"[{done:>{width}}/{total}] {_status_line(result)}")


class RichProgress(Progress):
    """A progress bar on a terminal; failures are printed above it as they happen."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.bar = Bar(TextColumn("[bold]omplan batch"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                       TextColumn("{task.description}"), console=console)
        self.task: Any = None

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def advance(self, result: dict[str, Any], done: int, total: int) -> None:
        if result["status"] != "ok":
            from rich.markup import escape

            self.bar.console.print(f"[red]failed[/] {escape(result['file'])}: "
                                   f"{escape(first_error(result))}", markup=True,
                                   highlight=False, soft_wrap=True)
        self.bar.update(self.task, completed=done, description=result["file"])

    def stop(self) -> None:
        self.bar.stop()


def make_progress(enabled: bool, echo: Callable[[str], None] | None = None) -> Progress:
    """A bar on a terminal, plain lines otherwise, nothing when disabled."""
    if not enabled:
        return Progress()
    from rich.console import Console

    console = Console(highlight=False)
    if console.is_terminal:
        return RichProgress(console)
    return LineProgress(echo or (lambda line: print(line, flush=True)))


# --------------------------------------------------------------------------- the driver


def first_error(result: dict[str, Any]) -> str:
    """``Location: message`` of a failed plan's first error."""
    if not result["errors"]:
        return ""
    error = result["errors"][0]
    return f"{error['location']}: {error['message']}" if error["location"] else error["message"]


@dataclass
class BatchOutcome:
    """A finished batch: the per-plan task results (in input order), rollups, the report."""

    results: list[dict[str, Any]]
    quarters: tuple[str, ...]
    scenario: str
    out_dir: Path
    report: dict[str, Any]
    report_path: Path
    rollups: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def workbooks(self) -> int:
        return sum(len(r["outputs"]) for r in self.results)

    def frame(self) -> pd.DataFrame:
        """One row per plan × quarter (see :data:`FRAME_COLUMNS`)."""
        import pandas as pd

        rows = []
        for r in self.results:
            by_quarter = {q["quarter"]: q for q in r["quarters"]}
            for quarter in self.quarters:
                q = by_quarter.get(quarter, {}) if r["status"] == "ok" else {}
                rows.append({
                    "plan": r["plan"], "path": r["path"], "status": r["status"],
                    "fiscal_year": r["fiscal_year"], "currency": r["currency"],
                    "quarter": quarter, "total": q.get("total"),
                    "operation": q.get("operation"), "maintenance": q.get("maintenance"),
                    "operation_share": q.get("operation_share"),
                    "band_status": q.get("band_status"), "target": r["target"],
                    "output": q.get("output"), "error": first_error(r) or None,
                })
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        for column in ("total", "operation", "maintenance", "operation_share", "target"):
            frame[column] = frame[column].astype(float)
        frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
        return frame


def _duplicates(paths: Sequence[Path]) -> dict[int, str]:
    """Plans whose outputs would overwrite an earlier plan's (same file stem)."""
    first: dict[str, Path] = {}
    clashes = {}
    for i, path in enumerate(paths):
        key = path.stem.casefold()
        if key in first:
            clashes[i] = (f"another plan in this batch has the same file name stem "
                          f"({first[key]}), so their workbooks would overwrite each other; "
                          "rename one of them")
        else:
            first[key] = path
    return clashes


def execute_batch(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                  quarter: str | Sequence[str], out: str | os.PathLike[str],
                  scenario: str = BASELINE, jobs: int | None = None,
                  scheduler: str | None = None, progress: Progress | None = None,
                  warn: Callable[[str], None] | None = None) -> BatchOutcome:
    """Run a batch: quarterly workbooks per plan, rollups, ``batch_report.json`` in ``out``."""
    from omplan.files.xlsxio import source_date

    started = time.perf_counter()
    quarters = parse_quarters(quarter)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if jobs is not None and jobs < 1:
        raise BatchError(f"jobs must be at least 1, got {jobs}")
    if scheduler is not None:
        _import_distributed()  # a clear error before any work
    plans = expand_paths(paths, warn)
    if not plans:
        raise BatchError("no plan workbooks to run: give .xlsx/.xlsm files or folders "
                         "holding them")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"--out {out_dir} is a file; give a folder for the workbooks")
    out_dir.mkdir(parents=True, exist_ok=True)

    moment = source_date()
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    kwargs = {"quarter": quarters, "scenario": scenario, "generated": moment.isoformat(),
              "generated_note": f"SOURCE_DATE_EPOCH={epoch}" if epoch.isdigit() else "",
              "out_dir": str(out_dir.resolve() if scheduler else out_dir)}
    results: list[dict[str, Any] | None] = [None] * len(plans)
    progress = progress or Progress()
    total = len(plans)
    count = 0

    def done(i: int, result: dict[str, Any]) -> None:
        nonlocal count
        result["path"] = str(plans[i])  # as given, whichever path the worker opened
        result["file"] = plans[i].name
        results[i] = result
        count += 1
        progress.advance(result, count, total)

    progress.start(total)
    try:
        tasks: list[Task] = []
        clashes = _duplicates(plans)
        for i, path in enumerate(plans):
            clash = clashes.get(i)
            if clash:
                done(i, _failed_result(str(path), scenario, "duplicate-name", clash))
            else:
                tasks.append((i, str(path.resolve()) if scheduler else str(path)))
        if tasks:
            if scheduler:
                _run_dask(tasks, scheduler, kwargs, done)
            else:
                _run_local(tasks, jobs or os.cpu_count() or 1, kwargs, done)
    finally:
        progress.stop()
    final = [r for r in results if r is not None]
    assert len(final) == len(plans)
    rollups, totals = _write_rollups(final, quarters, scenario, out_dir, moment,
                                     kwargs["generated_note"])
    report = batch_report(final, quarters, scenario, moment, rollups, totals)
    report_path = out_dir / REPORT_NAME
    from omplan.files.xlsxio import atomic_write_bytes

    text = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(report_path, text.encode("utf-8"))
    return BatchOutcome(final, quarters, scenario, out_dir, report, report_path,
                        [r["file"] for r in rollups], time.perf_counter() - started)


def _write_rollups(results: Sequence[dict[str, Any]], quarters: Sequence[str], scenario: str,
                   out_dir: Path, moment: datetime, note: str
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One rollup per (fiscal year, currency) and quarter, from the task results."""
    from omplan.core.version import __version__
    from omplan.files.xlsxio import atomic_write_bytes
    from omplan.render.xlsx import render_workbook
    from omplan.report.quarterly import (
        FailedPlan,
        RollupLine,
        build_rollup_layout,
        rollup_name,
        rollup_totals,
    )

    ok = [r for r in results if r["status"] == "ok"]
    groups = sorted({(r["fiscal_year"], r["currency"]) for r in ok})
    mixed = len({cur for _, cur in groups}) > 1
    written: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    for fiscal_year, currency in groups:
        members = [r for r in ok if (r["fiscal_year"], r["currency"]) == (fiscal_year, currency)]
        # a failed plan belongs to its own fiscal year and currency when it got that far,
        # else to every rollup: whoever reads one must know the batch is not complete
        failed = [FailedPlan(r["file"], r["errors"][0]["location"] if r["errors"] else "",
                             r["errors"][0]["message"] if r["errors"] else "",
                             len(r["errors"]))
                  for r in results if r["status"] != "ok"
                  and ((r["fiscal_year"], r["currency"]) == (fiscal_year, currency)
                       or (r["fiscal_year"], r["currency"]) not in groups)]
        for quarter in quarters:
            lines = []
            for r in members:
                q = next(x for x in r["quarters"] if x["quarter"] == quarter)
                lines.append(RollupLine(
                    r["plan"], r["file"], q["months"], q["total"], q["operation"],
                    q["maintenance"], q["operation_share"], q["band_status"],
                    r["band"]["low"], r["band"]["high"], r["target"], q["output"]))
            name = rollup_name(fiscal_year, quarter, currency if mixed else None)
            layout = build_rollup_layout(lines, failed, fiscal_year=fiscal_year,
                                         currency=currency, quarter=quarter,
                                         scenario=scenario, generated=moment,
                                         version=__version__, generated_note=note)
            buffer = io.BytesIO()
            render_workbook(layout, buffer)
            atomic_write_bytes(out_dir / name, buffer.getvalue())
            sums = rollup_totals(lines)
            written.append({"file": name, "fiscal_year": fiscal_year, "currency": currency,
                            "quarter": quarter})
            totals.append({"fiscal_year": fiscal_year, "currency": currency,
                           "quarter": quarter, "plans": len(lines),
                           "plans_failed": len(failed), **sums, "rollup": name})
    return written, totals


def batch_report(results: Sequence[dict[str, Any]], quarters: Sequence[str], scenario: str,
                 moment: datetime, rollups: Sequence[dict[str, Any]],
                 totals: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``batch_report.json`` (deterministic: no durations, no absolute paths
    but the plan paths as given)."""
    from omplan.core.version import __version__

    plans = []
    for r in results:
        plans.append({
            "plan": r["plan"], "path": r["path"], "file": r["file"], "status": r["status"],
            "fiscal_year": r["fiscal_year"], "currency": r["currency"],
            "outputs": list(r["outputs"]), "errors": list(r["errors"]),
            "quarters": [{k: q[k] for k in ("quarter", "months", "total", "operation",
                                            "maintenance", "operation_share", "band_status",
                                            "output")} for q in r["quarters"]],
        })
    n_failed = sum(1 for r in results if r["status"] != "ok")
    return {
        "omplan_version": __version__,
        "generated": moment.isoformat(),
        "scenario": scenario,
        "quarters": list(quarters),
        "status": "ok" if not n_failed else "failed",
        "plans_total": len(results),
        "plans_ok": len(results) - n_failed,
        "plans_failed": n_failed,
        "plans": plans,
        "rollups": [r["file"] for r in rollups],
        "totals": list(totals),
    }


def run_batch(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
              quarter: str | Sequence[str], out: str | os.PathLike[str],
              scenario: str = BASELINE, jobs: int | None = None, scheduler: str | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Run a quarterly batch and return its report as a DataFrame, one row per plan × quarter.

    Writes ``<plan stem>_FY<year>_Q<n>.xlsx`` per plan and quarter, the rollups and
    ``batch_report.json`` to ``out``. ``jobs`` local processes (default: one per CPU), or the
    Dask scheduler at ``scheduler`` (``tcp://host:port``; plans and ``out`` on a folder every
    worker sees). Failed plans are rows with status ``failed`` and their first error.
    """
    outcome = execute_batch(paths, quarter=quarter, out=out, scenario=scenario, jobs=jobs,
                            scheduler=scheduler, progress=make_progress(progress))
    return outcome.frame()


# --------------------------------------------------------------------------- the command


def batch_command(plans: Sequence[Path], quarter: str, out_dir: Path, scenario: str,
                  jobs: int | None, scheduler: str | None, quiet: bool) -> int:
    """``omplan batch``: exit 0 when every plan succeeded, 2 when any failed."""
    import click

    def err(line: str) -> None:
        click.echo(line, err=True)

    if jobs is not None and scheduler:
        err("omplan: --jobs and --scheduler exclude each other: the Dask cluster decides how "
            "many tasks run at once")
        return 2
    try:
        outcome = execute_batch(plans, quarter=quarter, out=out_dir, scenario=scenario,
                                jobs=jobs, scheduler=scheduler,
                                progress=make_progress(not quiet, click.echo), warn=err)
    except BatchError as exc:
        err(f"omplan: {exc}")
        return 2
    failed = outcome.failed
    if not quiet:
        n_plans = len(outcome.results)
        click.echo(f"Wrote {outcome.workbooks} quarterly budget"
                   f"{'s' if outcome.workbooks != 1 else ''} and {len(outcome.rollups)} "
                   f"rollup{'s' if len(outcome.rollups) != 1 else ''} to {outcome.out_dir} "
                   f"in {outcome.seconds:.1f} s; {n_plans - len(failed)} of {n_plans} plans ok")
        click.echo(f"Batch report: {outcome.report_path}")
    if failed:
        err(f"{len(failed)} plan{'s' if len(failed) != 1 else ''} failed:")
        for r in failed:
            err(f"  {r['path']}: {first_error(r)}")
        return 2
    return 0


__all__ = [
    "BatchError", "BatchOutcome", "batch_command", "batch_report", "execute_batch",
    "expand_paths", "parse_quarters", "run_batch", "run_plan_task",
]
