"""The same seed gives the same Monte Carlo figures, bit for bit, in one process, on two
local worker processes and on a real Dask cluster (a LocalCluster on 127.0.0.1)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from risk_reference import sample_with_risks

from omplan.apps.risk_runners import dask_runner, local_runner
from omplan.core.risk import CHUNK_DRAWS, DrawResults, risk_model, simulate, summarise

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed is not installed (pip install 'omplan[dask]')")

DRAWS = 5 * CHUNK_DRAWS + 123  # six tasks of one chunk, the last one short
FIELDS = ("npv_cost", "total", "npv_savings", "payback_months", "within_band", "recommended")


@pytest.fixture(scope="module")
def model():
    return risk_model(sample_with_risks())


@pytest.fixture(scope="module")
def reference(model) -> DrawResults:
    return simulate(model, DRAWS, 1)


def _same(a: DrawResults, b: DrawResults) -> None:
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_processes_give_the_same_bits(model, reference, jobs):
    done: list[int] = []
    results = simulate(model, DRAWS, 1, run=local_runner(jobs, progress=done.append),
                       chunks_per_task=1)
    _same(results, reference)
    assert sum(done) == DRAWS and len(done) == 6
    assert summarise(model, results, 1).to_json() == summarise(model, reference, 1).to_json()


def test_a_dask_cluster_gives_the_same_bits(model, reference):
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            results = simulate(model, DRAWS, 1, run=dask_runner(client), chunks_per_task=1)
            worker_pids = set(client.run(os.getpid).values())
    finally:
        cluster.close()
    assert os.getpid() not in worker_pids and len(worker_pids) == 2
    _same(results, reference)
