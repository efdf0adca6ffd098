"""Monte Carlo benchmark: the risk engine against calling the engine once per draw.

    python benchmarks/bench_risk.py [--part sample|big|dask|all] [--repeat 3]

``sample``: 10,000 draws of the shipped sample plan (five scenarios, three fiscal years) with
the sample's Risks rows, in this process: the wall and CPU time of the whole run (engine once,
tornado, draws, statistics; targets ≤ 3 s wall and ≤ 0.05× the engine per draw), against
``evaluate()`` timed over a few hundred calls and extrapolated to 10,000 (and, for scale,
``evaluate()`` plus the figures a draw needs, ``plan_figures``). Prints the risk table as the
terminal would (P10 / P50 / P90 of NPV of savings, chance of saving).

``big``: 10,000 and 100,000 draws of a 1,000-line plan (``generate.make_plan``, five scenarios,
three years with escalation and timed changes), each in a fresh process: wall and CPU time,
the tracemalloc peak and the peak resident memory. Memory stays bounded: blocks of draws are
streamed; only the per-draw results (scenarios × draws × 5 numbers) grow with the draws.

``dask``: 1,000,000 draws of the sample on a 2-worker ``distributed.LocalCluster`` and in this
process: both times, and whether every figure is equal bit for bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "src" / "omplan" / "data" / "sample_plan.xlsx"
#: Risks rows for the generated plan: every driver kind on the names generate.py uses.
BIG_RISKS = [
    ["Driver", "Applies to", "Low", "Likely", "High", "Distribution"],
    ["Rate", "*", 0.95, 1.0, 1.08, "PERT"],
    ["Rate", "Offshore", 0.9, 1.0, 1.25, "PERT"],
    ["Rate", "Acme Managed Services", 0.95, 1.0, 1.15, "Triangular"],
    ["FTE", "*", 0.95, 1.0, 1.1, "Uniform"],
    ["Other costs", "*", 0.9, 1.0, 1.3, "PERT"],
    ["Transition", "*", 0.9, 1.0, 2.65, "PERT"],
    ["Escalation", "In-house", 0.021, 0.03, 0.057, "PERT"],
    ["Escalation", "Offshore", 0.04, 0.05, 0.10, "PERT"],
    ["Escalation", "Other costs", 0.0, 0.02, 0.04, "PERT"],
    ["Vendor overhead", "*", 0.045, 0.10, 0.15, "PERT"],
]


def sample_plan(draws: int) -> Any:
    from omplan.files.sample_risks import SAMPLE_RISKS
    from omplan.input.reader import load_plan
    from omplan.input.risks import RiskTargets, read_risks
    from omplan.input.tables import SheetGrid

    plan, findings = load_plan(SAMPLE)
    assert plan is not None, findings
    plan.risks, found = read_risks(SheetGrid("Risks", SAMPLE_RISKS), RiskTargets.of_plan(plan))
    assert not found, found
    plan.settings = dataclasses.replace(plan.settings, risk_draws=draws)
    return plan


def big_plan(lines: int, scenarios: int) -> Any:
    sys.path.insert(0, str(HERE))
    from bench_engine import with_years
    from generate import make_plan

    from omplan.input.reader import parse_plan
    from omplan.input.risks import RiskTargets, read_risks
    from omplan.input.tables import SheetGrid

    sheets = make_plan(lines, scenarios, seed=0)
    plan, findings = parse_plan({n: SheetGrid(n, rows) for n, rows in sheets.items()}, "big")
    assert plan is not None, [f for f in findings if f.severity == "error"]
    plan = with_years(plan, 3)
    plan.risks, found = read_risks(SheetGrid("Risks", BIG_RISKS), RiskTargets.of_plan(plan))
    assert not [f for f in found if f.severity == "error"], found
    return plan


def timed(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def risk_table(figures: Any, currency: str) -> str:
    """One line per scenario, as the terminal prints it."""
    lines = [f"{'Scenario':<20} {'NPV of savings (' + currency + ')':>44}  chance of saving",
             f"{'':<20} {'P10':>14} {'P50':>14} {'P90':>14}"]
    for s in figures.scenarios:
        if s.npv_savings is None:
            continue
        lines.append(f"{s.name:<20} {s.npv_savings.p10:>14,.0f} {s.npv_savings.p50:>14,.0f} "
                     f"{s.npv_savings.p90:>14,.0f}  {s.p_savings:>8.0%}")
    return "\n".join(lines)


def part_sample(repeat: int, engine_calls: int) -> None:
    from omplan.core.engine import evaluate
    from omplan.core.risk import run_risk
    from omplan.core.summary import plan_figures

    draws = 10_000
    plan = sample_plan(draws)
    evaluation = evaluate(plan)
    best_wall = best_cpu = float("inf")
    figures = None
    for _ in range(repeat):
        wall, cpu, figures = timed(lambda: run_risk(plan))
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    run_risk(plan, evaluation)  # warm
    e_wall, e_cpu, _ = timed(lambda: [evaluate(plan) for _ in range(engine_calls)])
    n_fig = max(engine_calls // 10, 5)
    f_wall, f_cpu, _ = timed(lambda: [plan_figures(plan, [], evaluate(plan))
                                      for _ in range(n_fig)])
    per_draw_engine = e_cpu / engine_calls * draws
    per_draw_full = f_cpu / n_fig * draws
    print(f"sample plan: {len(plan.staffing)} lines x {len(plan.scenario_names)} scenarios x "
          f"{plan.horizon.years} years, {len(plan.risks)} drivers, {draws:,} draws")
    print(f"  risk run (engine once, tornado, draws, statistics): best of {repeat}: "
          f"{best_wall:.2f} s wall, {best_cpu:.2f} s CPU   (target <= 3 s wall)")
    print(f"  evaluate() once per draw: {e_cpu / engine_calls * 1e3:.2f} ms CPU a call "
          f"({engine_calls} calls) -> {per_draw_engine:.1f} s CPU for {draws:,} draws")
    print(f"  ratio risk run / engine per draw: {best_cpu / per_draw_engine:.4f} CPU "
          f"(target <= 0.05)")
    print(f"  evaluate() + plan_figures() per draw: {f_cpu / n_fig * 1e3:.1f} ms CPU a call "
          f"-> {per_draw_full:.0f} s CPU; ratio {best_cpu / per_draw_full:.5f}")
    assert figures is not None
    print(risk_table(figures, plan.settings.currency))


def child_big(draws: int, lines: int, scenarios: int) -> None:
    from omplan.core.risk import block_draws, risk_model, simulate, summarise

    plan = big_plan(lines, scenarios)
    tracemalloc.start()
    wall, cpu, figures = timed(lambda: summarise(
        (model := risk_model(plan)), simulate(model, draws, 1), 1))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    model = risk_model(plan)
    print(json.dumps({
        "draws": draws, "wall": wall, "cpu": cpu, "traced_peak_mb": peak / 2**20,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "lines": len(plan.staffing), "scenarios": len(plan.scenario_names),
        "units": int(model.linear.shape[1]), "rows": int(model.rows_per_draw),
        "block": block_draws(model),
        "p50_first": figures.scenarios[1].npv_savings.p50}))


def part_big(sizes: list[int], lines: int, scenarios: int) -> None:
    print(f"generated plan: {lines:,} lines x {scenarios} scenarios + Baseline x 3 years, "
          f"{len(BIG_RISKS) - 1} drivers (each size in its own process)")
    print(f"  {'draws':>9} {'wall':>8} {'CPU':>8} {'tracemalloc peak':>17} {'peak RSS':>10}")
    for draws in sizes:
        out = subprocess.run([sys.executable, __file__, "--child-big", str(draws),
                              "--lines", str(lines), "--scenarios", str(scenarios)],
                             capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"  {draws:>9,} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {draws:>9,} {r['wall']:>7.1f}s {r['cpu']:>7.1f}s {r['traced_peak_mb']:>14.0f} MB "
              f"{r['rss_peak_mb']:>7.0f} MB   ({r['units']} units, {r['rows']} rows a draw, "
              f"blocks of {r['block']:,} draws)")


def part_dask(draws: int) -> None:
    import distributed

    from omplan.apps.risk_runners import dask_runner
    from omplan.core.risk import risk_model, simulate, summarise

    plan = sample_plan(draws)
    model = risk_model(plan)
    l_wall, l_cpu, local = timed(lambda: simulate(model, draws, 1))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            d_wall, _, remote = timed(lambda: simulate(model, draws, 1, run=dask_runner(client),
                                                       chunks_per_task=32))
    finally:
        cluster.close()
    same = all(np.array_equal(getattr(local, f), getattr(remote, f))
               for f in ("npv_cost", "total", "npv_savings", "payback_months", "within_band",
                         "recommended"))
    same_json = summarise(model, local, 1).to_json() == summarise(model, remote, 1).to_json()
    print(f"sample plan, {draws:,} draws: here {l_wall:.1f} s wall ({l_cpu:.1f} s CPU); "
          f"2-worker LocalCluster {d_wall:.1f} s wall")
    print(f"  every draw's figures equal bit for bit: {same}; the risk JSON equal: {same_json}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("sample", "big", "dask", "all"), default="all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engine-calls", type=int, default=300)
    parser.add_argument("--lines", type=int, default=1_000)
    parser.add_argument("--scenarios", type=int, default=5)
    parser.add_argument("--big-draws", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dask-draws", type=int, default=1_000_000)
    parser.add_argument("--child-big", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big:
        child_big(args.child_big, args.lines, args.scenarios)
        return
    print(f"omplan risk benchmark ({os.cpu_count()} CPUs; CPU time is the figure to compare "
          "on a busy machine)")
    if args.part in ("sample", "all"):
        part_sample(args.repeat, args.engine_calls)
    if args.part in ("big", "all"):
        part_big(args.big_draws, args.lines, args.scenarios)
    if args.part in ("dask", "all"):
        part_dask(args.dask_draws)


if __name__ == "__main__":
    main()
