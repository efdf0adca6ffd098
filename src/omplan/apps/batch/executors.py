"""Where the tasks run: a local process pool, or an existing Dask scheduler.

Both call ``done(index, result)`` on the driver as each plan finishes. Neither leaves
processes behind: the local workers die with the driver (even after SIGKILL), and an
interrupted batch stops its workers before it returns.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from omplan.apps.batch.tasks import DASK_HINT, BatchError, PlanResult, run_plan_task

Task = tuple[int, str]  # (index in the batch, path as the worker opens it)
Done = Callable[[int, PlanResult], None]

#: The modules a worker needs, imported once by the fork server (Linux) before any fork.
WORKER_MODULES = ["omplan.apps.batch", "omplan.pipeline", "omplan.report.quarterly",
                  "omplan.render.xlsx", "omplan.files.report", "omplan.files.xlsxio"]
#: Seconds to wait for a Dask scheduler to accept the connection and say who it is.
DASK_CONNECT_TIMEOUT = 10.0
#: Seconds without a finished plan before the driver asks the scheduler whether it is there.
DASK_TIMEOUT = 30.0
#: Sets both, in seconds.
DASK_TIMEOUT_ENV = "OMPLAN_DASK_TIMEOUT"
#: Seconds the driver gives a client to say goodbye to its scheduler.
DASK_CLOSE_TIMEOUT = 5.0


# --------------------------------------------------------------------------- local processes


def _mp_context() -> Any:
    """Linux: a fork server that imported the worker modules once (cheap, thread-safe forks);
    elsewhere the platform default (spawn)."""
    import multiprocessing as mp

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if (sys.platform.startswith("linux") and main_file
            and getattr(main, "__spec__", None) is None and not os.path.exists(main_file)):
        # a script read from stdin: forkserver and spawn children would try to re-run it
        return mp.get_context("fork")
    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_MODULES)
        return ctx
    return mp.get_context()


def _alive(pid: int) -> bool:
    """Is process ``pid`` running (a zombie, killed but not yet reaped, is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _watch_driver(driver: int, interval: float = 0.5) -> None:
    while _alive(driver):
        time.sleep(interval)
    os._exit(1)


def worker_init(driver: int) -> None:
    """Make a worker die with the batch that started it: the kernel kills it when its parent
    dies (Linux), and a thread ends it once the driver is gone (the parent of a fork-server
    worker is the fork server, and the driver may have died already)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_driver, args=(driver,), name="omplan-driver-watch",
                     daemon=True).start()


def _stop_pool(pool: Any) -> None:
    """Stop a process pool now: cancel what waits, end the workers, reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        try:
            process.terminate()
        except (OSError, AttributeError, ValueError):
            pass
    pool.shutdown(wait=True, cancel_futures=True)


def run_local(tasks: Sequence[Task], jobs: int, kwargs: dict[str, Any], done: Done,
              task: Callable[..., PlanResult] = run_plan_task) -> None:
    """A process pool of ``jobs`` workers; a plan whose worker dies is retried alone."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = _mp_context()
    setup = {"mp_context": ctx, "initializer": worker_init, "initargs": (os.getpid(),)}
    broken: list[Task] = []
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), **setup)
    try:
        futures = {pool.submit(task, path, **kwargs): (i, path) for i, path in tasks}
        for future in as_completed(futures):
            i, path = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append((i, path))
                continue
            except Exception as exc:  # e.g. a result that cannot be unpickled
                result = PlanResult.failure(path, kwargs["scenario"], "worker-failed",
                                            f"the worker failed: {type(exc).__name__}: {exc}")
            done(i, result)
    except BaseException:  # Ctrl-C, SIGTERM: start nothing more, stop what runs
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    # A dead worker (killed for memory, a crash in a C library) breaks the whole pool: run the
    # plans it took with it one at a time, each in its own process, so only the culprit fails.
    for i, path in sorted(broken):
        single = ProcessPoolExecutor(max_workers=1, **setup)
        try:
            try:
                result = single.submit(task, path, **kwargs).result()
            except BrokenProcessPool:
                result = PlanResult.failure(
                    path, kwargs["scenario"], "worker-died",
                    "the process running this plan died (out of memory, or a crash outside "
                    "Python); no workbook was written for it")
        except BaseException:
            _stop_pool(single)
            raise
        single.shutdown(wait=True)
        done(i, result)


# --------------------------------------------------------------------------- Dask


def import_distributed() -> Any:
    """Dask's distributed module, or a clear :class:`BatchError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise BatchError("--scheduler needs Dask's distributed scheduler, which is not "
                         f"installed: {DASK_HINT}") from None
    return distributed


def dask_timeout(default: float = DASK_TIMEOUT) -> float:
    """Seconds to wait for the scheduler: ``OMPLAN_DASK_TIMEOUT``, else ``default`` (30: how
    long no plan may finish before the scheduler is asked whether it is still there)."""
    raw = os.environ.get(DASK_TIMEOUT_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86_400:
        raise BatchError(f"{DASK_TIMEOUT_ENV} must be a number of seconds above 0, got {raw!r}")
    return value


def connect_timeout() -> float:
    """Seconds to wait for the scheduler to accept the connection: ``OMPLAN_DASK_TIMEOUT``,
    else 10 (a scheduler answers in milliseconds; a wrong address should not cost more)."""
    return dask_timeout(DASK_CONNECT_TIMEOUT)


def check_address(address: str) -> str:
    """The scheduler address, checked before anything connects: a scheme Dask knows (tcp,
    tls, ws, wss, inproc, ucx) and, for network schemes, ``host:port``."""
    import_distributed()
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    text = address.strip()
    try:
        scheme, location = parse_address(text, strict=False)
    except (ValueError, TypeError):
        scheme, location = "", ""
    schemes = sorted(registry.backends)
    if scheme not in registry.backends:
        raise BatchError(f"the scheduler address {address!r} is not one Dask can connect to: "
                         f"give {'://, '.join(schemes)}:// and host:port, e.g. "
                         "tcp://scheduler:8786")
    if scheme != "inproc":
        try:
            parse_host_port(location)
        except (ValueError, TypeError):
            raise BatchError(f"the scheduler address {address!r} needs a host and a port, "
                             "e.g. tcp://scheduler:8786") from None
    return text


def quiet_distributed() -> None:
    """Silence distributed's loggers: once omplan has said in one sentence what went wrong
    with the scheduler, its warnings about closing comms and lost streams are noise."""
    import logging

    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def close_client(client: Any, timeout: float = DASK_CLOSE_TIMEOUT) -> None:
    """Close a Dask client now, whatever state it is in, and stop its event loop thread.

    A client left to ``Client.__del__`` is closed at interpreter exit, when its loop has
    gone: that waits twice the connect timeout and prints a traceback. Here a client that
    cannot be closed cleanly is marked closed, so that nothing is left for exit.
    """
    import asyncio

    try:
        client.close(timeout=timeout)
    except (Exception, asyncio.CancelledError):  # a lost scheduler cannot be told goodbye
        quiet_distributed()
    finally:
        if getattr(client, "status", "closed") != "closed":
            client.status = "closed"  # Client.__del__ does nothing for a closed client
        runner = getattr(client, "_loop_runner", None)
        if runner is not None:
            try:
                runner.stop(timeout=timeout)
            except (Exception, asyncio.CancelledError):  # its loop, cancelled, says so
                pass


_CLIENT_CLASS: Any = None


def client_class() -> Any:
    """``distributed.Client``, closing itself when it cannot connect (the constructor raises
    and nobody holds the half-made client: without this, ``__del__`` closes it at exit)."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        distributed = import_distributed()

        class ClosingClient(distributed.Client):  # type: ignore[misc, name-defined]
            def __init__(self, *args: Any, holder: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
                if holder is not None:  # the connecting client, to abandon when it hangs
                    holder["made"] = self
                try:
                    super().__init__(*args, **kwargs)
                except BaseException:
                    close_client(self, timeout=2.0)
                    raise

        _CLIENT_CLASS = ClosingClient
    return _CLIENT_CLASS


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _refused(address: str) -> bool:
    """Is a connection to ``address`` refused (nothing listens there)? One quick try."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address, strict=False)
        if scheme not in ("tcp", "tls", "ws", "wss"):
            return False
        host, port = parse_host_port(location)
        with socket.create_connection((host, port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True
    except (OSError, ValueError, TypeError):
        return False


def connect_failure(address: str, error: BaseException | None, timeout: float) -> str:
    """Why the scheduler could not be reached, in the planner's words (no exception names)."""
    chain = _causes(error) if error is not None else []
    timed_out = error is None or any(isinstance(e, TimeoutError)
                                     or str(e).startswith("Timed out") for e in chain)
    # distributed retries a refused connection until the timeout: its last error may be the
    # timeout of the last try, so a refusal is asked once more
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or (
            timed_out and _refused(address)):
        return (f"nothing listened at that address for {timeout:g} s (the connection was "
                "refused)")
    if timed_out:
        return f"no answer within {timeout:g} s"
    return ("something answers at that address, but it is not a Dask scheduler: a web "
            "server or another service")


def _abandon(client: Any, thread: threading.Thread) -> None:
    """Give up a client still connecting: cancel what its event loop waits for (the
    connecting thread then ends), then close it."""
    import asyncio

    def cancel_all() -> None:
        for task in asyncio.all_tasks():
            task.cancel()

    loop = getattr(client, "loop", None)
    if loop is not None:
        try:
            loop.add_callback(cancel_all)
        except Exception:  # noqa: BLE001 - a loop already stopped: nothing to cancel
            pass
    thread.join(2.0)
    close_client(client, timeout=1.0)


def connect(address: str, timeout: float) -> Any:
    """A Dask client of the scheduler at ``address``, or a :class:`BatchError` within about
    ``timeout`` seconds (a scheduler that accepts and never answers, something else at the
    address, a refused connection). A failed attempt leaves nothing behind: no client to
    close at exit, no thread waiting, no log lines."""
    import_distributed()
    import dask

    client_type = client_class()
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout}s"}):
                box["client"] = client_type(address, timeout=f"{timeout}s",
                                            set_as_default=False, holder=box)
        except BaseException as exc:  # noqa: BLE001 - reported as one sentence below
            box["error"] = exc

    thread = threading.Thread(target=attempt, name="omplan-dask-connect", daemon=True)
    thread.start()
    # distributed's own timeout does not always end the attempt: a server that accepts and
    # never answers holds it for ever (distributed 2026.8)
    thread.join(timeout + 3)  # its own timeout, then the closing of a refused attempt
    if thread.is_alive() or "client" not in box:
        quiet_distributed()
        why = connect_failure(address, None if thread.is_alive() else box.get("error"),
                              timeout)
        if thread.is_alive() and "made" in box:
            _abandon(box["made"], thread)
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: {why}; check "
                         "the address and that the scheduler is running")
    return box["client"]


def _scheduler_answers(client: Any, timeout: float) -> bool:
    import asyncio

    async def ping() -> Any:
        return await asyncio.wait_for(client.scheduler.identity(), timeout)

    try:
        client.sync(ping, callback_timeout=timeout + 1)
    except Exception:  # noqa: BLE001 - any failure means no answer
        return False
    return True


def run_dask(tasks: Sequence[Task], scheduler: str, kwargs: dict[str, Any], done: Done,
             client: Any = None, timeout: float | None = None) -> None:
    """The same tasks on an existing Dask scheduler; workers read and write the shared
    folder (paths are passed, not data). A scheduler that stops answering fails the plans
    not yet finished (``scheduler-lost``) instead of waiting forever. ``client``: one
    already connected (closed here when the tasks are done)."""
    distributed = import_distributed()
    wait = dask_timeout() if timeout is None else timeout
    if client is None:
        client = connect(check_address(scheduler), wait)
    try:
        batch_id = uuid.uuid4().hex[:8]
        futures = {}
        for i, path in tasks:
            future = client.submit(run_plan_task, path, key=f"omplan-batch-{batch_id}-{i}",
                                   pure=False, **kwargs)
            futures[future] = (i, path)
        left = dict(futures)
        finished = distributed.as_completed(list(futures), loop=client.loop)
        quiet_since = time.monotonic()
        while left:
            batch = finished.next_batch(block=False)
            if not batch:
                if time.monotonic() - quiet_since < wait:
                    time.sleep(0.05)
                    continue
                if _scheduler_answers(client, wait):  # busy, not gone: wait on
                    quiet_since = time.monotonic()
                    continue
                for i, path in sorted(left.values()):
                    done(i, PlanResult.failure(
                        path, kwargs["scenario"], "scheduler-lost",
                        f"the Dask scheduler at {scheduler} stopped answering before this "
                        "plan finished; no workbook was written for it"))
                return
            quiet_since = time.monotonic()
            for future in batch:
                i, path = left.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # KilledWorker, a worker without omplan, ...
                    result = PlanResult.failure(
                        path, kwargs["scenario"], "worker-failed",
                        f"the Dask task failed: {type(exc).__name__}: {exc}")
                done(i, result)
    finally:
        close_client(client, timeout=min(wait, DASK_CLOSE_TIMEOUT))
