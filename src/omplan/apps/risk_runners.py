"""Where the Monte Carlo's draws run: local worker processes or an existing Dask scheduler.

Each returns a :data:`~omplan.core.risk.TaskRunner` for :func:`omplan.core.risk.simulate`
(or ``run_risk(..., run=...)``): the tasks are ranges of chunks of draws, each a pure call of
:func:`~omplan.core.risk.simulate_chunks`, and the results come back in task order, so the
figures are bit for bit those of a run in one process.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

from omplan.core.risk import DrawResults, RiskModel, TaskRunner, simulate_chunks

__all__ = ["dask_runner", "local_runner"]


def _context() -> Any:
    """Linux: a fork server that imported the risk engine once; elsewhere the default."""
    import multiprocessing as mp

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if (sys.platform.startswith("linux") and main_file
            and getattr(main, "__spec__", None) is None and not os.path.exists(main_file)):
        return mp.get_context("fork")  # a script read from stdin cannot be re-run
    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["omplan.core.risk"])
        return ctx
    return mp.get_context()


def local_runner(jobs: int, progress: Callable[[int], None] | None = None) -> TaskRunner:
    """Run the tasks on ``jobs`` local worker processes (``progress``: called with the draws
    of each finished task)."""

    def run(model: RiskModel, seed: int, draws: int,
            tasks: list[tuple[int, int]]) -> list[DrawResults]:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from omplan.apps.batch.executors import worker_init

        results: list[DrawResults | None] = [None] * len(tasks)
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))),
                                 mp_context=_context(), initializer=worker_init,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(simulate_chunks, model, seed, draws, first, n): i
                       for i, (first, n) in enumerate(tasks)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if progress is not None:
                    progress(results[i].draws)  # type: ignore[union-attr]
        return [r for r in results if r is not None]

    return run


def dask_runner(client: Any, progress: Callable[[int], None] | None = None) -> TaskRunner:
    """Run the tasks on the Dask cluster of ``client`` (a ``distributed.Client``): the model
    is sent to every worker once, then one task per chunk range."""

    def run(model: RiskModel, seed: int, draws: int,
            tasks: list[tuple[int, int]]) -> list[DrawResults]:
        import distributed

        shared = client.scatter(model, broadcast=True, hash=False)
        tag = uuid.uuid4().hex[:8]
        futures = [client.submit(simulate_chunks, shared, seed, draws, first, n, pure=False,
                                 key=f"omplan-risk-{tag}-{i}")
                   for i, (first, n) in enumerate(tasks)]
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[DrawResults | None] = [None] * len(tasks)
        for future in distributed.as_completed(futures):
            result = future.result()
            results[order[future.key]] = result
            if progress is not None:
                progress(result.draws)
        return [r for r in results if r is not None]

    return run
