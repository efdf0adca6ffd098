"""Report-writing benchmark: omplan's report workbook against XlsxWriter writing the same cells.

    python benchmarks/bench_report.py [--lines 2000 --scenarios 10 --seed 0 --repeat 1]

Generates a plan with ``benchmarks/generate.py`` (``--scenarios`` besides Baseline), checks
and evaluates it (not timed), then times, in this one run and on one pinned core:

* omplan: ``omplan.report.write_report`` — layout, openpyxl rendering (write-only mode, lxml),
  deterministic zip and atomic replace; the layout alone is timed as well;
* XlsxWriter (``constant_memory=True``): the same sheets with the same cell values and number
  formats taken from the same layout, without charts, tables or conditional formats.

Prints both times and their ratio; the target is omplan ≤ 2.0 × XlsxWriter. ``--strict`` exits
with status 2 when it is missed; ``--keep DIR`` keeps both workbooks there.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 2.0


def pin_to_one_core() -> str:
    """Pin this process to CPU 0 so that both writers run under the same conditions."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {0})
            return "pinned to CPU 0"
        except OSError as exc:
            return f"not pinned ({exc})"
    return "not pinned (no sched_setaffinity on this platform)"


def xlsxwriter_report(layout: Any, path: Path) -> int:
    """Write every cell of ``layout`` with XlsxWriter in constant-memory mode; returns the
    number of cells written. Styles become XlsxWriter formats with the same look."""
    import xlsxwriter

    from omplan.render.xlsx import _grid  # the same cells the openpyxl renderer writes

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
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


def timed(fn) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--scenarios", type=int, default=10, help="besides Baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs of each writer")
    parser.add_argument("--keep", type=Path, help="keep the two workbooks in this folder")
    parser.add_argument("--strict", action="store_true", help="exit 2 if the target is missed")
    args = parser.parse_args(argv)

    pinned = pin_to_one_core()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import openpyxl
    from generate import make_plan

    from omplan.core.engine import evaluate
    from omplan.files.report import report_layout, write_report
    from omplan.input.reader import SheetGrid, parse_plan

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

    import xlsxwriter

    print(f"Python {platform.python_version()}, openpyxl {openpyxl.__version__} "
          f"(lxml: {openpyxl.LXML}), XlsxWriter {xlsxwriter.__version__}; {pinned}")
    print(f"plan: {args.lines:,} staffing lines, {len(plan.scenario_names)} scenarios "
          f"(Baseline + {args.scenarios}), seed {args.seed}; "
          f"ledger {len(evaluation.ledger):,} rows")

    with tempfile.TemporaryDirectory(prefix="omplan-bench-report-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ours, theirs = folder / "omplan_report.xlsx", folder / "xlsxwriter_report.xlsx"
        t_layout, layout = min((timed(lambda: report_layout(evaluation, input_findings=findings))
                                for _ in range(args.repeat)), key=lambda x: x[0])
        t_ours = min(timed(lambda: write_report(evaluation, ours, input_findings=findings))[0]
                     for _ in range(args.repeat))
        t_theirs, cells = min((timed(lambda: xlsxwriter_report(layout, theirs))
                               for _ in range(args.repeat)), key=lambda x: x[0])
        size_ours, size_theirs = ours.stat().st_size, theirs.stat().st_size

    ratio = t_ours / t_theirs
    met = ratio <= TARGET_RATIO
    print(f"cells written: {cells:,} on {len(layout.sheets)} sheets")
    print(f"omplan write_report : {t_ours:8.2f} s  (layout {t_layout:.2f} s, rendering and "
          f"saving {t_ours - t_layout:.2f} s)  {size_ours / 1e6:.1f} MB")
    print(f"XlsxWriter          : {t_theirs:8.2f} s  (constant_memory, same cells, no charts) "
          f" {size_theirs / 1e6:.1f} MB")
    print(f"ratio omplan / XlsxWriter: {ratio:.2f}  (target ≤ {TARGET_RATIO:.1f}: "
          f"{'met' if met else 'MISSED'})")
    return 2 if (args.strict and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
