"""Report-writing benchmark: omplan's report against other writers on the same cells.

    python benchmarks/bench_report.py [--lines 2000 --scenarios 10 --seed 0 --repeat 3]

Generates a plan with ``benchmarks/generate.py`` (``--scenarios`` besides Baseline), checks
and evaluates it (not timed), then times, in this one run and on one pinned core, the median
of ``--repeat`` runs, wall and CPU (``time.process_time``):

* the whole report: ``omplan.files.report.write_report`` (layout, openpyxl for the small
  sheets, ``render/fastxml`` for the Ledger, deterministic zip, atomic replace) against
  XlsxWriter, normal and ``constant_memory``, writing the same sheets with the same cell
  values and number formats taken from the same layout, without charts, tables or
  conditional formats;
* the Ledger sheet alone (where the cells are): omplan's fast writer, openpyxl's per-cell
  writer (omplan before, ``render_workbook(..., fast=False)``, timed once: ``--no-openpyxl``
  skips it), XlsxWriter normal and ``constant_memory``, and the Rust-backed
  ``rustpy-xlsxwriter`` and ``pyexcelerate`` when installed (``pip install rustpy-xlsxwriter
  pyexcelerate``), each given the ledger DataFrame.

Prints each time and its ratio to XlsxWriter; the target is omplan ≤ 0.3 × XlsxWriter for the
whole report. ``--strict`` exits with status 2 when it is missed; ``--keep DIR`` keeps the
workbooks there.

``--mid`` times instead the mid-size plan of the report target: 2,000 lines over 40 systems,
Baseline + 8 scenarios. The report's cost is what ``omplan run PLAN --json J --out R`` costs
more than ``omplan run PLAN --json J``, each in a new process (median of ``--repeat`` runs of
the child's CPU), against XlsxWriter writing the same cells in this process (target ≤ 0.25 ×).
At this size the report's fixed costs (layout, the sheets' skeletons, charts) weigh as much as
its Ledger, so the layout and the rendering with and without the Ledger are timed too.

First, the demo: its report alone (layout and writing, warm, in this process; target: under
1 s wall), and ``omplan demo`` as a user runs it, a new process each time (median of
``--repeat`` runs, wall and the child's CPU), with the bare imports it needs. ``--demo-only``
stops there.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.3
MID_TARGET_RATIO = 0.25
DEMO_TARGET_S = 1.0
#: the mid-size plan: (lines, scenarios besides Baseline, systems)
MID_PLAN = (2000, 8, 40)


def pin_to_one_core() -> str:
    """Pin this process to CPU 0 so that both writers run under the same conditions."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {0})
            return "pinned to CPU 0"
        except OSError as exc:
            return f"not pinned ({exc})"
    return "not pinned (no sched_setaffinity on this platform)"


def xlsxwriter_report(layout: Any, path: Path, constant_memory: bool = True) -> int:
    """Write every cell of ``layout`` with XlsxWriter (``constant_memory`` or not); returns
    the number of cells written. Styles become XlsxWriter formats with the same look."""
    import xlsxwriter

    from omplan.render.xlsx import _grid  # the same cells the openpyxl renderer writes

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    formats: dict[str | None, Any] = {None: None, "Normal": None}
    for name, style in layout.styles.items():
        spec: dict[str, Any] = {"num_format": style.number_format, "bold": style.bold,
                                "italic": style.italic, "font_size": style.size,
                                "text_wrap": style.wrap, "indent": style.indent}
        if style.colour:
            spec["font_color"] = "#" + style.colour
        if style.fill:
            spec["bg_color"] = "#" + style.fill
        if style.align:
            spec["align"] = style.align
        if style.vertical:
            spec["valign"] = {"center": "vcenter"}.get(style.vertical, style.vertical)
        formats[name] = wb.add_format(spec)
    cells = 0
    for sheet in layout.sheets:
        ws = wb.add_worksheet(sheet.name)
        for col, width in sheet.column_widths.items():
            ws.set_column(col - 1, col - 1, width)
        grid = _grid(sheet)
        bulk = {b.first_row: b for b in sheet.blocks if b.bulk}
        last = max([*grid, *(b.last_row for b in bulk.values())], default=0)
        r = 1
        while r <= last:
            block = bulk.get(r)
            if block is not None:
                fmts = [formats[s] for s in block.styles]
                write_string, write_number = ws.write_string, ws.write_number
                for i, values in enumerate(block.rows):
                    row = block.first_row + i - 1
                    for j, value in enumerate(values):
                        if value is None:
                            continue
                        if value.__class__ is str:
                            write_string(row, block.col - 1 + j, value, fmts[j])
                        else:
                            write_number(row, block.col - 1 + j, value, fmts[j])
                        cells += 1
                r = block.last_row + 1
                continue
            for c, (value, style) in sorted(grid.get(r, {}).items()):
                fmt = formats.get(style)
                if value is None:
                    ws.write_blank(r - 1, c - 1, None, fmt)
                elif isinstance(value, str):
                    ws.write_string(r - 1, c - 1, value, fmt)
                elif hasattr(value, "year"):
                    ws.write_datetime(r - 1, c - 1, value, fmt)
                else:
                    ws.write_number(r - 1, c - 1, value, fmt)
                cells += 1
            r += 1
    wb.close()
    return cells


def ledger_layout(layout: Any) -> Any:
    """``layout`` with only its Ledger sheet."""
    from dataclasses import replace

    return replace(layout, sheets=[layout.sheet("Ledger")])


def ledger_frame(ledger: Any) -> Any:
    """The ledger as the report shows it: capitalised headers, blank keys as None."""
    import pandas as pd

    from omplan.report.common import LEDGER_HEADER

    out = {}
    for name, head in zip(ledger.columns, LEDGER_HEADER, strict=True):
        series = ledger[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object).where(series.astype(str) != "", None)
        out[head] = series
    return pd.DataFrame(out)


def rust_ledger(ledger: Any, path: Path) -> None:
    import rustpy_xlsxwriter

    rustpy_xlsxwriter.write_worksheet(ledger_frame(ledger), str(path), sheet_name="Ledger",
                                      float_format="#,##0", freeze_row=1)


def pyexcelerate_ledger(ledger: Any, path: Path) -> None:
    from pyexcelerate import Style, Workbook

    frame = ledger_frame(ledger)
    wb = Workbook()
    ws = wb.new_sheet("Ledger", data=[list(frame.columns), *frame.itertuples(index=False)])
    ws.set_col_style(11, Style(format=None))
    wb.save(str(path))


def timed(fn, repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _child_run(command: list[str], cwd: str) -> tuple[float, float]:
    """(wall, CPU of the child) of one run of ``command`` in a new process."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   env={**env, "COLUMNS": "80"})  # bytecode cached, as after pip install
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def demo(repeat: int) -> bool:
    """Time ``omplan demo`` (new processes) and its report (warm); True if under target."""
    print(f"demo: the shipped sample plan; median of {max(repeat, 5)} new processes, not "
          "pinned (as a user runs it)")
    imports = ("import omplan.apps.cli, omplan.files.run, omplan.files.report, "
               "omplan.render.xlsx, rich.table")
    with tempfile.TemporaryDirectory(prefix="omplan-bench-demo-") as tmp:
        _child_run([sys.executable, "-m", "omplan", "demo"], tmp)  # bytecode written
        results = {}
        for what, command in (
                ("omplan demo (whole command)", [sys.executable, "-m", "omplan", "demo"]),
                ("of which imports", [sys.executable, "-c", imports])):
            runs = [_child_run(command, tmp) for _ in range(max(repeat, 5))]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            results[what] = wall
            print(f"  demo    {what:44} {wall:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    from omplan.apps.cli import sample_plan_path
    from omplan.files.report import write_report
    from omplan.pipeline import run_plan

    run = run_plan(sample_plan_path())
    run.summary()
    with tempfile.TemporaryDirectory(prefix="omplan-bench-demo-") as tmp:
        path = Path(tmp) / "demo_report.xlsx"
        w, c, _ = timed(lambda: write_report(run, path), max(repeat, 5))
    print(f"  demo    {'its report (layout + write, warm)':44} {w:7.2f} s wall {c:7.2f} s CPU")
    met = w < DEMO_TARGET_S
    whole = results["omplan demo (whole command)"]
    print(f"demo report: {w:.2f} s wall (target < {DEMO_TARGET_S:.0f} s: "
          f"{'met' if met else 'MISSED'}); the whole command {whole:.2f} s, of which "
          f"{results['of which imports']:.2f} s starting Python and importing pandas, numpy, "
          "openpyxl and omplan", flush=True)
    return met


def mid_size(repeat: int, seed: int = 0) -> bool:
    """The report of the mid-size plan as a user gets it (``run --out`` minus ``run --json``,
    new processes) against XlsxWriter on the same cells; True if within the target."""
    import io
    from dataclasses import replace

    pinned = pin_to_one_core()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import write_plan

    from omplan.core.summary import plan_figures
    from omplan.files.report import report_layout
    from omplan.files.run import run_plan
    from omplan.render.xlsx import render_workbook

    lines, scenarios, systems = MID_PLAN
    print(f"mid-size plan: {lines:,} lines, {systems} systems, Baseline + {scenarios} "
          f"scenarios, seed {seed}; {pinned}; median of {repeat}, CPU seconds")
    with tempfile.TemporaryDirectory(prefix="omplan-bench-mid-") as tmp:
        folder = Path(tmp)
        plan_path = write_plan(folder / "mid_plan.xlsx", lines, scenarios, seed, systems)
        env_run = [sys.executable, "-m", "omplan", "run", plan_path.name, "--json", "s.json"]
        _child_run(env_run, tmp)  # bytecode and caches warm
        json_cpu = statistics.median(_child_run(env_run, tmp)[1] for _ in range(repeat))
        out_cpu = statistics.median(_child_run([*env_run, "--out", "r.xlsx"], tmp)[1]
                                    for _ in range(repeat))
        run = run_plan(plan_path)
        assert run.evaluation is not None and run.ok
        evaluation, findings = run.evaluation, run.findings
        print(f"  ledger {len(evaluation.ledger):,} rows")
        _, c_fig, _ = timed(lambda: plan_figures(run.plan, findings, evaluation), repeat)
        _, c_layout, layout = timed(lambda: report_layout(evaluation, input_findings=findings),
                                    repeat)
        _, c_render, _ = timed(lambda: render_workbook(layout, io.BytesIO()), repeat)
        without = replace(layout, sheets=[s for s in layout.sheets if s.name != "Ledger"])
        _, c_fixed, _ = timed(lambda: render_workbook(without, io.BytesIO()), repeat)
        _, c_xw, cells = timed(lambda: xlsxwriter_report(layout, folder / "xw.xlsx", False),
                               max(1, repeat // 2))
    report = out_cpu - json_cpu
    ratio = report / c_xw
    met = ratio <= MID_TARGET_RATIO
    for what, cpu in (("omplan run --json (new process)", json_cpu),
                      ("omplan run --json --out (new process)", out_cpu),
                      ("  the report: --out minus --json", report),
                      ("  in process: plan figures", c_fig),
                      ("  in process: layout (figures included)", c_layout),
                      ("  in process: rendering, every sheet", c_render),
                      ("  in process: rendering, all but the Ledger", c_fixed),
                      (f"XlsxWriter, the same {cells:,} cells", c_xw)):
        print(f"  {what:46} {cpu:7.2f} s CPU")
    print(f"report / XlsxWriter: {ratio:.2f} (target ≤ {MID_TARGET_RATIO}: "
          f"{'met' if met else 'MISSED'})")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--scenarios", type=int, default=10, help="besides Baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="median of N runs of each writer")
    parser.add_argument("--no-openpyxl", action="store_true",
                        help="skip openpyxl's per-cell Ledger (the slowest, ~40 s)")
    parser.add_argument("--keep", type=Path, help="keep the workbooks in this folder")
    parser.add_argument("--strict", action="store_true", help="exit 2 if the target is missed")
    parser.add_argument("--demo-only", action="store_true",
                        help="only time the demo (omplan demo and its report)")
    parser.add_argument("--mid", action="store_true",
                        help="the mid-size plan (2,000 lines, 40 systems, 9 scenarios): "
                             "run --out minus run --json against XlsxWriter")
    args = parser.parse_args(argv)
    if args.mid:
        return 2 if (not mid_size(max(args.repeat, 5), args.seed) and args.strict) else 0

    demo_met = demo(args.repeat)  # as a user runs it: not pinned
    if args.demo_only:
        return 2 if (args.strict and not demo_met) else 0
    pinned = pin_to_one_core()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import openpyxl
    from generate import make_plan

    from omplan.core.engine import evaluate
    from omplan.files.report import report_layout, write_report
    from omplan.input.reader import SheetGrid, parse_plan
    from omplan.pipeline import PlanRun
    from omplan.render.xlsx import render_workbook

    plan, findings = parse_plan({n: SheetGrid(n, rows) for n, rows in
                                 make_plan(args.lines, args.scenarios, args.seed).items()},
                                "bench_plan.xlsx")
    errors = [f for f in findings if f.severity == "error"]
    if plan is None or errors:
        print("the generated plan has errors:", *errors[:5], sep="\n  ")
        return 1
    evaluation = evaluate(plan)
    if not evaluation.ok:
        print("the generated plan does not evaluate:", *evaluation.errors[:5], sep="\n  ")
        return 1
    run = PlanRun(Path("bench_plan.xlsx"), plan, findings, evaluation, from_file=False)

    import xlsxwriter

    print(f"Python {platform.python_version()}, openpyxl {openpyxl.__version__} "
          f"(lxml: {openpyxl.LXML}), XlsxWriter {xlsxwriter.__version__}; {pinned}")
    print(f"plan: {args.lines:,} staffing lines, {len(plan.scenario_names)} scenarios "
          f"(Baseline + {args.scenarios}), seed {args.seed}; "
          f"ledger {len(evaluation.ledger):,} rows; median of {args.repeat}, wall / CPU")
    ledger = evaluation.ledger
    rows: list[tuple[str, str, float, float, str]] = []

    def row(section: str, what: str, wall: float, cpu: float, path: Path) -> None:
        size = f"{path.stat().st_size / 1e6:.1f} MB" if path.exists() else ""
        rows.append((section, what, wall, cpu, size))
        print(f"  {section:7} {what:44} {wall:7.2f} s wall {cpu:7.2f} s CPU  {size}",
              flush=True)

    with tempfile.TemporaryDirectory(prefix="omplan-bench-report-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        w, c, layout = timed(lambda: report_layout(evaluation, input_findings=findings),
                             args.repeat)
        row("report", "omplan layout alone", w, c, Path())
        ours = folder / "omplan_report.xlsx"
        w, c, _ = timed(lambda: write_report(run, ours), args.repeat)
        row("report", "omplan write_report", w, c, ours)
        t_ours = (w, c)
        theirs = folder / "xlsxwriter_report.xlsx"
        w, c, cells = timed(lambda: xlsxwriter_report(layout, theirs, False), args.repeat)
        row("report", "XlsxWriter", w, c, theirs)
        t_xw = (w, c)
        w, c, _ = timed(lambda: xlsxwriter_report(layout, theirs, True), args.repeat)
        row("report", "XlsxWriter constant_memory", w, c, theirs)
        t_xw_cm = (w, c)

        only = ledger_layout(layout)
        path = folder / "ledger_omplan.xlsx"
        w, c, _ = timed(lambda: render_workbook(only, path), args.repeat)
        row("Ledger", "omplan render/fastxml", w, c, path)
        if not args.no_openpyxl:
            path = folder / "ledger_openpyxl.xlsx"
            w, c, _ = timed(lambda: render_workbook(only, path, fast=False), 1)
            row("Ledger", "openpyxl per cell (omplan before; 1 run)", w, c, path)
        path = folder / "ledger_xlsxwriter.xlsx"
        w, c, _ = timed(lambda: xlsxwriter_report(only, path, False), args.repeat)
        row("Ledger", "XlsxWriter", w, c, path)
        w, c, _ = timed(lambda: xlsxwriter_report(only, path, True), args.repeat)
        row("Ledger", "XlsxWriter constant_memory", w, c, path)
        for name, writer in (("rustpy-xlsxwriter (rust_xlsxwriter)", rust_ledger),
                             ("pyexcelerate", pyexcelerate_ledger)):
            path = folder / f"ledger_{name.split()[0]}.xlsx"
            try:
                w, c, _ = timed(lambda writer=writer, path=path: writer(ledger, path),
                                args.repeat)
            except ImportError as exc:
                print(f"  Ledger  {name:44} not installed ({exc})")
                continue
            row("Ledger", name, w, c, path)

    ratio_wall, ratio_cpu = t_ours[0] / t_xw[0], t_ours[1] / t_xw[1]
    met = ratio_cpu <= TARGET_RATIO
    print(f"cells written: {cells:,} on {len(layout.sheets)} sheets")
    print(f"omplan / XlsxWriter: {ratio_wall:.2f} wall, {ratio_cpu:.2f} CPU; "
          f"omplan / XlsxWriter constant_memory: {t_ours[0] / t_xw_cm[0]:.2f} wall, "
          f"{t_ours[1] / t_xw_cm[1]:.2f} CPU  (target ≤ {TARGET_RATIO:.1f}: "
          f"{'met' if met else 'MISSED'})")
    return 2 if (args.strict and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
