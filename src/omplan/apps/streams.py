"""Terminal output that a closed pipe cannot break.

``omplan run … | head -1`` closes stdout while omplan still has work to do. A closed output
is a reason to stop printing, not to stop working: :class:`PipeSafe` swallows the
``BrokenPipeError``, points the file descriptor at ``/dev/null`` (so that Python's final flush
at exit does not print "Exception ignored … BrokenPipeError") and drops further output.

``omplan run … >&-`` goes further: standard output is closed before omplan starts, Python
sets ``sys.stdout`` to None, and the next file omplan opens would get descriptor 1 (and with
it whatever a child process prints). :func:`reopen_closed_standard_streams` points a closed
0, 1 or 2 at ``/dev/null`` before anything else is opened.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


def _silence(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null and drop what is buffered."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _null_text(mode: str) -> Any:
    """A text stream on /dev/null: what a closed standard stream becomes."""
    return open(os.devnull, mode, encoding="utf-8")  # noqa: SIM115 - lives until exit


class PipeSafe:
    """A text stream wrapper that stops writing, silently, once the reader has gone (a
    closed pipe, a closed or missing stream, an output that fails: a full disk, EIO)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.closed_pipe = stream is None
        self._stream: TextIO = stream if stream is not None else _null_text("w")

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._broken()
            except (OSError, ValueError):  # a full disk, a stream closed under us
                self.closed_pipe = True
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broken()
            except (OSError, ValueError):
                self.closed_pipe = True

    def _broken(self) -> None:
        self.closed_pipe = True
        _silence(self._stream)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def reopen_closed_standard_streams() -> list[str]:
    """Point standard input, output or error at /dev/null when it was closed before omplan
    started (``omplan … >&-``), and give Python a stream for it; returns the names of the
    streams that were closed.

    Without this the first file omplan opens gets the closed descriptor: a worker process
    or a library printing to "standard output" would write into a report being written.
    """
    closed = []
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if not _fd_open(fd):
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            closed.append(name)
        if getattr(sys, name) is None or name in closed:
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115
    return closed


def stdout() -> PipeSafe:
    """``sys.stdout`` (as it is now: test runners replace it), safe from a closed pipe."""
    return PipeSafe(sys.stdout)


def stderr() -> PipeSafe:
    """``sys.stderr``, safe from a closed pipe."""
    return PipeSafe(sys.stderr)


def echo(line: str, err: bool = False) -> None:
    """Print one line; a closed pipe ends the printing, never the work."""
    stream = stderr() if err else stdout()
    stream.write(line + "\n")
    stream.flush()


def flush_at_exit() -> None:
    """Flush stdout and stderr before the interpreter does, so that a reader that went away
    costs no "Exception ignored" message at exit."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            _silence(stream)
        except (OSError, ValueError, AttributeError):
            pass
