"""Write the shipped sample plan: workbooks/sample_plan.xlsx and src/omplan/data/sample_plan.xlsx.

Run from anywhere: ``python workbooks/build_sample_plan.py``. The output is byte-for-byte
deterministic, so re-running it on unchanged data leaves both files unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    from omplan.files.sample import build_sample_plan
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(ROOT / "src"))
    from omplan.files.sample import build_sample_plan

TARGETS = (
    ROOT / "workbooks" / "sample_plan.xlsx",
    ROOT / "src" / "omplan" / "data" / "sample_plan.xlsx",
)


def main() -> int:
    for target in TARGETS:
        target.parent.mkdir(parents=True, exist_ok=True)
        path = build_sample_plan(target)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
