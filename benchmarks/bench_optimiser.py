"""Optimiser benchmark: the sample plan with its Options, and a large synthetic plan.

    python benchmarks/bench_optimiser.py [--lines 1000 --years 3 --seed 0 --strict]

* the shipped sample plan with the sample's Options sheet, vendor capacity and transition
  budget (``omplan.files.sample_options``) — target ≤ 1 s;
* a ``--lines`` plan from ``benchmarks/generate.py`` over ``--years`` fiscal years (escalation
  on every sourcing, the move from Q3 of the first year) with 4 Options rows that every line
  may take (Outsource to Acme or Northwind, Offshore to Bangalore, In-house), a capacity on
  Bangalore, a transition budget and an in-house share — target ≤ 10 s.

Each run prints the status, the NPV of cost and savings, the lines moved, the mixes the
engine checked, the linear models solved, the mixes cut off and the band refinements, with
wall and CPU time (``time.process_time``: the figure to compare on a shared machine). The
process is pinned to one core, as the other benchmarks. ``--strict`` exits with status 2
when a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

SAMPLE_TARGET_S = 1.0
LARGE_TARGET_S = 10.0


def sample_plan() -> Any:
    """The sample plan with its optimiser inputs, read as a workbook would be."""
    from omplan.files.sample import SAMPLE_PLAN
    from omplan.files.sample_options import with_optimiser_inputs
    from omplan.input.options import read_optimiser_inputs
    from omplan.input.reader import SheetGrid, parse_plan

    grids = {name: SheetGrid(name, rows)
             for name, rows in with_optimiser_inputs(SAMPLE_PLAN).items()}
    plan, findings = parse_plan(grids, "sample_plan.xlsx")
    assert plan is not None, findings
    plan, findings = read_optimiser_inputs(grids, plan)
    assert not findings, findings
    return plan


def large_plan(lines: int, years: int, seed: int) -> Any:
    """A generated plan of ``lines`` Staffing lines over ``years`` years with 4 options."""
    from generate import make_plan

    from omplan.core.model import OTHER_COSTS, Escalation, OptionRow
    from omplan.input.reader import SheetGrid, parse_plan

    sheets = make_plan(lines, 0, seed)
    sheets["Settings"] += [["horizon_years", years], ["optimise_from", "Q3"],
                           ["transition_budget", 150_000 * max(1, lines // 100)],
                           ["min_inhouse_share", 0.1]]
    grids = {name: SheetGrid(name, rows) for name, rows in sheets.items()}
    plan, findings = parse_plan(grids, "generated.xlsx")
    assert plan is not None, findings
    plan.escalation = [Escalation("In-house", "", 0.03), Escalation("Outsource", "", 0.04),
                       Escalation("Offshore", "", 0.05), Escalation(OTHER_COSTS, "", 0.02)]
    plan.options = [OptionRow("*", "*", "Outsource", "Acme Managed Services"),
                    OptionRow("*", "*", "Offshore", "Bangalore Dev Center"),
                    OptionRow("*", "*", "In-house"),
                    OptionRow("*", "*", "Outsource", "Northwind IT Services")]
    key = "bangalore dev center"
    plan.contracts[key] = dataclasses.replace(plan.contracts[key], max_fte=lines / 10)
    return plan


def run(label: str, plan: Any, target: float) -> bool:
    from omplan.core.optimiser import optimise

    n_choices = 0
    wall, cpu = time.perf_counter(), time.process_time()
    result = optimise(plan)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    from omplan.core.optimiser import line_choices

    n_choices = sum(len(c) for c in line_choices(plan)[1])
    ok = cpu <= target
    cost = "–" if result.npv_cost is None else f"{result.npv_cost:,.0f}"
    savings = "–" if result.npv_savings is None else f"{result.npv_savings:,.0f}"
    print(f"{label}: {len(plan.staffing):,} lines, {n_choices:,} (line, choice) pairs, "
          f"{plan.settings.horizon_years} years")
    print(f"  status {result.status}, NPV of cost {cost}, savings {savings}, "
          f"{len(result.changes)} lines moved, binding {list(result.binding)}")
    print(f"  engine checks {result.candidates_checked}, linear models solved "
          f"{result.solves}, mixes cut off {result.cuts}, band refinements "
          f"{result.refinements}")
    print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s (target ≤ {target:g} s CPU, "
          f"{cpu / target:.2f} of it): {'ok' if ok else 'MISSED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    from bench_engine import pin_to_one_core

    print(pin_to_one_core())
    import scipy.optimize  # noqa: F401  (imported once, outside the timings)

    ok = run("sample plan", sample_plan(), SAMPLE_TARGET_S)
    ok &= run("generated plan", large_plan(args.lines, args.years, args.seed), LARGE_TARGET_S)
    if args.strict and not ok:
        sys.exit(2)


if __name__ == "__main__":
    main()
