"""Write the TBM export (``omplan run PLAN --tbm FILE.csv``): UTF-8, comma-separated, a header
row, CRLF line ends (RFC 4180), amounts at full float precision; written to a temporary file
beside the target and renamed over it, so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from omplan.core.ledger import Evaluation
from omplan.core.tbm import TBM_COLUMNS, TbmRule, tbm_frame
from omplan.files.xlsxio import new_file_mode
from omplan.input.tbm import DEFAULT_TAXONOMY, load_taxonomy

#: rows written per chunk (memory stays flat however large the ledger)
CHUNK_ROWS = 200_000


def csv_field(text: str) -> str:
    """A CSV field (RFC 4180): in double quotes, inner quotes doubled, when it holds a comma,
    a quote or a line break."""
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _column_text(series: pd.Series) -> Callable[[slice], np.ndarray]:
    """The column's cells as CSV fields, for a slice of rows: a categorical column formats
    each category once; numbers as Python writes them (floats at full precision, the
    shortest text that reads back as the same number)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        fields = np.array([csv_field(str(c)) for c in series.cat.categories] + [""],
                          dtype=object)
        codes = series.cat.codes.to_numpy()  # -1 (missing) picks the trailing ""
        return lambda rows: fields[codes[rows]]
    values = series.to_numpy()
    if values.dtype.kind == "f":
        return lambda rows: np.array(list(map(repr, values[rows].tolist())), dtype=object)
    if values.dtype.kind in "iu":
        return lambda rows: values[rows].astype(str).astype(object)
    return lambda rows: np.array([csv_field("" if v is None else str(v))
                                  for v in values[rows].tolist()], dtype=object)


def _write_rows(frame: pd.DataFrame, handle: TextIO) -> None:
    """The header and every row, CHUNK_ROWS rows at a time."""
    write = handle.write
    write(",".join(TBM_COLUMNS) + "\r\n")
    columns = [_column_text(frame[c]) for c in TBM_COLUMNS]
    for start in range(0, len(frame), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        lines = map(",".join, zip(*(column(rows) for column in columns), strict=True))
        write("\r\n".join(lines) + "\r\n")


def write_tbm_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the rows of :func:`omplan.core.tbm.tbm_frame` to ``path`` atomically."""
    target = Path(path)
    mode = new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _write_rows(frame, handle)
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
