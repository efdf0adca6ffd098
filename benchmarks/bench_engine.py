"""Engine and reader benchmark on a large synthetic plan, pinned to one core.

    python benchmarks/bench_engine.py [--lines 10000 --scenarios 20 --seed 0 --repeat 3]

Writes a plan of ``--lines`` staffing lines × ``--scenarios`` scenarios (plus Baseline) to a
temporary directory, checks that it loads without errors, then reports the best of
``--repeat`` runs of:

* ``omplan.engine.evaluate(plan)`` (and the ledger row count) — target ≤ 2 s on one core;
* ``omplan.summary.summary_json`` of that evaluation;
* ``omplan.reader.grids_from_file(path)`` (package safety scan + python-calamine), with the
  scan and the calamine read also timed on their own;
* ``omplan.reader.parse_plan`` of those grids;
* openpyxl read-only iteration of every row of every sheet — the reference: the reader's
  time must be ≤ 0.3× this.

``--scaling`` instead times the engine alone at 1,000 / 10,000 / 100,000 lines (``--sizes``)
× ``--scenarios``, each size in its own process: the median wall and CPU time of
``evaluate`` (targets 10k ≤ 0.8 s, 100k ≤ 5 s), of ``compute_arrays`` + ``totals`` (the path
for callers that need only totals: no DataFrame, no advisories), the ledger rows, the
tracemalloc peak of one ``evaluate`` and the process's peak resident memory (``ru_maxrss``,
plan included; targets 10k ≤ 0.6 GB, 100k ≤ 3 GB).

``--written-back`` reads a plan of 16,000 lines × 11 scenarios that carries, besides its input
sheets, a Ledger sheet part inflating past the 128 MiB member limit (the size a writeback of
that plan adds): ``run_plan`` in a fresh process, its wall and CPU time and peak memory. The
big part is never inflated, so the plan reads as if it were not there.

``--years N`` plans N fiscal years instead of one (the Q1–Q4 FTE and costs repeat each year;
escalation of 3 % in-house, 4 % Outsource, 5 % Offshore and 2 % on other costs; every second
scenario's rows apply from a quarter of the second year, so timed changes and their
transitions are part of the run). With ``--scaling`` each size then runs at one year and at N
years, and the table gives the ratio of the two (target for 10,000 lines × 20 scenarios × 5
years: ≤ 4 s CPU and ≤ 2 GB peak).

``--figures`` times the JSON summary alone: ``plan_figures`` + ``to_json`` of an evaluated
plan of ``--lines`` × ``--scenarios`` × ``--years`` (the engine not timed), the median and best
CPU of ``--repeat`` runs, each with nothing computed before it (target for 10,000 lines × 20
scenarios × 5 years: ≤ 1 s). With ``--against DIR`` (another revision's ``src``, e.g. from
``git worktree``) it times that revision the same way in a child process and checks that
both give the same JSON, byte for byte.

``--strict`` makes a missed target exit with status 2 (for CI); ``--keep DIR`` keeps the
generated workbook there; ``--profile FILE`` also writes a cProfile of one ``evaluate`` run to
FILE and prints its top functions.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENGINE_TARGET_S = 2.0
READ_TARGET_RATIO = 0.3
#: (seconds, GB) for 10,000 lines x 20 scenarios over a multi-year horizon
HORIZON_TARGET = (4.0, 2.0)
#: seconds of CPU for the JSON summary (plan_figures + to_json) of 10,000 x 20 x 5 years
FIGURES_TARGET_S = 1.0


def with_years(plan: Any, years: int) -> Any:
    """``plan`` over ``years`` fiscal years: escalation on every sourcing and on other costs,
    and every second scenario's rows timed (From a quarter of the second year)."""
    import dataclasses

    from omplan.core.model import OTHER_COSTS, Escalation

    if years <= 1:
        return plan
    plan = dataclasses.replace(plan)
    plan.settings = dataclasses.replace(plan.settings, horizon_years=years)
    plan.escalation = [Escalation("In-house", "", 0.03), Escalation("Outsource", "", 0.04),
                       Escalation("Offshore", "", 0.05), Escalation(OTHER_COSTS, "", 0.02)]
    names = plan.scenario_names
    plan.scenario_changes = [
        dataclasses.replace(c, start=4 + names.index(c.scenario) % 4)
        if names.index(c.scenario) % 2 == 0 else c for c in plan.scenario_changes]
    return plan


def pin_to_one_core() -> str:
    """Pin this process to CPU 0 before numpy/BLAS start their threads."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {0})
            return "pinned to CPU 0"
        except OSError as exc:  # e.g. CPU 0 not in the allowed set
            return f"not pinned ({exc})"
    return "not pinned (no sched_setaffinity on this platform)"


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def openpyxl_iterate(path: Path) -> int:
    """Read every row's values of every sheet with openpyxl read-only; returns the cell count."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        cells = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
        return cells
    finally:
        wb.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--years", type=int, default=1,
                        help="fiscal years of the horizon (escalation and timed changes too)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated workbook in this folder")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--profile", type=Path, help="write a cProfile of evaluate() here")
    parser.add_argument("--scaling", action="store_true",
                        help="time the engine alone at --sizes lines, one process per size")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--written-back", action="store_true",
                        help="read a 16,000 x 11 plan carrying a > 128 MiB Ledger part")
    parser.add_argument("--figures", action="store_true",
                        help="time the JSON summary alone (plan_figures + to_json)")
    parser.add_argument("--against", type=Path,
                        help="with --figures: another revision's src folder to compare with")
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.written_back:
        return written_back_read(args.seed)
    if args.figures:
        return figures_bench(args)
    if args.child is not None:
        return engine_child(args.child, args.scenarios, args.seed, args.repeat, args.years)
    if args.scaling:
        return engine_scaling([int(x) for x in args.sizes.split(",")], args.scenarios,
                              args.seed, args.repeat, args.strict, args.years)

    pinning = pin_to_one_core()
    # heavy imports only after pinning, so BLAS/pandas see a single CPU
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import write_plan

    from omplan.core.engine import evaluate
    from omplan.core.summary import summary_json
    from omplan.input.package import scan_workbook
    from omplan.input.reader import grids_from_file, load_plan, parse_plan

    print(f"omplan benchmark: {args.lines} lines x {args.scenarios} scenarios x {args.years} "
          f"year(s), seed {args.seed}, best of {args.repeat}; {pinning}; Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory(prefix="omplan-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{args.lines}x{args.scenarios}.xlsx"
        start = time.perf_counter()
        write_plan(path, args.lines, args.scenarios, args.seed)
        print(f"generated {path.name}: {path.stat().st_size / 1e6:.2f} MB in "
              f"{time.perf_counter() - start:.2f} s")

        plan, findings = load_plan(path)
        errors = [f for f in findings if f.severity == "error"]
        if plan is None or errors:
            print("the generated plan is not valid:", file=sys.stderr)
            for f in errors or findings:
                print(f"  {f.severity} {f.code} {f.location}: {f.message}", file=sys.stderr)
            return 1
        plan = with_years(plan, args.years)
        warnings = [f for f in findings if f.severity != "error"]
        if warnings:
            print(f"note: the plan loads with {len(warnings)} warning(s), e.g. "
                  f"{warnings[0].code}: {warnings[0].message}")

        t_eval, evaluation = best_of(args.repeat, lambda: evaluate(plan))
        if evaluation.errors:
            print("the engine reported errors:", file=sys.stderr)
            for f in evaluation.errors:
                print(f"  {f.code} {f.location}: {f.message}", file=sys.stderr)
            return 1
        ledger_rows = len(evaluation.ledger)
        t_summary, summary = best_of(
            args.repeat, lambda: summary_json(plan, findings, evaluation, path.name))
        n_findings = sum(len(v) for v in evaluation.scenario_findings.values())

        t_read, grids = best_of(args.repeat, lambda: grids_from_file(path))
        t_scan, _ = best_of(args.repeat, lambda: scan_workbook(path))
        t_calamine, _ = best_of(args.repeat, lambda: _calamine_only(path))
        t_parse, _ = best_of(args.repeat, lambda: parse_plan(grids, path.name))
        t_openpyxl, cells = best_of(args.repeat, lambda: openpyxl_iterate(path))

    ratio = t_read / t_openpyxl
    rows = [
        ("engine: evaluate(plan)", t_eval, f"≤ {ENGINE_TARGET_S:g} s",
         "ok" if t_eval <= ENGINE_TARGET_S else "MISSED"),
        ("summary: summary_json", t_summary, "", ""),
        ("read: grids_from_file", t_read, f"≤ {READ_TARGET_RATIO:g}× openpyxl",
         "ok" if ratio <= READ_TARGET_RATIO else "MISSED"),
        ("  of which scan_workbook", t_scan, "", ""),
        ("  of which calamine to_python", t_calamine, "", ""),
        ("parse: parse_plan(grids)", t_parse, "", ""),
        ("openpyxl read-only iteration", t_openpyxl, "(reference)", ""),
    ]
    print()
    print(f"{'measure':<32} {'best s':>8}  {'target':<20} status")
    print(f"{'-' * 32} {'-' * 8}  {'-' * 20} ------")
    for name, seconds, target, status in rows:
        print(f"{name:<32} {seconds:>8.3f}  {target:<20} {status}")
    print()
    print(f"ledger rows: {ledger_rows:,}; scenarios: {len(evaluation.scenarios)}; "
          f"advisory findings: {n_findings:,}; summary scenarios: {len(summary['scenarios'])}")
    print(f"reader / openpyxl: {ratio:.3f} (target ≤ {READ_TARGET_RATIO:g}); "
          f"openpyxl cells iterated: {cells:,}")
    print(f"load (read + parse): {t_read + t_parse:.3f} s; "
          f"load + evaluate + summary: {t_read + t_parse + t_eval + t_summary:.3f} s")

    if args.profile:
        profile_evaluate(evaluate, plan, args.profile)

    missed = t_eval > ENGINE_TARGET_S or ratio > READ_TARGET_RATIO
    return 2 if (missed and args.strict) else 0


def figures_bench(args: argparse.Namespace) -> int:
    """``--figures``: the JSON summary of an evaluated plan, timed alone (see the module)."""
    import hashlib
    import json
    import statistics
    import subprocess

    pinning = pin_to_one_core()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import make_plan

    from omplan.core.engine import evaluate
    from omplan.core.summary import plan_figures
    from omplan.input.reader import SheetGrid, parse_plan

    plan, findings = parse_plan({n: SheetGrid(n, rows) for n, rows in
                                 make_plan(args.lines, args.scenarios, args.seed).items()},
                                "bench.xlsx")
    assert plan is not None
    plan = with_years(plan, args.years)
    evaluation = evaluate(plan)
    assert evaluation.ok, evaluation.errors[:3]
    cpus, walls, summary = [], [], None
    for _ in range(args.repeat):
        summary = None
        for cache in ("figures_cache", "rows_cache"):  # revisions before these went
            getattr(evaluation, cache, []).clear()
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        summary = plan_figures(plan, findings, evaluation).to_json()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    text = json.dumps(summary, ensure_ascii=False).encode("utf-8")
    result = {"cpu": statistics.median(cpus), "best": min(cpus),
              "wall": statistics.median(walls), "rows": len(evaluation.ledger),
              "sha256": hashlib.sha256(text).hexdigest()}
    if args.out is not None:  # a child timing another revision
        args.out.write_text(json.dumps(result))
        return 0
    size = f"{args.lines:,} lines x {args.scenarios} scenarios x {args.years} year(s)"
    print(f"JSON summary (plan_figures + to_json), {size}, seed {args.seed}: "
          f"{result['rows']:,} ledger rows; median of {args.repeat}; {pinning}")
    rows = [("this revision", result)]
    if args.against is not None:
        with tempfile.TemporaryDirectory(prefix="omplan-bench-figures-") as tmp:
            out = Path(tmp) / "other.json"
            subprocess.run([sys.executable, __file__, "--figures", "--lines", str(args.lines),
                            "--scenarios", str(args.scenarios), "--seed", str(args.seed),
                            "--years", str(args.years), "--repeat", str(args.repeat),
                            "--out", str(out)], check=True,
                           env={**os.environ, "PYTHONPATH": str(args.against)})
            rows.append((str(args.against), json.loads(out.read_text())))
    for name, r in rows:
        print(f"  {name:40} CPU median {r['cpu']:6.3f} s, best {r['best']:6.3f} s; "
              f"wall {r['wall']:6.3f} s; JSON sha256 {r['sha256'][:12]}")
    if len(rows) == 2:
        same = rows[0][1]["sha256"] == rows[1][1]["sha256"]
        print(f"  the same JSON, byte for byte: {'yes' if same else 'NO'}; speed-up "
              f"{rows[1][1]['cpu'] / rows[0][1]['cpu']:.1f}x")
    target = args.lines == 10_000 and args.scenarios == 20 and args.years == 5
    met = result["cpu"] <= FIGURES_TARGET_S
    if target:
        print(f"target ≤ {FIGURES_TARGET_S:g} s CPU: {'met' if met else 'MISSED'}")
    return 2 if (args.strict and target and not met) else 0


def profile_evaluate(evaluate: Callable[[Any], Any], plan: Any, out: Path) -> None:
    """cProfile one evaluate run into ``out`` and print the top functions by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(evaluate, plan)
    profiler.dump_stats(out)
    print(f"\ncProfile of evaluate() written to {out}; top 15 by cumulative time:")
    pstats.Stats(profiler).strip_dirs().sort_stats("cumulative").print_stats(15)


SCALING_TARGETS = {10_000: (0.8, 0.6), 100_000: (5.0, 3.0)}  # lines: (seconds, GB)


def engine_child(lines: int, scenarios: int, seed: int, repeat: int, years: int = 1) -> int:
    """One size of ``--scaling``, in its own process: prints one JSON line."""
    import json
    import resource
    import statistics
    import tracemalloc

    pin_to_one_core()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import make_plan

    from omplan.core.engine import compute_arrays, evaluate, totals
    from omplan.input.reader import SheetGrid, parse_plan

    plan, _ = parse_plan({n: SheetGrid(n, rows) for n, rows in
                          make_plan(lines, scenarios, seed).items()}, "bench.xlsx")
    assert plan is not None
    plan = with_years(plan, years)

    def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
        walls, cpus, result = [], [], None
        for _ in range(repeat):
            result = None
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            result = fn()
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        return statistics.median(walls), statistics.median(cpus), result

    w, c, evaluation = timed(lambda: evaluate(plan))
    assert evaluation.ok, evaluation.errors[:3]
    rows = len(evaluation.ledger)
    del evaluation
    wt, ct, _ = timed(lambda: totals(compute_arrays(plan)))
    gc.collect()
    tracemalloc.start()
    evaluate(plan)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"lines": lines, "years": years, "wall": w, "cpu": c, "totals_wall": wt,
                      "totals_cpu": ct, "rows": rows, "traced": peak, "rss": rss}))
    return 0


def engine_scaling(sizes: list[int], scenarios: int, seed: int, repeat: int,
                   strict: bool, years: int = 1) -> int:
    """The engine alone at several sizes, each in a fresh process (peak memory per size);
    with ``years`` > 1 each size at one year and at ``years``, with their ratio."""
    import json
    import subprocess

    print(f"engine scaling: × {scenarios} scenarios (plus Baseline), seed {seed}, median of "
          f"{repeat}, one process per size pinned to CPU 0; Python "
          f"{platform.python_version()}")
    print(f"{'lines':>8} {'years':>5} {'ledger rows':>12} {'evaluate wall':>14} {'CPU':>7} "
          f"{'totals-only CPU':>16} {'traced peak':>12} {'peak RSS':>9}  target")
    missed = False
    for lines in sizes:
        one = None
        for n_years in ([1, years] if years > 1 else [1]):
            done = subprocess.run([sys.executable, __file__, "--child", str(lines),
                                   "--scenarios", str(scenarios), "--seed", str(seed),
                                   "--repeat", str(repeat), "--years", str(n_years)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{lines:>8} {n_years:>5} failed: "
                      f"{done.stderr.strip().splitlines()[-1:]}")
                missed = True
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            target = SCALING_TARGETS.get(lines) if n_years == 1 else (
                HORIZON_TARGET if lines == 10_000 and scenarios == 20 else None)
            verdict = ""
            if target:
                ok = r["cpu"] <= target[0] and r["rss"] <= target[1] * 1e9
                missed |= not ok
                verdict = f"≤ {target[0]:g} s, ≤ {target[1]:g} GB: {'ok' if ok else 'MISSED'}"
            if n_years == 1:
                one = r
            elif one is not None:
                verdict += (f"  ({r['cpu'] / one['cpu']:.1f}× the CPU, "
                            f"{r['rss'] / one['rss']:.1f}× the RSS of one year)")
            print(f"{lines:>8,} {n_years:>5} {r['rows']:>12,} {r['wall']:>12.2f} s "
                  f"{r['cpu']:>5.2f} s {r['totals_cpu']:>14.2f} s "
                  f"{r['traced'] / 1e9:>9.2f} GB {r['rss'] / 1e9:>6.2f} GB  {verdict}",
                  flush=True)
    return 2 if (missed and strict) else 0


_RUN_AND_MEASURE = """
import json, resource, sys, time
start, cpu = time.perf_counter(), time.process_time()
from omplan.files.run import run_plan
run = run_plan(sys.argv[1])
print(json.dumps({"ok": run.ok, "wall": time.perf_counter() - start,
                  "cpu": time.process_time() - cpu, "errors": [str(e) for e in run.errors[:3]],
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def written_back_read(seed: int) -> int:
    """A plan plus a Ledger part past the member limit, read by ``run_plan``."""
    import json
    import subprocess
    import zipfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import write_plan

    from omplan.input.package import MAX_MEMBER_INFLATED

    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with tempfile.TemporaryDirectory(prefix="omplan-bench-wb-") as tmp:
        plan = write_plan(Path(tmp) / "plan.xlsx", 16_000, 10, seed)
        big = Path(tmp) / "written_back.xlsx"
        part = "xl/worksheets/sheet_ledger.xml"
        with zipfile.ZipFile(plan) as zin, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=1) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == "xl/workbook.xml":
                    data = data.replace(b"</sheets>", (
                        f'<sheet xmlns:r="{rel_ns}" name="Ledger" sheetId="999" '
                        'r:id="rIdLedger"/></sheets>').encode())
                elif info.filename == "xl/_rels/workbook.xml.rels":
                    data = data.replace(b"</Relationships>", (
                        f'<Relationship Id="rIdLedger" Type="{rel_ns}/worksheet" '
                        'Target="worksheets/sheet_ledger.xml"/></Relationships>').encode())
                zout.writestr(info, data)
            with zout.open(part, "w", force_zip64=True) as out:
                out.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                          b'spreadsheetml/2006/main"><sheetData>')
                r, written = 1, 0
                while written <= MAX_MEMBER_INFLATED + (8 << 20):
                    chunk = "".join(
                        f'<row r="{i}"><c r="A{i}" t="s"><v>0</v></c><c r="K{i}" s="1">'
                        f"<v>{i * 1.1!r}</v></c></row>" for i in range(r, r + 50_000)).encode()
                    out.write(chunk)
                    written += len(chunk)
                    r += 50_000
                out.write(b"</sheetData></worksheet>")
            inflated = zout.getinfo(part).file_size
        print(f"plan: 16,000 lines x 11 scenarios + a Ledger part of {inflated / 2**20:,.0f} "
              f"MiB inflated (limit {MAX_MEMBER_INFLATED / 2**20:,.0f} MiB per part read); "
              f"file {big.stat().st_size / 1e6:.1f} MB")
        for name, path in (("plan alone", plan), ("plan + big Ledger part", big)):
            done = subprocess.run([sys.executable, "-c", _RUN_AND_MEASURE, str(path)],
                                  capture_output=True, text=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  run_plan {name:24} ok={r['ok']}  {r['wall']:6.2f} s wall  "
                  f"{r['cpu']:6.2f} s CPU  peak RSS {r['rss'] / 1e9:.2f} GB")
    return 0


def _calamine_only(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(os.fspath(path))
    return sum(len(wb.get_sheet_by_name(n).to_python(skip_empty_area=False))
               for n in wb.sheet_names)


if __name__ == "__main__":
    sys.exit(main())
