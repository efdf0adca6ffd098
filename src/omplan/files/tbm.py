"""Write the TBM export (``omplan run PLAN --tbm FILE.csv``): UTF-8, comma-separated, a header
row, CRLF line ends (RFC 4180), amounts at full float precision; written to a temporary file
beside the target and renamed over it, so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from omplan.core.ledger import Evaluation
from omplan.core.tbm import TBM_COLUMNS, TbmRule, tbm_frame
from omplan.files.xlsxio import new_file_mode
from omplan.input.tbm import DEFAULT_TAXONOMY, load_taxonomy

#: rows written per chunk (memory stays flat however large the ledger)
CHUNK_ROWS = 200_000


def write_tbm_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the rows of :func:`omplan.core.tbm.tbm_frame` to ``path`` atomically."""
    target = Path(path)
    mode = new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, columns=list(TBM_COLUMNS), index=False, lineterminator="\r\n",
                         chunksize=CHUNK_ROWS)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
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


def export_tbm(evaluation: Evaluation, path: str | os.PathLike[str],
               taxonomy: str = DEFAULT_TAXONOMY, overrides: Sequence[TbmRule] = ()) -> Path:
    """The TBM export of an evaluated plan in one call: classify (``taxonomy`` 4.1 or 5.0,
    then the TBM sheet's ``overrides``) and write."""
    return write_tbm_csv(tbm_frame(evaluation, load_taxonomy(taxonomy), overrides), path)


__all__ = ["export_tbm", "write_tbm_csv"]
