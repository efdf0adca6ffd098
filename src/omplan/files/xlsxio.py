"""Saving openpyxl workbooks safely: deterministic bytes and atomic replacement."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_XML = "docProps/core.xml"


def source_date(default: dt.datetime | None = None) -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` as a naive UTC datetime when set, else ``default`` or now (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None)
    if default is not None:
        return default
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def workbook_bytes(wb: Any, timestamp: dt.datetime | None = None) -> bytes:
    """The .xlsx bytes of an openpyxl workbook; with ``timestamp``, the same input gives the
    same bytes (fixed document dates and zip member times)."""
    buffer = io.BytesIO()
    if timestamp is None:
        wb.save(buffer)
        return buffer.getvalue()
    from openpyxl.xml.functions import tostring

    props = wb.properties
    props.creator = props.creator or "omplan"
    props.lastModifiedBy = "omplan"
    props.created = timestamp
    wb.save(buffer)  # openpyxl stamps `modified` with the current time: restore it below
    props.modified = timestamp
    core_xml = tostring(props.to_tree())
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            content = core_xml if info.filename == _CORE_XML else zin.read(info)
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o600 << 16
            zout.writestr(member, content)
    return out.getvalue()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-by-setting, restored at once
    os.umask(mask)
    return mask


def new_file_mode(target: str | os.PathLike[str]) -> int:
    """The permissions a file written to ``target`` gets: those of the file it replaces, or,
    for a new file, what ``open()`` would give it (``0o666`` less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes,
                       like: os.stat_result | None = None) -> Path:
    """Write ``data`` to a temporary file beside ``path`` (``.<name>.*.tmp``, never named like
    the target), fsync it, then replace ``path`` and fsync the folder.

    The new file keeps the permissions of the file it replaces; a new file gets ``0o666``
    less the umask, like any file a program creates (the temporary file starts private,
    ``0o600``, and gets its final mode before the rename). With ``like``, the new file takes
    that file's permissions (and owner, where allowed) instead.

    A crash at any moment leaves either the old file or the new one, never half of one.
    """
    target = Path(path)
    mode = stat.S_IMODE(like.st_mode) if like is not None else new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
            if like is not None:
                try:
                    os.fchown(handle.fileno(), like.st_uid, like.st_gid)
                except OSError:  # not ours to give away: keep our own ownership
                    pass
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return target


def save_workbook(wb: Any, path: str | os.PathLike[str],
                  timestamp: dt.datetime | None = None) -> Path:
    """Save an openpyxl workbook atomically (and deterministically with ``timestamp``)."""
    return atomic_write_bytes(path, workbook_bytes(wb, timestamp))
