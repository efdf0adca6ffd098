"""``batch_report.json`` that a filling disk cannot take away.

A batch writes many workbooks into ``--out``; when that disk fills up midway the plans still
to come fail, and the report saying which would be the next file refused. So the report is
written before any plan runs (every plan ``pending``, status ``running``), rewritten as
plans finish, and a hidden *reserve* file beside it holds the room the final report needs:
when the final write finds the disk full, the reserve is deleted and the write tried again.
Every write is atomic (a temporary file, then a rename), so the report in the folder is
always a whole one: the final one, or the last one written while the batch ran.

The reserve is ``.batch_report.json.<host>.<pid>.reserve``; it is deleted when the batch ends,
and a later batch on the same machine deletes one left by a batch that was killed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omplan.apps.batch.tasks import REPORT_NAME

#: One plan's entry in the report without quarters (name, path, status, an error or two).
PLAN_BYTES = 2_000
#: One budgeted quarter of one plan, with its actual spend (about 1.3 KB of JSON).
QUARTER_BYTES = 1_600
#: One rollup's totals (about 1.1 KB).
TOTAL_BYTES = 1_400
#: ``--quarter all`` budgets every quarter of the plan's horizon (one to ten years): the
#: first estimate takes five; the rewrites while the batch runs correct it.
ALL_QUARTERS = 20
#: The reserve never takes more than this share of the free space it finds.
FREE_SHARE = 4
#: Seconds between two rewrites while the batch runs.
REWRITE_EVERY = 1.0
#: The smallest reserve worth making.
MIN_RESERVE = 16_384

_RESERVE = re.compile(re.escape(f".{REPORT_NAME}.") + r"(?P<host>.+)\.(?P<pid>\d+)\.reserve")
#: The errors of a full disk (or of a full quota) as ``strerror`` words them.
DISK_FULL = tuple(os.strerror(code) for code in (errno.ENOSPC, getattr(errno, "EDQUOT", 0))
                  if code)


def is_disk_full(message: str) -> bool:
    """Does an error message say the disk (or the user's quota) is full?"""
    return any(words in message for words in DISK_FULL)


def report_bytes(n_plans: int, quarters: Sequence[str], path_bytes: int = 0) -> int:
    """A generous first estimate of the final report's size: every plan with every quarter
    asked for (``all``: five years of quarters), their figures and the rollups' totals."""
    n_quarters = sum(ALL_QUARTERS if q == "all" else 1 for q in quarters)
    return (4_096 + n_plans * (PLAN_BYTES + n_quarters * QUARTER_BYTES) + 2 * path_bytes
            + 2 * n_quarters * TOTAL_BYTES)


def _host() -> str:
    """This machine's name, as a file name can hold it."""
    return re.sub(r"[^A-Za-z0-9-]", "_", socket.gethostname().split(".")[0]) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def projected_bytes(report: dict[str, Any]) -> int:
    """The final report's size as a report written while the batch runs foretells it: the
    plans finished so far, as many again for the plans pending, and the rollups' totals of
    the quarters seen, with a quarter more for good measure."""
    finished = [p for p in report["plans"] if p["status"] != "pending"]
    if not finished:
        return 0
    entries = sum(len(json.dumps(p, indent=2, ensure_ascii=False)) for p in finished)
    groups = {(q["fiscal_year"], q["quarter"], p["currency"])
              for p in finished for q in p["quarters"]}
    per_plan = entries / len(finished) * 1.1  # the report's deeper indentation
    return int((8_192 + per_plan * len(report["plans"]) + len(groups) * TOTAL_BYTES) * 1.25)


def _allocate(fd: int, offset: int, size: int) -> None:
    """Take ``size`` bytes of the disk for ``fd`` from ``offset``: preallocated where the
    file system can, else written (bytes no compressing file system can shrink)."""
    try:
        os.posix_fallocate(fd, offset, size)
        return
    except AttributeError:  # pragma: no cover - not on this platform
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    os.lseek(fd, offset, os.SEEK_SET)
    left = size
    while left > 0:
        chunk = os.urandom(min(left, 1 << 20))
        os.write(fd, chunk)
        left -= len(chunk)


class BatchReportFile:
    """``batch_report.json`` in ``out_dir``, with the room for its final version reserved.

    :meth:`start` before the plans run, :meth:`update` as they finish (at most once a
    second), :meth:`finish` at the end, :meth:`close` always (deletes the reserve).
    """

    def __init__(self, out_dir: Path, expected_bytes: int) -> None:
        self.path = out_dir / REPORT_NAME
        self.reserve = out_dir / f".{REPORT_NAME}.{_host()}.{os.getpid()}.reserve"
        self.expected_bytes = expected_bytes
        self.reserved = 0
        #: the report in the folder, as last written (None: none written by this batch)
        self.written: dict[str, Any] | None = None
        self._last = 0.0

    # ------------------------------------------------------------------ writing

    def _write(self, report: dict[str, Any]) -> None:
        """Write ``report`` atomically."""
        from omplan.files.xlsxio import atomic_write_bytes

        data = (json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False)
                + "\n").encode("utf-8")
        atomic_write_bytes(self.path, data)
        self.written = report
        self._last = time.monotonic()

    def start(self, report: dict[str, Any]) -> str | None:
        """Reserve the room and write the first report (every plan pending); returns why it
        could not (a full disk: the batch runs anyway, each plan saying what it could not
        write), or None."""
        self._remove_stale_reserves()
        self.reserved = self._make_reserve(self.expected_bytes)
        try:
            self._write(report)
        except OSError as exc:
            return str(exc.strerror or exc)
        return None

    def due(self) -> bool:
        """Is it time to rewrite the report (a second since the last write)?"""
        return time.monotonic() - self._last >= REWRITE_EVERY

    def update(self, report: dict[str, Any]) -> bool:
        """Rewrite the report while the batch runs, and fit the reserve to the final size
        it foretells; a full disk keeps the previous report (and the reserve, which is for
        the final report)."""
        try:
            self._write(report)
        except (OSError, ValueError):  # the final write says why, if it still applies
            self._last = time.monotonic()  # try again in a second, not at every plan
            return False
        self._fit_reserve(projected_bytes(report))
        return True

    def finish(self, report: dict[str, Any]) -> str | None:
        """Write the final report, into the reserved room when the disk is full; returns why
        it could not be written (the report in the folder is then the last one written while
        the batch ran), or None."""
        try:
            self._write(report)
            return None
        except OSError as exc:
            error = str(exc.strerror or exc)
        if not self._release():
            return error
        try:
            self._write(report)
        except OSError as exc:
            return str(exc.strerror or exc)
        return None

    def close(self) -> None:
        """Delete the reserve (the batch is over)."""
        self._release()

    # ------------------------------------------------------------------ the reserve

    def _free_share(self) -> int | None:
        """A quarter of the free space in the folder (None: unknown)."""
        try:
            stats = os.statvfs(self.path.parent)
        except (OSError, AttributeError):
            return None
        return stats.f_bavail * stats.f_frsize // FREE_SHARE

    def _make_reserve(self, wanted: int) -> int:
        """Reserve room for the final report: ``wanted`` bytes, at most a quarter of the free
        space, halved until the disk takes it; returns the bytes reserved (0: none)."""
        share = self._free_share()
        size = max(min(wanted, share) if share is not None else wanted, MIN_RESERVE)
        while size >= MIN_RESERVE:
            try:
                fd = os.open(self.reserve, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError:
                return 0
            try:
                try:
                    _allocate(fd, 0, size)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                self.reserve.unlink(missing_ok=True)
                size //= 2
                continue
            return size
        return 0

    def _fit_reserve(self, wanted: int) -> None:
        """Grow the reserve towards ``wanted`` bytes when it is short by more than a tenth
        (as far as the disk allows), shrink it when it is more than twice that (giving the
        room back to the workbooks)."""
        if not self.reserved or not wanted:
            return
        share = self._free_share()
        if wanted > self.reserved * 1.1:
            grow = wanted - self.reserved
            if share is not None:
                grow = min(grow, share)
            if grow <= 0:
                return
            try:
                fd = os.open(self.reserve, os.O_WRONLY)
                try:
                    _allocate(fd, self.reserved, grow)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:  # what is allocated stays; the file's size says how much
                pass
        elif wanted * 2 < self.reserved:
            try:
                os.truncate(self.reserve, max(wanted, MIN_RESERVE))
            except OSError:
                pass
        else:
            return
        try:
            self.reserved = max(os.stat(self.reserve).st_size, 1)
        except OSError:
            self.reserved = 0

    def _release(self) -> bool:
        """Delete the reserve; True when there was one."""
        if not self.reserved:
            return False
        self.reserved = 0
        try:
            self.reserve.unlink()
        except FileNotFoundError:
            return False
        except OSError:
            return False
        return True

    def _remove_stale_reserves(self) -> None:
        """Delete the reserves of batches that were killed before they could."""
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return
        for name in names:
            match = _RESERVE.fullmatch(name)
            if (match and match["host"] == _host() and int(match["pid"]) != os.getpid()
                    and not _alive(int(match["pid"]))):
                try:
                    (self.path.parent / name).unlink()
                except OSError:
                    pass
