"""Run ``omplan run PLAN --writeback`` and SIGKILL this very process at one exact step of the
save, for tests/test_writeback.py: a crash there must leave the old or the new workbook.

Usage: python writeback_kill_helper.py PLAN OPERATION N WHEN
  OPERATION  fsync or replace (the os function whose N-th call is the moment)
  WHEN       before or after that call
A writeback calls, in order: fsync(.bak temp), replace(.bak), fsync(folder),
fsync(plan temp), replace(plan), fsync(folder); the test traces a real save to find them.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def arm(operation: str, n: int, when: str) -> None:
    """Make the ``n``-th call of ``os.<operation>`` kill the process ``when`` it happens."""
    real: Callable[..., Any] = getattr(os, operation)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if calls == n and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(os, operation, wrapper)


if __name__ == "__main__":
    plan, operation, n, when = sys.argv[1:5]
    arm(operation, int(n), when)
    from omplan.apps.cli import main

    main(["run", plan, "--writeback"])
