"""Actuals benchmark: a general-ledger style CSV of 100,000 rows read, checked and reconciled
with the budget of a generated plan, pinned to one core.

    python benchmarks/bench_actuals.py [--rows 100000 --lines 2000 --scenarios 5 --repeat 3]

Builds a plan with ``benchmarks/generate.py`` (``--lines`` staffing lines, ``--scenarios``),
evaluates it once (not timed), writes a CSV of ``--rows`` actual rows for it (dates of the
fiscal year, the plan's systems and one it does not budget, activities in mixed case, amounts
with cents, some credits, some written ``"1,234.50"``, an Item on each row) and times, best of
``--repeat``:

* omplan: ``read_actuals_csv`` (read, parse every column at once, check) and then
  ``actuals_figures`` (plan vs actual by month, quarter, activity and system, forecast) —
  target ≤ 2 s;
* the obvious alternatives doing the same checks row by row: the ``csv`` module with a Python
  loop, and pandas ``read_csv`` with ``DataFrame.apply(axis=1)``; each followed by the same
  ``actuals_figures``, so the ratio is the reading and checking.

``--strict`` exits with status 2 when the target is missed; ``--keep DIR`` keeps the CSV.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

TARGET_S = 2.0


def write_gl_csv(path: Path, plan: Any, rows: int, seed: int = 0) -> Path:
    """A general-ledger export for ``plan``: one posting a row over its first fiscal year."""
    from omplan.core.model import ACTIVITIES

    rng = random.Random(seed)
    horizon = plan.horizon
    systems = sorted({x.system for x in plan.staffing}) + ["Legacy archive (not planned)"]
    spellings = {a: [a, a.lower(), a.upper().replace(" ", "-")] for a in ACTIVITIES}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Month", "System", "Activity", "Amount", "Currency", "Item"])
        for n in range(rows):
            year, month = horizon.month_of(rng.randrange(12))
            amount = rng.uniform(50, 25000) * (-1 if rng.random() < 0.03 else 1)
            text = f"{amount:,.2f}" if rng.random() < 0.01 else f"{amount:.2f}"
            writer.writerow([f"{year}-{month:02d}-{rng.randint(1, 28):02d}",
                             rng.choice(systems), rng.choice(spellings[rng.choice(ACTIVITIES)]),
                             text, plan.settings.currency if rng.random() < 0.2 else "",
                             f"INV-{n:06d}"])
    return path


def read_rowwise_csv(path: Path, context: Any) -> list[Any]:
    """The obvious alternative: the csv module and one Python parse per row and cell."""
    from omplan.core.model import ACTIVITIES, ActualLine
    from omplan.input.actuals import _amount_text, _parse_month
    from omplan.input.tables import norm_enum, norm_header

    aliases = {norm_enum(a): a for a in ACTIVITIES}
    st = context.settings
    lines = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        head = [norm_header(h) for h in next(reader)]
        col = {name: head.index(name.casefold()) for name in
               ("Month", "System", "Activity", "Amount", "Currency", "Item")}
        for row in reader:
            year, month, why = _parse_month(row[col["Month"]])
            index = (year - st.fiscal_year) * 12 + month - st.fy_start_month
            activity = aliases.get(norm_enum(row[col["Activity"]]))
            try:
                amount = float(row[col["Amount"]])
            except ValueError:
                amount = _amount_text(row[col["Amount"]].strip())
            currency = row[col["Currency"]].strip().upper()
            if why or not 0 <= index < 12 * st.horizon_years or activity is None \
                    or amount != amount:
                continue  # a real reader would write a finding here
            lines.append(ActualLine(index, " ".join(row[col["System"]].split()), activity,
                                    amount, "" if currency == st.currency else currency,
                                    row[col["Item"]], f"{path.name} line {reader.line_num}"))
    return lines


def read_pandas_apply(path: Path, context: Any) -> list[Any]:
    """pandas to read, then ``apply`` a Python parse to each row (no column-wise parsing)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    from omplan.core.model import ACTIVITIES, ActualLine
    from omplan.input.actuals import _amount_text, _parse_month
    from omplan.input.tables import norm_enum

    aliases = {norm_enum(a): a for a in ACTIVITIES}
    st = context.settings

    def parse(row: Any) -> Any:
        year, month, why = _parse_month(row["Month"])
        activity = aliases.get(norm_enum(row["Activity"]))
        amount = _amount_text(row["Amount"].strip())
        index = (year - st.fiscal_year) * 12 + month - st.fy_start_month
        if why or activity is None or amount != amount:
            return None
        currency = row["Currency"].strip().upper()
        return ActualLine(index, " ".join(row["System"].split()), activity, amount,
                          "" if currency == st.currency else currency, row["Item"],
                          f"{path.name} line {row.name + 2}")

    return [x for x in frame.apply(parse, axis=1) if x is not None]


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall and CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--scenarios", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args(argv)

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from bench_engine import pin_to_one_core
    from generate import make_plan

    pinned = pin_to_one_core()
    from omplan.core.actuals import actuals_figures
    from omplan.core.engine import evaluate
    from omplan.input.actuals import ActualsContext, read_actuals_csv
    from omplan.input.reader import SheetGrid, parse_plan

    sheets = make_plan(args.lines, args.scenarios, args.seed)
    plan, findings = parse_plan({n: SheetGrid(n, rows) for n, rows in sheets.items()},
                                "generated.xlsx")
    assert plan is not None, [f for f in findings if f.severity == "error"][:5]
    ledger = evaluate(plan).ledger
    context = ActualsContext.of(plan)
    print(f"omplan actuals benchmark ({pinned}): {args.rows:,} CSV rows against a plan of "
          f"{args.lines:,} lines x {args.scenarios + 1} scenarios ({len(ledger):,} ledger rows)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = write_gl_csv(folder / "gl.csv", plan, args.rows, args.seed)
        size = path.stat().st_size / 1e6

        def omplan_run() -> Any:
            lines, found = read_actuals_csv(path, context)
            assert not [f for f in found if f.severity == "error"], found[:3]
            return actuals_figures(replace(plan, actuals=lines), ledger), found

        def read_only() -> Any:
            return read_actuals_csv(path, context)

        def alternative(read: Callable[[Path, Any], list[Any]]) -> Callable[[], Any]:
            return lambda: actuals_figures(replace(plan, actuals=read(path, context)), ledger)

        wall, cpu, (figures, found) = best_of(args.repeat, omplan_run)
        r_wall, r_cpu, _ = best_of(args.repeat, read_only)
        c_wall, c_cpu, c_figures = best_of(max(1, args.repeat - 2), alternative(
            read_rowwise_csv))
        p_wall, p_cpu, p_figures = best_of(max(1, args.repeat - 2), alternative(
            read_pandas_apply))
    total = sum(m.actual for m in figures.months)
    assert abs(total - sum(m.actual for m in c_figures.months)) < 1e-6 * abs(total)
    assert abs(total - sum(m.actual for m in p_figures.months)) < 1e-6 * abs(total)
    print(f"  CSV: {size:.1f} MB; {len(figures.months)} months through {figures.through}, "
          f"actual {total:,.2f}, {len(found)} warning(s)")
    print(f"  omplan read + check + reconcile: {wall:6.3f} s wall, {cpu:6.3f} s CPU "
          f"(target <= {TARGET_S:g} s: {'met' if wall <= TARGET_S else 'MISSED'})")
    print(f"    of which read + check:       {r_wall:6.3f} s wall, {r_cpu:6.3f} s CPU")
    print(f"  csv module, row by row:          {c_wall:6.3f} s wall, {c_cpu:6.3f} s CPU "
          f"(omplan {c_cpu / cpu:.1f}x less CPU)")
    print(f"  pandas + apply(axis=1):          {p_wall:6.3f} s wall, {p_cpu:6.3f} s CPU "
          f"(omplan {p_cpu / cpu:.1f}x less CPU)")
    return 2 if args.strict and wall > TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
