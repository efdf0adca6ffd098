"""Terminal output that a closed pipe cannot break.

``omplan run … | head -1`` closes stdout while omplan still has work to do. A closed output
is a reason to stop printing, not to stop working: :class:`PipeSafe` swallows the
``BrokenPipeError``, points the file descriptor at ``/dev/null`` (so that Python's final flush
at exit does not print "Exception ignored … BrokenPipeError") and drops further output.
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


class PipeSafe:
    """A text stream wrapper that stops writing, silently, once the reader has gone."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._broken()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broken()

    def _broken(self) -> None:
        self.closed_pipe = True
        _silence(self._stream)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


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
        except (OSError, ValueError):
            pass
