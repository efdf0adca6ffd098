"""The custom functions OM_SUMMARY and OM_SPLIT on the shipped sample plan: median time of a
call, and where it goes.

    python benchmarks/bench_excel_functions.py [--calls 200]

The sample's tables are read once with python-calamine into DataFrames, the shape xlwings'
``convert=pd.DataFrame`` gives a function (header row = columns, empty cells NaN): Staffing,
Rates, Allocation, Costs, Roles, Settings, FX and Escalation (the sample's offshore rates are
in INR and escalate by sourcing, so the functions need its FX and Escalation tables). Each
function is then called ``--calls`` times, each call from scratch (the functions' kept runs
forgotten first); the median wall and CPU time of one call are printed against the target
(5 ms each), with the steps of a call timed alone: the tables as grids, reading and checking
them, the engine, the Baseline figures. Then the same calls again with the run kept from the
call before (what a recalculation of several functions over the same tables costs after the
first), and, for reference, the whole report layout of the same plan, which OM_SUMMARY built
before to return one of its blocks.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "omplan" / "data" / "sample_plan.xlsx"
TARGET_MS = 5.0
TABLES = ("Staffing", "Rates", "Allocation", "Costs", "Roles", "Settings", "FX", "Escalation")


def sample_tables() -> dict[str, Any]:
    """Each sheet of the sample as the DataFrame xlwings' converter gives."""
    import pandas as pd
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(SAMPLE))
    out = {}
    for name in TABLES:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = pd.DataFrame(rows[1:], columns=rows[0]).replace("", float("nan"))
    return out


def median_ms(function: Callable[[], Any], calls: int,
              setup: Callable[[], Any] | None = None) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one call of ``function`` (after two warm-ups),
    ``setup`` run untimed before each call."""
    function()
    function()
    wall, cpu = [], []
    for _ in range(calls):
        if setup is not None:
            setup()
        w, c = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    from omplan.apps.excel import functions as fn
    from omplan.core.engine import evaluate
    from omplan.files.report import report_layout
    from omplan.input.reader import parse_plan

    tables = sample_tables()
    arguments = [tables[name] for name in TABLES]
    summary = fn.OM_SUMMARY(*arguments)
    share = fn.OM_SPLIT(*arguments)
    if isinstance(summary, str) or isinstance(share, str):
        print("the sample did not evaluate:", summary if isinstance(summary, str) else share)
        return 1
    print(f"Python {platform.python_version()}; {SAMPLE.name}: {len(tables['Staffing'])} "
          f"staffing lines, tables {', '.join(TABLES)}; median of {args.calls} calls")
    print(f"OM_SUMMARY: a {summary.shape[0]} x {summary.shape[1]} table; OM_SPLIT: {share:.6f}")

    grids = fn._grids(*arguments[:6], fx=arguments[6], escalation=arguments[7])
    plan, _ = parse_plan(grids, fn.SOURCE_NAME)
    assert plan is not None
    run = fn._run(*arguments[:6], fx=arguments[6], escalation=arguments[7])
    rows: list[tuple[str, float, float, str]] = []

    target = f"≤ {TARGET_MS:g} ms"
    for what, function, goal in (
            ("OM_SUMMARY", lambda: fn.OM_SUMMARY(*arguments), target),
            ("OM_SPLIT", lambda: fn.OM_SPLIT(*arguments), target),
            ("  tables -> grids", lambda: fn._grids(*arguments[:6], fx=arguments[6],
                                                    escalation=arguments[7]), ""),
            ("  read and check (parse_plan)", lambda: parse_plan(grids, fn.SOURCE_NAME), ""),
            ("  engine (evaluate, no advisories)",
             lambda: evaluate(plan, advisories=False), ""),
            ("  Baseline table from the ledger", lambda: fn.baseline_table(run), ""),
            ("  Baseline share from the ledger", lambda: fn.baseline_share(run), ""),
            ("OM_SUMMARY, same tables again (kept run)", lambda: fn.OM_SUMMARY(*arguments), ""),
            ("OM_SPLIT, same tables again (kept run)", lambda: fn.OM_SPLIT(*arguments), ""),
            ("the whole report layout (before)",
             lambda: report_layout(run.evaluation, input_findings=run.findings), "")):
        calls = args.calls if not what.startswith("the whole") else max(5, args.calls // 20)
        # the functions from scratch: their kept runs forgotten (untimed) before each call
        wall, cpu = median_ms(function, calls, fn.forget_runs if goal else None)
        rows.append((what, wall, cpu, goal))
    for what, wall, cpu, target in rows:
        verdict = ""
        if target:
            verdict = f"  target {target}: {'met' if cpu <= TARGET_MS else 'MISSED'} (CPU)"
        print(f"  {what:42} {wall:7.2f} ms wall {cpu:7.2f} ms CPU{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
