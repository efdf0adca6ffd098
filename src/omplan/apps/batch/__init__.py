"""Quarterly batch runs: a budget workbook per plan and quarter, rollups, a JSON report.

- :mod:`~omplan.apps.batch.tasks`: what one plan does (:func:`run_plan_task`, returning a
  picklable :class:`PlanResult`), the same function in a local process or on a Dask worker;
- :mod:`~omplan.apps.batch.executors`: the local process pool and the Dask client;
- :mod:`~omplan.apps.batch.progress`: the progress bar and plain progress lines;
- :mod:`~omplan.apps.batch.inputs`: plans from files and folders, clashing names;
- :mod:`~omplan.apps.batch.rollups`: rollups and ``batch_report.json`` from the results;
- :mod:`~omplan.apps.batch.driver`: the batch itself (:func:`execute_batch`).

Only the standard library is imported at the top of these modules: workers and
``import omplan`` stay light; pandas, openpyxl, rich and distributed load where they are used.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from omplan.apps.batch.driver import (
    FRAME_COLUMNS,
    BatchInterrupted,
    BatchOutcome,
    Stopped,
    execute_batch,
)
from omplan.apps.batch.executors import WORKER_MODULES, _mp_context, run_dask, run_local
from omplan.apps.batch.inputs import expand_paths, is_output_name
from omplan.apps.batch.progress import LineProgress, Progress, RichProgress, make_progress
from omplan.apps.batch.rollups import batch_report
from omplan.apps.batch.tasks import (
    BASELINE,
    QUARTER_NAMES,
    REPORT_NAME,
    BatchError,
    PlanResult,
    parse_quarters,
    run_plan_task,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_run_local = run_local  # the names tests and benchmarks used before the split
_run_dask = run_dask


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def batch_command(plans: Sequence[Path], quarter: str, out_dir: Path, scenario: str,
                  jobs: int | None, scheduler: str | None, quiet: bool) -> int:
    """``omplan batch``: exit 0 when every plan succeeded, 2 when any failed or an output
    could not be written, 128 + the signal's number when Ctrl-C (130) or SIGTERM (143)
    stopped it."""
    from omplan.apps.streams import echo

    def err(line: str) -> None:
        echo(line, err=True)

    if jobs is not None and scheduler:
        err("omplan: --jobs and --scheduler exclude each other: the Dask cluster decides how "
            "many tasks run at once")
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_IGN)  # once: the driver is already stopping
        raise Stopped(signum)

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        outcome = execute_batch(plans, quarter=quarter, out=out_dir, scenario=scenario,
                                jobs=jobs, scheduler=scheduler,
                                progress=make_progress(not quiet), warn=err)
    except BatchError as exc:
        err(f"omplan: {exc}")
        return 2
    except BatchInterrupted as stop:
        outcome = stop.outcome
        n_done = sum(1 for r in outcome.results if not any(
            e["code"] == "not-run" for e in r.errors))
        where = (f"see {outcome.report_path}" if outcome.report_error is None else
                 f"{REPORT_NAME} could not be written: {outcome.report_error}")
        err(f"omplan: stopped by {signal.Signals(stop.signum).name}: {n_done} of "
            f"{len(outcome.results)} plans finished ({outcome.workbooks} workbooks written, "
            f"no rollups); {where}")
        return 128 + stop.signum
    except Stopped as stop:  # before the plans ran (connecting) or after (rollups)
        err(f"omplan: stopped by {signal.Signals(stop.signum).name}; {REPORT_NAME} was not "
            "written")
        return 128 + stop.signum
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = outcome.failed
    if not quiet:
        n_plans = len(outcome.results)
        echo(f"Wrote {_plural(outcome.workbooks, 'quarterly budget')} and "
             f"{_plural(len(outcome.rollups), 'rollup')} to {outcome.out_dir} "
             f"in {outcome.seconds:.1f} s; {n_plans - len(failed)} of {n_plans} plans ok")
        calendars = _calendars(outcome)
        if calendars:
            echo(calendars)
        if outcome.report_error is None:
            echo(f"Batch report: {outcome.report_path}")
    if failed:
        err(f"{_plural(len(failed), 'plan')} failed:")
        for r in failed:
            err(f"  {r.path}: {r.first_error()}")
    for rollup in outcome.rollups_failed:
        err(f"omplan: {rollup['file']} could not be written to {outcome.out_dir}: "
            f"{rollup['error']}")
    if outcome.report.get("disk_full"):
        err(f"omplan: {outcome.report['disk_full']}")
    if outcome.report_error is not None:
        err(f"omplan: {REPORT_NAME} could not be written to {outcome.out_dir}: "
            f"{outcome.report_error}{_last_report(outcome)}")
    return 0 if outcome.ok else 2


def _last_report(outcome: BatchOutcome) -> str:
    """What the report left in the folder says, when the final one could not be written."""
    last = outcome.report_written
    if last is None:
        return ""
    done = last["plans_ok"] + last["plans_failed"]
    return (f"; the {REPORT_NAME} there was written while the batch ran and lists the "
            f"{_plural(done, 'plan')} finished by then")


def _calendars(outcome: BatchOutcome) -> str:
    """A sentence on the fiscal calendars of a batch's plans when there are several (each
    has rollups of its own); empty otherwise."""
    from omplan.core.periods import MONTH_NAMES

    counts: dict[int, int] = {}
    for r in outcome.results:
        if r.ok and r.fy_start_month:
            counts[r.fy_start_month] = counts.get(r.fy_start_month, 0) + 1
    if len(counts) < 2:
        return ""
    parts = [f"{MONTH_NAMES[start - 1]} ({_plural(n, 'plan')})"
             for start, n in sorted(counts.items())]
    return (f"Fiscal years start in {', '.join(parts[:-1])} and {parts[-1]}: each calendar "
            "has rollups of its own, named by their months.")


def first_error(result: PlanResult) -> str:
    """``Location: message`` of a failed plan's first error."""
    return result.first_error()


__all__ = [
    "BASELINE", "FRAME_COLUMNS", "QUARTER_NAMES", "REPORT_NAME", "WORKER_MODULES",
    "BatchError", "BatchInterrupted", "BatchOutcome", "LineProgress", "PlanResult",
    "Progress", "RichProgress", "_mp_context", "batch_command", "batch_report",
    "execute_batch", "expand_paths", "first_error", "is_output_name", "make_progress",
    "parse_quarters", "run_batch", "run_plan_task",
]
