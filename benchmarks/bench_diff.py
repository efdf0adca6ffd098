"""Plan versions and the TBM export on large synthetic plans, pinned to one core.

    python benchmarks/bench_diff.py [--lines 10000 --scenarios 20 --seed 0 --repeat 3]
    python benchmarks/bench_diff.py --every-category      # a change in every input category

Writes OLD, a plan of ``--lines`` staffing lines × ``--scenarios`` scenarios
(``benchmarks/generate.py``), and NEW, the same plan with the edits of a realistic second
version: a vendor's counter-offer (its Outsource rates +4 %), headcount cuts (every 50th staffing
line's Q3 and Q4 FTE −20 %) and one scenario row changed. With ``--every-category`` NEW also
changes a setting, an FX rate, an escalation rate, an allocation row and a cost row, so the bridge
evaluates a plan for every one of its eight categories (the worst case).

Reports the best of ``--repeat`` runs (wall and CPU time, ``time.process_time``) of:

* ``omplan.input.versions.compare_plans(OLD, NEW)``: both files read and checked, fingerprints,
  change log and bridge — target ≤ 5 s for two 10,000-line plans;
* its parts: reading both files (package scan + python-calamine), the records, fingerprints and
  change log of two parsed plans, and the bridge alone given both evaluations;
* the TBM export of OLD: ``tbm_frame`` (ledger -> classified rows) and the CSV written to disk,
  with its rows and size.

``--strict`` exits 2 when the diff target is missed; ``--keep DIR`` keeps the workbooks.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIFF_TARGET_S = 5.0


def pin_to_one_core() -> str:
    """Pin this process to CPU 0 before numpy starts its threads."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {0})
            return "pinned to CPU 0"
        except OSError as exc:
            return f"not pinned ({exc})"
    return "not pinned (no sched_setaffinity on this platform)"


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(best wall time, CPU time of that run, last result) of ``repeat`` calls."""
    best: tuple[float, float] = (float("inf"), 0.0)
    result = None
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        took = (time.perf_counter() - wall, time.process_time() - cpu)
        best = min(best, took)
    return best[0], best[1], result


def second_version(plan: dict[str, list[list[Any]]], every_category: bool
                   ) -> dict[str, list[list[Any]]]:
    """NEW: the edits of a realistic second version of ``plan`` (generate.make_plan's shape)."""
    new = copy.deepcopy(plan)
    for row in new["Rates"][1:]:  # the vendor's counter-offer
        if row[1] == "Outsource":
            row[2] = round(row[2] * 1.04)
    for i, row in enumerate(new["Staffing"][1:]):  # headcount cuts in the second half-year
        if i % 50 == 49:
            row[6:8] = [None if v is None else round(v * 0.8, 2) for v in row[6:8]]
    for row in new["Scenarios"][1:]:
        if row[3] == "fte_factor":
            row[4] = 0.7
            break
    if every_category:
        new["Settings"].append(["discount_rate", 0.07])
        new["Escalation"] = [["Applies to", "Vendor", "Annual rate"], ["Outsource", None, 0.03]]
        plan["Escalation"] = [["Applies to", "Vendor", "Annual rate"], ["Outsource", None, 0.02]]
        for sheets, rate in ((plan, 0.0121), (new, 0.0118)):
            sheets["FX"] = [["Currency", "Fiscal year", "Rate"], ["INR", None, rate]]
        allocation = new["Allocation"][1]
        shares = [i for i, v in enumerate(allocation) if i and v]
        if len(shares) >= 2:
            moved = min(allocation[shares[0]], 0.125)
            allocation[shares[0]] -= moved
            allocation[shares[1]] += moved
        new["Costs"][1][3] = (new["Costs"][1][3] or 0) + 1000
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--every-category", action="store_true")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    pinned = pin_to_one_core()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import make_plan

    from omplan.core.records import plan_records
    from omplan.core.tbm import tbm_frame
    from omplan.core.versions import change_log, fingerprint
    from omplan.files.sample import write_plan_workbook
    from omplan.files.tbm import write_tbm_csv
    from omplan.input.reader import load_plan, read_grids
    from omplan.input.tbm import load_taxonomy
    from omplan.input.versions import _evaluate_grids, compare_plans, version_bridge

    folder = args.keep or Path(tempfile.mkdtemp(prefix="omplan_bench_diff_"))
    folder.mkdir(parents=True, exist_ok=True)
    old_plan = make_plan(args.lines, args.scenarios, args.seed)
    new_plan = second_version(old_plan, args.every_category)
    old_path, new_path = folder / "plan_v1.xlsx", folder / "plan_v2.xlsx"
    write_plan_workbook(old_plan, old_path)
    write_plan_workbook(new_plan, new_path)
    print(f"omplan diff and TBM export, {args.lines:,} staffing lines x {args.scenarios} "
          f"scenarios (seed {args.seed}), {pinned}, best of {args.repeat}")
    edits = "every input category" if args.every_category else \
        "Rates, Staffing and Scenarios"
    print(f"NEW changes {edits}")

    wall, cpu, result = best_of(args.repeat, lambda: compare_plans(old_path, new_path))
    if not result.ok:
        print("\n".join(result.error_lines()))
        return 1
    comparison = result.comparison
    steps = comparison.bridge.steps
    moved = sum(1 for s in steps if any(a.total for a in s.scenarios.values()))
    print(f"  compare_plans                 {wall:7.2f} s wall {cpu:7.2f} s CPU  "
          f"(target <= {DIFF_TARGET_S:.0f} s; {len(comparison.changes):,} changes, "
          f"{moved} of {len(steps)} steps move a figure) "
          f"{'OK' if cpu <= DIFF_TARGET_S else 'MISSED'}")

    w, c, grids = best_of(args.repeat, lambda: (read_grids(old_path)[0],
                                                read_grids(new_path)[0]))
    print(f"    read both files             {w:7.2f} s wall {c:7.2f} s CPU")
    plans = [load_plan(p)[0] for p in (old_path, new_path)]
    assert plans[0] is not None and plans[1] is not None

    def records_part() -> int:
        a, b = plan_records(plans[0]), plan_records(plans[1])
        fingerprint(a), fingerprint(b)
        return len(change_log(a, b))

    w, c, _ = best_of(args.repeat, records_part)
    print(f"    records, fingerprints, log  {w:7.2f} s wall {c:7.2f} s CPU")
    evaluations = [_evaluate_grids(g, n)[0] for g, n in zip(grids, ("v1", "v2"), strict=True)]
    assert evaluations[0] is not None and evaluations[1] is not None
    w, c, bridge = best_of(args.repeat, lambda: version_bridge(
        grids[0], grids[1], evaluations[0], evaluations[1]))
    print(f"    bridge (OLD, NEW evaluated) {w:7.2f} s wall {c:7.2f} s CPU  "
          f"({bridge.plans_evaluated} plans in between evaluated)")

    taxonomy = load_taxonomy("4.1")
    w, c, frame = best_of(args.repeat, lambda: tbm_frame(evaluations[0], taxonomy))
    print(f"  TBM export: tbm_frame         {w:7.2f} s wall {c:7.2f} s CPU  "
          f"({len(frame):,} rows from {len(evaluations[0].ledger):,} ledger rows)")
    target = folder / "tbm.csv"
    w, c, _ = best_of(1, lambda: write_tbm_csv(frame, target))
    print(f"  TBM export: CSV written       {w:7.2f} s wall {c:7.2f} s CPU  "
          f"({target.stat().st_size / 1e6:,.0f} MB)")
    if args.keep is None:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    return 2 if args.strict and cpu > DIFF_TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
