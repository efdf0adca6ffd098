"""Write a synthetic plan workbook for the benchmarks.

The generator itself is ``tests/plan_generator.py``, which the golden and property tests use.

    python benchmarks/generate.py OUT.xlsx [--lines N --scenarios K --seed S --systems M]

``from generate import make_plan, write_plan`` keeps working for scripts that put this folder on
``sys.path``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from plan_generator import make_plan, write_plan  # noqa: E402

__all__ = ["make_plan", "write_plan"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--systems", type=int, help="default: lines // 10, 1 to 200")
    args = parser.parse_args()
    start = time.perf_counter()
    write_plan(args.out, args.lines, args.scenarios, args.seed, args.systems)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) "
          f"in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
