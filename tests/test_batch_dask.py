"""``omplan batch --scheduler``: the same tasks on a real Dask cluster give the same files.

A ``distributed.LocalCluster`` with two worker processes stands in for a company's cluster;
workers read the plans and write the workbooks themselves (a shared folder: here, /tmp).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    assert len(local_files) == 6 * 4 + 2 * 4 + 1  # a rollup per quarter and fiscal calendar
    for name in local_files:
        assert ((tmp_path / "dask" / name).read_bytes()
                == (tmp_path / "local" / name).read_bytes()), name

    report = json.loads((tmp_path / "dask" / "batch_report.json").read_text(encoding="utf-8"))
    status = {p["file"]: (p["status"], p["errors"][0]["code"] if p["errors"] else None)
              for p in report["plans"]}
    assert status["bu07.xlsx"] == ("failed", "out-of-range")
    assert status["missing.xlsx"] == ("failed", "file-not-found")
    assert [t["quarter"] for t in report["totals"]] == list(QUARTERS) * 2


def test_tasks_ran_on_the_workers(cluster, tmp_path):
    """The results come from the worker processes, not from the driver."""
    paths = write_plans(tmp_path / "plans", n=2)
    outcome = execute_batch(paths, quarter="Q1", out=tmp_path / "out",
                            scheduler=cluster.scheduler_address)
    assert outcome.ok and outcome.rollups == ["rollup_FY2027_Q1_Jan-Mar.xlsx",
                                              "rollup_FY2027_Q1_Apr-Jun.xlsx"]
    with distributed.Client(cluster.scheduler_address) as client:
        worker_pids = set(client.run(os.getpid).values())
    assert {r.pid for r in outcome.results} <= worker_pids
    assert os.getpid() not in worker_pids


SCHEDULER_SCRIPT = """
import sys, time, distributed
cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
print(cluster.scheduler_address, flush=True)
time.sleep(600)
"""


def test_a_scheduler_that_stops_answering_mid_batch_fails_the_rest(tmp_path, monkeypatch):
    """The scheduler's process is frozen (SIGSTOP: its connections stay open, nothing
    answers) after the first plan: the batch ends in bounded time, the unfinished plans fail
    with ``scheduler-lost``, and the report lists every plan."""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from omplan.apps.batch import Progress

    monkeypatch.setenv("OMPLAN_DASK_TIMEOUT", "3")
    sample = Path(__file__).resolve().parents[1] / "workbooks" / "sample_plan.xlsx"
    folder = tmp_path / "plans"
    folder.mkdir()
    for i in range(10):
        shutil.copy(sample, folder / f"bu{i:02d}.xlsx")
    proc = subprocess.Popen([sys.executable, "-c", SCHEDULER_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    family = []

    class FreezeOnFirst(Progress):
        def advance(self, result, done, total):
            if done == 1:
                proc.send_signal(signal.SIGSTOP)

    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://"), address
        family = [proc.pid, *(p.pid for p in psutil.Process(proc.pid).children(True))]
        start = time.monotonic()
        outcome = execute_batch(folder, quarter="all", out=tmp_path / "out",
                                scheduler=address, progress=FreezeOnFirst())
        assert time.monotonic() - start < 150
    finally:
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
    codes = [r.errors[0]["code"] for r in outcome.results if not r.ok]
    assert 1 <= len(codes) <= 9 and set(codes) == {"scheduler-lost"}
    assert sum(r.ok for r in outcome.results) == 10 - len(codes)
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text())
    assert report["plans_total"] == 10 and report["plans_failed"] == len(codes)
