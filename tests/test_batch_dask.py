"""``omplan batch --scheduler``: the same tasks on a real Dask cluster give the same files.

A ``distributed.LocalCluster`` with two worker processes stands in for a company's cluster;
workers read the plans and write the workbooks themselves (a shared folder: here, /tmp).
"""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from test_batch import BAD_LOCATION, EPOCH, write_plans

from omplan.apps.batch import execute_batch
from omplan.apps.cli import cli
from omplan.core.model import QUARTERS

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed is not installed (pip install 'omplan[dask]')")


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


def test_dask_path_writes_the_same_bytes_as_the_local_pool(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = tmp_path / "plans"
    write_plans(folder, n=7)  # bu07 is the bad one
    missing = folder / "gone" / "missing.xlsx"
    local = execute_batch([folder, missing], quarter="all", out=tmp_path / "local", jobs=2)
    assert not local.ok

    result = CliRunner().invoke(cli, ["batch", str(folder), str(missing), "--quarter", "all",
                                      "--out", str(tmp_path / "dask"), "--scheduler",
                                      cluster.scheduler_address, "--quiet"])
    assert result.exit_code == 2, result.output
    assert "bu07.xlsx" in result.output and BAD_LOCATION in result.output

    local_files = sorted(p.name for p in (tmp_path / "local").iterdir())
    dask_files = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert dask_files == local_files
    assert len(local_files) == 6 * 4 + 4 + 1
    for name in local_files:
        assert ((tmp_path / "dask" / name).read_bytes()
                == (tmp_path / "local" / name).read_bytes()), name

    report = json.loads((tmp_path / "dask" / "batch_report.json").read_text(encoding="utf-8"))
    status = {p["file"]: (p["status"], p["errors"][0]["code"] if p["errors"] else None)
              for p in report["plans"]}
    assert status["bu07.xlsx"] == ("failed", "out-of-range")
    assert status["missing.xlsx"] == ("failed", "file-not-found")
    assert [t["quarter"] for t in report["totals"]] == list(QUARTERS)


def test_tasks_ran_on_the_workers(cluster, tmp_path):
    """The results come from the worker processes, not from the driver."""
    paths = write_plans(tmp_path / "plans", n=2)
    outcome = execute_batch(paths, quarter="Q1", out=tmp_path / "out",
                            scheduler=cluster.scheduler_address)
    assert outcome.ok and outcome.rollups == ["rollup_FY2027_Q1.xlsx"]
    with distributed.Client(cluster.scheduler_address) as client:
        worker_pids = set(client.run(os.getpid).values())
    assert {r.pid for r in outcome.results} <= worker_pids
    assert os.getpid() not in worker_pids
