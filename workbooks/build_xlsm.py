"""Write workbooks/omplan.xlsm: the sample plan on xlwings' quickstart workbook, with the
Run scenarios button (see src/omplan/xlsm.py for how it is built and why).

Run from anywhere: ``python workbooks/build_xlsm.py``. The bytes depend only on omplan's
code and the installed xlwings' quickstart.xlsm, so re-running it with the same xlwings
leaves the file unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    from omplan.files.xlsm import FIXED_TIMESTAMP, build_xlsm
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(ROOT / "src"))
    from omplan.files.xlsm import FIXED_TIMESTAMP, build_xlsm

TARGET = ROOT / "workbooks" / "omplan.xlsm"


def main() -> int:
    from omplan.files.xlsxio import atomic_write_bytes

    # omplan.xlsm needs no companion module: its macro runs `import omplan; omplan.main()`
    atomic_write_bytes(TARGET, build_xlsm(sample=True, timestamp=FIXED_TIMESTAMP))
    print(f"wrote {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
