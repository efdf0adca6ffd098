"""``omplan run PLAN --json`` of a 20,000-line plan against a plain openpyxl read-only pass over
the same file, and where the run's time goes.

    python benchmarks/bench_run.py [--lines 20000 --scenarios 20 --seed 0 --repeat 3]
    python benchmarks/bench_run.py --plan PLAN.xlsx     # an existing plan instead

Writes the plan of ``benchmarks/generate.py`` (``--lines`` staffing lines, ``--scenarios``
scenarios besides Baseline) to a temporary folder, then, pinned to one core, the median of
``--repeat`` runs of each step of ``omplan run PLAN --json OUT`` in this process:

* read and check: ``load_plan`` (the package scan, python-calamine, the reader's checks),
  and evaluate: the engine and its advisories, each timed alone;
* :func:`omplan.pipeline.run_plan`, which is those two steps (its own work is the
  difference, within the noise);
* figures: ``PlanRun.figures``, computed once for the JSON and the terminal;
* JSON: the text of the summary and its atomic write;
* terminal: the tables and the findings, grouped by code, printed to a pipe (/dev/null);

against openpyxl read-only iterating every row of every sheet (``load_workbook(read_only=True,
data_only=True)``). The ratio (the run's CPU over openpyxl's; target ≤ 0.3×) leaves out
Python's start and the imports, which the whole command, timed last in a child process
(wall and CPU), includes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 0.3


def pin_to_one_core() -> str:
    """Pin this process to CPU 0 before numpy/BLAS start their threads."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {0})
            return "pinned to CPU 0"
        except OSError as exc:
            return f"not pinned ({exc})"
    return "not pinned"


def timed(repeat: int, function: Callable[[], Any]) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def openpyxl_pass(path: Path) -> int:
    """Every row's values of every sheet with openpyxl read-only; returns the cell count."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(len(row) for sheet in book.worksheets
                   for row in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def to_devnull(function: Callable[[], Any]) -> Callable[[], Any]:
    """``function`` with stdout pointed at /dev/null (a pipe nobody reads: not a terminal)."""
    def call() -> Any:
        saved = sys.stdout
        with open(os.devnull, "w", encoding="utf-8") as sink:
            sys.stdout = sink
            try:
                return function()
            finally:
                sys.stdout = saved
    return call


def whole_command(plan: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``omplan run PLAN --json OUT`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "omplan", "run", str(plan), "--json", str(out)],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plan", type=Path, help="time this plan instead of a generated one")
    args = parser.parse_args()
    pinned = pin_to_one_core()

    sys.path.insert(0, str(HERE))
    from generate import write_plan

    from omplan.apps.cli import _write_json
    from omplan.apps.terminal import print_summary
    from omplan.core.engine import evaluate
    from omplan.input.reader import load_plan
    from omplan.pipeline import run_plan

    with tempfile.TemporaryDirectory(prefix="omplan-bench-run-") as tmp:
        folder = Path(tmp)
        if args.plan is not None:
            plan_path = args.plan
        else:
            plan_path = write_plan(folder / "plan.xlsx", args.lines, args.scenarios, args.seed)
        out = folder / "summary.json"
        print(f"Python {platform.python_version()}, {pinned}; {plan_path.name} "
              f"({plan_path.stat().st_size / 1e6:.2f} MB); median of {args.repeat}")

        parts: list[tuple[str, float, float]] = []
        w, c, (plan, findings) = timed(args.repeat, lambda: load_plan(plan_path))
        if plan is None:
            print("the plan has errors:", *[f for f in findings if f.severity == "error"][:5],
                  sep="\n  ")
            return 1
        parts.append(("  of which read and check (load_plan)", w, c))
        w, c, evaluation = timed(args.repeat, lambda: evaluate(plan))
        parts.append(("  of which evaluate (engine + advisories)", w, c))
        w, c, run = timed(args.repeat, lambda: run_plan(plan_path))
        rows = [("run_plan: read, check, evaluate", w, c)]

        def figures() -> Any:
            run.__dict__.pop("figures", None)  # the cached property, computed afresh
            getattr(run.evaluation, "figures_cache", {}).clear()
            return run.figures

        w, c, _ = timed(args.repeat, figures)
        rows.append(("figures (PlanFigures, once per run)", w, c))
        w, c, _ = timed(args.repeat, lambda: _write_json(run.summary(), out))
        rows.append(("JSON summary (text + atomic write)", w, c))
        w, c, _ = timed(args.repeat, to_devnull(lambda: print_summary(run.figures)))
        rows.append(("terminal (tables + grouped findings)", w, c))
        w, c, cells = timed(args.repeat, lambda: openpyxl_pass(plan_path))
        reference = (w, c)

        summary = json.loads(out.read_text(encoding="utf-8"))
        n_findings = sum(len(s["findings"]) for s in summary["scenarios"])
        print(f"plan: {len(plan.staffing):,} staffing lines, {len(plan.scenario_names)} "
              f"scenarios, {len(evaluation.ledger):,} ledger rows, {n_findings:,} findings in "
              f"the JSON; openpyxl reads {cells:,} cells")
        total = (sum(r[1] for r in rows), sum(r[2] for r in rows))
        for what, wall, cpu in [*rows[:1], *parts, *rows[1:]]:
            print(f"  {what:44} {wall:7.2f} s wall {cpu:7.2f} s CPU")
        print(f"  {'omplan run --json, in process':44} {total[0]:7.2f} s wall "
              f"{total[1]:7.2f} s CPU")
        print(f"  {'openpyxl read-only pass':44} {reference[0]:7.2f} s wall "
              f"{reference[1]:7.2f} s CPU")
        ratio = total[1] / reference[1]
        print(f"ratio run / openpyxl: {ratio:.2f}x CPU ({total[0] / reference[0]:.2f}x wall); "
              f"target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
        by_step = ", ".join(f"{what.strip().split(' (')[0].removeprefix('of which ')} "
                            f"{cpu / reference[1]:.3f}x" for what, _, cpu in [*parts, *rows[1:]])
        print(f"  per step (CPU / openpyxl): {by_step}; the pipeline's own work is run_plan "
              f"less its two steps: {(rows[0][2] - parts[0][2] - parts[1][2]):+.2f} s CPU")
        w, c = whole_command(plan_path, out)
        print(f"the whole command in a child process (Python, imports, all of it): {w:.2f} s "
              f"wall, {c:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
