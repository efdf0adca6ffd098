"""The batch driver: check the inputs and ``--out``, run the tasks, write rollups and report.

Whatever happens once plans have started — failed plans, a full disk, Ctrl-C or SIGTERM —
the driver writes ``batch_report.json`` with what finished: it is written before the first
plan, rewritten as plans finish, and its final version has room reserved on the disk.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omplan.apps.batch.executors import (
    Task,
    check_address,
    close_client,
    connect,
    connect_timeout,
    dask_timeout,
    import_distributed,
    run_dask,
    run_local,
)
from omplan.apps.batch.inputs import duplicates, expand_paths, overwritten_inputs
from omplan.apps.batch.progress import Progress
from omplan.apps.batch.report_file import (
    DISK_FULL,
    BatchReportFile,
    is_disk_full,
    report_bytes,
)
from omplan.apps.batch.rollups import batch_report, pending, write_rollups
from omplan.apps.batch.tasks import (
    BASELINE,
    BatchError,
    PlanResult,
    parse_quarters,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FRAME_COLUMNS = ("plan", "path", "status", "fiscal_year", "currency", "quarter", "total",
                 "operation", "maintenance", "operation_share", "band_status", "target",
                 "output", "error")


class Stopped(KeyboardInterrupt):
    """A signal asked the batch to stop (raised by the command's SIGTERM handler)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class BatchInterrupted(KeyboardInterrupt):
    """The batch was stopped (Ctrl-C, SIGTERM); ``outcome`` holds what finished, already
    written to ``batch_report.json`` when the folder took it."""

    def __init__(self, signum: int, outcome: BatchOutcome) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.outcome = outcome


@dataclass
class BatchOutcome:
    """A finished batch: the per-plan task results (in input order), rollups, the report."""

    results: list[PlanResult]
    quarters: tuple[str, ...]
    scenario: str
    out_dir: Path
    report: dict[str, Any]
    report_path: Path
    rollups: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: why batch_report.json could not be written (None: it was)
    report_error: str | None = None
    #: rollups that could not be written: {"file", "error"}
    rollups_failed: list[dict[str, str]] = field(default_factory=list)
    #: the report in the folder: ``report``, or when that could not be written, the last
    #: one written while the batch ran (status ``running``); None: none
    report_written: dict[str, Any] | None = None

    @property
    def failed(self) -> list[PlanResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.rollups_failed and self.report_error is None

    @property
    def workbooks(self) -> int:
        return sum(len(r.outputs) for r in self.results)

    def frame(self) -> pd.DataFrame:
        """One row per plan × quarter budgeted (see :data:`FRAME_COLUMNS`); a failed plan has
        a row per ``--quarter`` choice, without figures."""
        import pandas as pd

        rows = []
        for r in self.results:
            if r.ok:
                picked = [(q.get("fiscal_year", r.fiscal_year), q["quarter"], q)
                          for q in r.quarters]
            else:  # no figures: one row per choice, as far as the plan tells its year
                picked = [(*_choice(c, r.fiscal_year), {}) for c in self.quarters]
            for fiscal_year, quarter, q in picked:
                rows.append({
                    "plan": r.plan, "path": r.path, "status": r.status,
                    "fiscal_year": fiscal_year, "currency": r.currency,
                    "quarter": quarter, "total": q.get("total"),
                    "operation": q.get("operation"), "maintenance": q.get("maintenance"),
                    "operation_share": q.get("operation_share"),
                    "band_status": q.get("band_status"), "target": r.target,
                    "output": q.get("output"), "error": r.first_error() or None,
                })
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        for column in ("total", "operation", "maintenance", "operation_share", "target"):
            frame[column] = frame[column].astype(float)
        frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
        return frame


def _choice(choice: str, fiscal_year: int | None) -> tuple[int | None, str]:
    """(fiscal year, quarter) of a ``--quarter`` choice for a plan starting in
    ``fiscal_year``: ``FY2028 Q2`` -> (2028, "Q2"), ``Q2`` -> (fiscal_year, "Q2")."""
    if choice.startswith("FY"):
        return int(choice[2:6]), choice[-2:]
    return fiscal_year, choice


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``--out`` and make sure files can be created in it, before any plan runs."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"--out {out_dir} is a file; give a folder for the workbooks")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"the --out folder {out_dir} cannot be created "
                         f"({exc.strerror or exc}); nothing was run") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".omplan-probe.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BatchError(f"cannot write into the --out folder {out_dir} "
                         f"({exc.strerror or exc}); nothing was run") from None


def execute_batch(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                  quarter: str | Sequence[str], out: str | os.PathLike[str],
                  scenario: str = BASELINE, jobs: int | None = None,
                  scheduler: str | None = None, progress: Progress | None = None,
                  warn: Callable[[str], None] | None = None) -> BatchOutcome:
    """Run a batch: quarterly workbooks per plan, rollups, ``batch_report.json`` in ``out``.

    Raises :class:`BatchError` when the batch cannot start (nothing is run then), and
    :class:`BatchInterrupted` when Ctrl-C or a signal stops it (after writing the report).
    """
    started = time.perf_counter()
    quarters = parse_quarters(quarter)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if jobs is not None and jobs < 1:
        raise BatchError(f"jobs must be at least 1, got {jobs}")
    wait = wait_connect = 0.0
    if scheduler is not None:
        import_distributed()  # a clear error before any work
        scheduler = check_address(scheduler)
        wait = dask_timeout()
        wait_connect = connect_timeout()
    plans = expand_paths(paths, warn)
    if not plans:
        raise BatchError("no plan workbooks to run: give .xlsx/.xlsm files or folders "
                         "holding them")
    out_dir = Path(out)
    at_risk = overwritten_inputs(plans, out_dir)
    if at_risk:
        raise BatchError(f"the plan {at_risk[0]} is in --out {out_dir} under a name the batch "
                         "writes (a quarterly workbook, a rollup or batch_report.json) and "
                         "would be overwritten; move or rename it, or choose another --out "
                         "folder; nothing was run")
    prepare_out_dir(out_dir)
    client = connect(scheduler, wait_connect) if scheduler is not None else None
    try:
        return _run_batch(plans, quarters, out_dir, scenario, jobs, scheduler, client, wait,
                          progress, started)
    finally:
        if client is not None:  # closed by run_dask; here when no plan was sent to it
            close_client(client)


def _run_batch(plans: list[Path], quarters: tuple[str, ...], out_dir: Path, scenario: str,
               jobs: int | None, scheduler: str | None, client: Any, wait: float,
               progress: Progress | None, started: float) -> BatchOutcome:
    """The batch once it can start: run the tasks, write the rollups and the report.

    ``batch_report.json`` is written before the first plan runs (every plan pending), again
    as plans finish, and at the end into room reserved for it (see :mod:`.report_file`).
    """
    from omplan.files.xlsxio import source_date

    moment = source_date()
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    kwargs = {"quarter": quarters, "scenario": scenario, "generated": moment.isoformat(),
              "generated_note": f"SOURCE_DATE_EPOCH={epoch}" if epoch.isdigit() else "",
              "out_dir": str(out_dir.resolve() if scheduler else out_dir)}
    results: list[PlanResult | None] = [None] * len(plans)
    progress = progress or Progress()
    total = len(plans)
    count = 0
    report_file = BatchReportFile(out_dir, report_bytes(
        total, quarters, sum(len(str(path)) for path in plans)))

    def running_report() -> dict[str, Any]:
        so_far = [r if r is not None else pending(str(plans[i]), scenario)
                  for i, r in enumerate(results)]
        return batch_report(so_far, quarters, scenario, moment, [], [], running=True)

    def done(i: int, result: PlanResult) -> None:
        nonlocal count
        result.path = str(plans[i])  # as given, whichever path the worker opened
        result.file = plans[i].name
        results[i] = result
        count += 1
        progress.advance(result, count, total)
        if report_file.due():
            report_file.update(running_report())

    stopped: KeyboardInterrupt | None = None
    try:
        progress.start(total)
        try:
            report_file.start(running_report())
            tasks: list[Task] = []
            clashes = duplicates(plans)
            for i, path in enumerate(plans):
                clash = clashes.get(i)
                if clash:
                    done(i, PlanResult.failure(str(path), scenario, "duplicate-name", clash))
                else:
                    tasks.append((i, str(path.resolve()) if scheduler else str(path)))
            if tasks:
                if client is not None:
                    run_dask(tasks, scheduler or "", kwargs, done, client=client,
                             timeout=wait)
                else:
                    run_local(tasks, jobs or os.cpu_count() or 1, kwargs, done)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM: report what finished, then stop
            stopped = exc
        finally:
            progress.stop()
        signum = getattr(stopped, "signum", int(signal.SIGINT)) if stopped is not None \
            else None
        name = signal.Signals(signum).name if signum is not None else None
        final = [r if r is not None else PlanResult.failure(
            str(plans[i]), scenario, "not-run",
            f"the batch was stopped ({name}) before this plan finished; no workbook was "
            "written for it") for i, r in enumerate(results)]
        if stopped is None:
            rollups, totals, unwritten = write_rollups(final, scenario, out_dir, moment,
                                                       str(kwargs["generated_note"]))
        else:  # a rollup of part of the plans would look complete: none
            rollups, totals, unwritten = [], [], []
        report = batch_report(final, quarters, scenario, moment, rollups, totals,
                              rollups_failed=unwritten, stopped=name,
                              disk_full=disk_full_sentence(final, unwritten))
        report_error = report_file.finish(report)
    finally:
        report_file.close()
    outcome = BatchOutcome(final, quarters, scenario, out_dir, report, report_file.path,
                           [r["file"] for r in rollups], time.perf_counter() - started,
                           report_error, unwritten, report_file.written)
    if stopped is not None and signum is not None:
        raise BatchInterrupted(signum, outcome) from stopped
    return outcome


def disk_full_sentence(results: Sequence[PlanResult],
                       rollups_failed: Sequence[dict[str, str]]) -> str | None:
    """What a full ``--out`` disk kept from being written, in one sentence (None: nothing)."""
    messages = [e["message"] for r in results for e in r.errors if e["code"] == "write-failed"]
    plans = [r for r in results if any(
        e["code"] == "write-failed" and is_disk_full(e["message"]) for e in r.errors)]
    rollups = [u for u in rollups_failed if is_disk_full(u["error"])]
    if not plans and not rollups:
        return None
    words = next(w for w in DISK_FULL
                 if any(w in m for m in messages + [u["error"] for u in rollups]))
    parts = []
    if plans:
        names = ", ".join(r.file for r in plans[:20])
        if len(plans) > 20:
            names += f" and {len(plans) - 20} more"
        parts.append(f"the workbooks of {len(plans)} plan{'s' if len(plans) != 1 else ''} "
                     f"({names})")
    if rollups:
        parts.append(f"{len(rollups)} rollup{'s' if len(rollups) != 1 else ''}")
    again = " for those plans" if plans else ""
    return (f"The --out folder ran out of space ({words}): {' and '.join(parts)} could not "
            f"be written; free some space there and run the batch again{again}.")
