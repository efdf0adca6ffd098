"""What the driver writes from the task results: the rollups and ``batch_report.json``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from omplan.apps.batch.tasks import PlanResult

#: The status of a plan not finished yet, in the report written while the batch runs.
PENDING = "pending"
#: What a report written while the batch ran says about itself.
RUNNING_NOTE = ("This report was written while the batch was running, and is rewritten as "
                "plans finish. If it still says running, the batch did not finish writing it "
                "(it was killed, or the disk filled up): plans still pending had not "
                "finished when it was written.")


def write_rollups(results: Sequence[PlanResult], scenario: str, out_dir: Path,
                  moment: datetime, note: str
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, str]]]:
    """One rollup per fiscal year, quarter, fiscal calendar and currency that the plans'
    budgets cover (the fiscal year of the quarter: a plan over several years can be in
    several). Plans whose fiscal years start in different months are never added up: their
    Q2 FY2027 are different months (``fy_start_month``), as amounts in different currencies
    are different money.

    Returns the rollups written, their totals (with the plan files each one adds up), and the
    rollups that could not be written (``{"file", "error"}``: a full disk, a folder turned
    read-only).
    """
    from omplan.core.version import __version__
    from omplan.files.xlsxio import atomic_write_bytes
    from omplan.render.xlsx import render_workbook
    from omplan.report.quarterly import (
        FailedPlan,
        RollupLine,
        build_rollup_layout,
        quarter_month_labels,
        rollup_name,
        rollup_totals,
    )

    ok = [r for r in results if r.ok]
    # (fiscal year, fiscal-year start month, currency) -> the quarter names budgeted in it
    groups: dict[tuple[int, int, str], set[str]] = {}
    for r in ok:
        assert r.currency is not None  # ok plans have one
        for q in r.quarters:
            groups.setdefault((_fiscal_year(r, q), _calendar(r), r.currency),
                              set()).add(q["quarter"])
    mixed = len({cur for _, _, cur in groups}) > 1
    calendars = len({start for _, start, _ in groups}) > 1
    written: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    unwritten: list[dict[str, str]] = []
    for fiscal_year, start, currency in sorted(groups):
        # a failed plan belongs to its own fiscal year, calendar and currency when it got that
        # far, else to every rollup: whoever reads one must know the batch is not complete
        failed = [FailedPlan(r.file, r.errors[0]["location"] if r.errors else "",
                             r.errors[0]["message"] if r.errors else "", len(r.errors))
                  for r in results if not r.ok
                  and (_key(r) == (fiscal_year, start, currency) or _key(r) not in groups)]
        for quarter in sorted(groups[(fiscal_year, start, currency)]):
            lines = []
            for r in ok:
                if r.currency != currency or _calendar(r) != start:
                    continue
                found = [x for x in r.quarters if x["quarter"] == quarter
                         and _fiscal_year(r, x) == fiscal_year]
                if not found:
                    continue
                q = found[0]
                assert r.band is not None and r.target is not None
                lines.append(RollupLine(
                    r.plan, r.file, q["months"], q["total"], q["operation"],
                    q["maintenance"], q["operation_share"], q["band_status"],
                    r.band["low"], r.band["high"], r.target, q["output"], q.get("actuals")))
            name = rollup_name(fiscal_year, quarter, currency if mixed else None,
                               start if calendars else None)
            layout = build_rollup_layout(lines, failed, fiscal_year=fiscal_year,
                                         currency=currency, quarter=quarter,
                                         scenario=scenario, generated=moment,
                                         version=__version__, generated_note=note,
                                         fy_start_month=start)
            buffer = io.BytesIO()
            render_workbook(layout, buffer)
            try:
                atomic_write_bytes(out_dir / name, buffer.getvalue())
            except OSError as exc:
                unwritten.append({"file": name, "error": str(exc.strerror or exc)})
                continue
            sums = rollup_totals(lines)
            written.append({"file": name, "fiscal_year": fiscal_year, "currency": currency,
                            "quarter": quarter})
            totals.append({"fiscal_year": fiscal_year, "currency": currency,
                           "quarter": quarter, "fy_start_month": start,
                           "months": quarter_month_labels(fiscal_year, start, quarter),
                           "plans": len(lines), "plan_files": [line.file for line in lines],
                           "plans_failed": len(failed), **sums, "rollup": name})
    return written, totals, unwritten


def _calendar(result: PlanResult) -> int:
    """The month in which a plan's fiscal year starts (1 when it was not read)."""
    return result.fy_start_month or 1


def _key(result: PlanResult) -> tuple[int | None, int, str | None]:
    """(fiscal year, fiscal-year start month, currency) of a plan: its rollups."""
    return result.fiscal_year, _calendar(result), result.currency


def _fiscal_year(result: PlanResult, quarter: dict[str, Any]) -> int:
    """The fiscal year of one of a plan's budgeted quarters."""
    year = quarter.get("fiscal_year") or result.fiscal_year
    assert year is not None
    return int(year)


def batch_report(results: Sequence[PlanResult], quarters: Sequence[str], scenario: str,
                 moment: datetime, rollups: Sequence[dict[str, Any]],
                 totals: Sequence[dict[str, Any]], *,
                 rollups_failed: Sequence[dict[str, str]] = (),
                 stopped: str | None = None, running: bool = False,
                 disk_full: str | None = None) -> dict[str, Any]:
    """The content of ``batch_report.json`` (deterministic: no durations, no absolute paths
    but the plan paths as given).

    A batch stopped by a signal has status ``stopped`` and ``stopped_by`` (e.g. ``SIGTERM``);
    rollups that could not be written are listed under ``rollups_failed``; ``disk_full`` is
    the sentence saying what a full disk kept from being written. These keys appear only
    when they apply. While the batch runs (``running``) the status is ``running``, plans not
    finished yet are ``pending`` (counted in ``plans_pending``) and ``note`` says so.
    """
    from omplan.core.version import __version__

    plans = []
    for r in results:
        plans.append({
            "plan": r.plan, "path": r.path, "file": r.file, "status": r.status,
            "fiscal_year": r.fiscal_year, "currency": r.currency,
            "outputs": list(r.outputs), "errors": list(r.errors),
            "quarters": [{k: q[k] for k in ("fiscal_year", "quarter", "months", "total",
                                            "operation",
                                            "maintenance", "operation_share", "band_status",
                                            "output", "actuals")} for q in r.quarters],
            "actuals": r.actuals,
        })
    n_pending = sum(1 for r in results if r.status == PENDING)
    n_ok = sum(1 for r in results if r.ok)
    n_failed = len(results) - n_ok - n_pending
    status = ("running" if running else "stopped" if stopped
              else "ok" if not n_failed and not rollups_failed else "failed")
    report: dict[str, Any] = {
        "omplan_version": __version__,
        "generated": moment.isoformat(),
        "scenario": scenario,
        "quarters": list(quarters),
        "status": status,
    }
    if running:
        report["note"] = RUNNING_NOTE
    if stopped:
        report["stopped_by"] = stopped
    if disk_full:
        report["disk_full"] = disk_full
    report.update({"plans_total": len(results), "plans_ok": n_ok, "plans_failed": n_failed})
    if running:
        report["plans_pending"] = n_pending
    report.update({
        "plans": plans,
        "rollups": [r["file"] for r in rollups],
        "totals": list(totals),
    })
    if rollups_failed:
        report["rollups_failed"] = list(rollups_failed)
    return report


def pending(path: str, scenario: str) -> PlanResult:
    """A plan that has not finished yet (in the report written while the batch runs)."""
    result = PlanResult.new(path, scenario)
    result.status = PENDING
    return result
