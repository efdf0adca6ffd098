"""Where ``run_plan`` and ``PlanRun`` used to live: they are :mod:`omplan.pipeline`'s now.

Kept as a re-export for code (and tests) that import them from here.
"""

from omplan.pipeline import PlanRun, run_plan

__all__ = ["PlanRun", "run_plan"]
