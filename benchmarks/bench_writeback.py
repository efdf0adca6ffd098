"""Writeback benchmark: ``write_into`` on the sample plan, part-level grafting against the
previous implementation (openpyxl loading and re-saving the whole workbook).

    python benchmarks/bench_writeback.py [--repeat 5] [--plan PLAN.xlsx]

The plan is checked and evaluated once (not timed); each repetition writes into a fresh copy,
so the first writeback (report sheets added) is what is timed. The previous implementation is
``src/omplan/writeback.py`` at ``OLD_COMMIT``, loaded from git; when it cannot be loaded (no git,
or modules it imports have moved since), the figure measured for it when the grafting
writeback was written is printed instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

#: The last commit with the openpyxl re-saving writeback.
OLD_COMMIT = "74440e91d8cf63b6d4e60665b16b15a2add2d7f1"
#: Its median on the sample plan, measured on the development machine (2 shared cores).
OLD_RECORDED_SECONDS = 1.41
ROOT = Path(__file__).resolve().parents[1]


#: Where the modules the previous implementation imports (relatively) live now.
_OLD_MODULES = {"layout": "omplan.report.layout", "xlsxio": "omplan.files.xlsxio",
                "report": "omplan.files.report", "render_xlsx": "omplan.render.xlsx",
                "reader": "omplan.input.reader", "api": "omplan.files.run"}


def old_write_into() -> Any | None:
    """``write_into`` of the previous implementation, or None when it cannot be loaded."""
    import types

    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:src/omplan/writeback.py"],
            capture_output=True, text=True, check=True).stdout
        package = "omplan_before_graft"  # its relative imports resolve to today's modules
        sys.modules[package] = types.ModuleType(package)
        for old, new in _OLD_MODULES.items():
            sys.modules[f"{package}.{old}"] = importlib.import_module(new)
        spec = importlib.util.spec_from_loader(f"{package}.writeback", loader=None)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        module.__package__ = package
        sys.modules[spec.name] = module  # type: ignore[union-attr]
        exec(compile(source, "writeback.py@" + OLD_COMMIT[:7], "exec"), module.__dict__)
        return module.write_into
    except Exception as exc:  # no git, or a module it needs is gone: the recorded figure
        print(f"(previous implementation not loadable: {type(exc).__name__}: {exc})")
        return None


def time_writeback(write_into: Any, run: Any, plan: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="omplan-bench-"))
        try:
            copy = folder / plan.name
            shutil.copyfile(plan, copy)
            start = time.perf_counter()
            result = write_into(run, copy)
            times.append(time.perf_counter() - start)
            assert result.in_place, "the benchmark plan must be written into"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return times


def main(argv: list[str] | None = None) -> int:
    from omplan.apps.cli import sample_plan_path
    from omplan.files.run import run_plan
    from omplan.files.writeback import write_into

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plan", type=Path, default=None)
    args = parser.parse_args(argv)
    plan = args.plan or sample_plan_path()
    run = run_plan(plan)
    if not run.ok:
        print(f"{plan} has errors; nothing to write back")
        return 2
    warnings.simplefilter("ignore")
    new = statistics.median(time_writeback(write_into, run, plan, args.repeat))
    old_impl = old_write_into()
    if old_impl is not None:
        old = statistics.median(time_writeback(old_impl, run, plan, args.repeat))
        how = f"measured now ({OLD_COMMIT[:7]})"
    else:
        old, how = OLD_RECORDED_SECONDS, "recorded"
    print(f"plan: {plan.name}, median of {args.repeat}")
    print(f"  old (openpyxl re-save, {how}): {old:.3f} s")
    print(f"  new (part-level graft):        {new:.3f} s")
    print(f"  speed-up: {old / new:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
