"""Batch progress: a bar on a terminal, one plain line per plan otherwise, or nothing.

File names and error messages are printed literally (never read as console markup), and a
closed stdout stops the printing, not the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omplan.apps.batch.tasks import PlanResult


class Progress:
    """Silent progress; the base of the plain-lines and the rich progress bar."""

    def start(self, total: int) -> None:  # noqa: B027 - deliberately empty
        pass

    def advance(self, result: PlanResult, done: int, total: int) -> None:  # noqa: B027
        pass

    def stop(self) -> None:  # noqa: B027
        pass


def status_line(result: PlanResult) -> str:
    """``ok      bu03.xlsx: 4 workbooks`` or ``failed  bu07.xlsx: Location: message``."""
    if result.ok:
        n = len(result.outputs)
        return f"ok      {result.file}: {n} workbook{'s' if n != 1 else ''}"
    return f"failed  {result.file}: {result.first_error()}"


class LineProgress(Progress):
    """One plain line per finished plan (logs, pipes, cron mail)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def advance(self, result: PlanResult, done: int, total: int) -> None:
        width = len(str(total))
        self.echo(f"[{done:>{width}}/{total}] {status_line(result)}")


class RichProgress(Progress):
    """A progress bar on a terminal; failures are printed above it as they happen."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.bar = Bar(TextColumn("[bold]omplan batch"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                       TextColumn("{task.description}", markup=False), console=console)
        self.task: Any = None

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def advance(self, result: PlanResult, done: int, total: int) -> None:
        if not result.ok:
            from rich.text import Text

            line = Text("failed", style="red")
            line.append(f" {result.file}: {result.first_error()}")
            self.bar.console.print(line, highlight=False, soft_wrap=True)
        self.bar.update(self.task, completed=done, description=result.file)

    def stop(self) -> None:
        self.bar.stop()


def make_progress(enabled: bool, echo: Callable[[str], None] | None = None) -> Progress:
    """A bar on a terminal, plain lines otherwise, nothing when disabled."""
    if not enabled:
        return Progress()
    from rich.console import Console

    from omplan.apps import streams

    stream: Any = streams.stdout()  # a text stream that survives a closed pipe
    console = Console(file=stream, highlight=False)
    if console.is_terminal:
        return RichProgress(console)
    return LineProgress(echo or streams.echo)
