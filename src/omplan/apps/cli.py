"""The ``omplan`` command line: run a plan, run the demo.

Exit status: 0 success (warnings allowed), 2 input errors, 1 internal error. No traceback
reaches the user unless ``OMPLAN_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from omplan.apps import streams
from omplan.apps.terminal import console, print_errors, print_summary
from omplan.core.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from omplan.pipeline import PlanRun

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def sample_plan_path() -> Path:
    """The sample plan shipped inside the package."""
    return Path(__file__).resolve().parents[1] / "data" / "sample_plan.xlsx"


def _err(line: str) -> None:
    streams.echo(line, err=True)


def _write_json(summary: dict[str, Any], path: Path) -> str | None:
    """Write the JSON summary atomically (a random temporary name beside it, then a rename);
    returns why it could not be written, or None."""
    from omplan.files.xlsxio import atomic_write_bytes

    text = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        return f"omplan: the JSON summary could not be written to {path}: {exc.strerror or exc}"
    return None


def run_command(plan_path: Path, json_path: Path | None, out_path: Path | None = None,
                writeback: bool = False, actuals_path: Path | None = None,
                csv_decimal: str = "auto") -> int:
    """``omplan run``: the files are written first, then the summary is printed (a closed
    stdout costs the printing, never the files)."""
    from omplan.apps.outputs import check_json_path, check_out_path
    from omplan.pipeline import run_plan

    problem = None
    if json_path is not None:
        problem = check_json_path(json_path, plan_path, actuals_path)
    if problem is None and out_path is not None:
        problem = check_out_path(out_path, plan_path, actuals_path)
    if problem is not None:  # before anything is run: never over a file of the user's
        _err(problem)
        return EXIT_INPUT
    run = run_plan(plan_path, actuals_path, csv_decimal=csv_decimal)
    status = EXIT_OK
    done: list[str] = []
    if json_path is not None:
        if problem := _write_json(run.summary(), json_path):
            _err(problem)
            status = EXIT_INPUT
        else:
            done.append(f"JSON summary written to {json_path}")
    if not run.ok:
        if out_path is not None:
            _err(f"omplan: no report written to {out_path}: the plan has errors")
        errors = run.figures.errors
        if len(errors) == 1 and not errors[0].location:  # a file-level problem: one sentence
            _err(errors[0].message)
            return EXIT_INPUT
        from rich.text import Text

        n = len(errors)
        console(stderr=True).print(Text(f"{plan_path.name}: {n} error{'s' if n != 1 else ''}"
                                        "; no figures were produced", style="red"))
        print_errors(errors)
        return EXIT_INPUT
    if out_path is not None:
        report_status, lines = _write_report(run, out_path)
        status = max(status, report_status)
        done += lines
    if writeback:
        back_status, lines = _write_back(run, plan_path)
        status = max(status, back_status)
        done += lines
    print_summary(run.figures)
    out = console()
    for line in done:
        out.print(line, soft_wrap=not out.is_terminal)
    return status


def _write_back(run: PlanRun, plan_path: Path) -> tuple[int, list[str]]:
    """Write the report sheets into the plan itself, or beside it when its package cannot be
    grafted into; returns the exit status and the lines to print."""
    from omplan.files.report import ReportError
    from omplan.files.writeback import WritebackRefused, write_into
    from omplan.report.layout import ReportTooLarge

    try:
        result = write_into(run, plan_path)
    except (WritebackRefused, ReportError, ReportTooLarge, OSError) as exc:
        _err(f"omplan: {exc}")
        return EXIT_INPUT, []
    if result.in_place and result.backup is not None:
        lines = [f"Report sheets written into {plan_path} (the previous version is kept as "
                 f"{result.backup.name}); everything of yours was checked to be byte for byte "
                 "as it was."]
        for ours, used in result.renamed.items():
            lines.append(f"Your workbook has its own sheet '{ours}', so the report's "
                         f"'{ours}' sheet is named '{used}'.")
        return EXIT_OK, lines
    return EXIT_OK, [f"{plan_path.name} was not changed: omplan cannot write into it "
                     f"({result.reason}); the report is in {result.target} instead."]


def _write_report(run: PlanRun, out_path: Path) -> tuple[int, list[str]]:
    """Write the report workbook; a report that cannot be written is a clear message."""
    from omplan.files.report import ReportError, write_report
    from omplan.report.layout import ReportTooLarge

    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_report(run, out_path)
    except (ReportError, ReportTooLarge, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        _err(f"omplan: no report written to {out_path}: {why}")
        return EXIT_INPUT, []
    return EXIT_OK, [f"Report written to {out_path}"]


def _guard(func: Callable[..., int], *args: Any) -> int:
    """Run a command; turn any unexpected exception into exit 1 with one readable line."""
    try:
        return func(*args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: never a traceback for users
        if os.environ.get("OMPLAN_DEBUG"):
            raise
        _err(f"omplan: internal error: {type(exc).__name__}: {exc}. This is a bug in "
             "omplan; rerun with OMPLAN_DEBUG=1 to see the details and report them.")
        return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"],
                               "max_content_width": 100})
@click.version_option(__version__, prog_name="omplan")
def cli() -> None:
    """omplan: the IT operation vs maintenance budget, from headcount, rates and sourcing."""


@cli.command(short_help="Check a plan, compute every scenario and print the split.")
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON summary to this file (a new .json file, or one omplan "
                   "wrote before; never the plan or a file of yours).")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report workbook (.xlsx) to this file (a new one, or one omplan "
                   "wrote before).")
@click.option("--writeback", is_flag=True,
              help="Write the report sheets into PLAN itself (only omplan's own sheets are "
                   "replaced; PLAN.bak keeps the previous version).")
@click.option("--actuals", "actuals_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Compare actual spend from this file with the budget (.csv, or an .xlsx/"
                   ".xlsm with an Actuals sheet; used instead of PLAN's own Actuals sheet).")
@click.option("--csv-decimal", type=click.Choice(["auto", "comma", "point"]), default="auto",
              show_default=True,
              help="How the --actuals .csv writes amounts: comma (5.921,13, as European "
                   "exports do), point (5,921.13), or auto: found from the file.")
def run(plan: Path, json_path: Path | None, out_path: Path | None, writeback: bool,
        actuals_path: Path | None, csv_decimal: str) -> None:
    """Check a plan workbook, compute every scenario and print the split."""
    sys.exit(_guard(run_command, plan, json_path, out_path, writeback, actuals_path,
                    csv_decimal))


@cli.command(short_help="Run the shipped sample plan and write its report workbook.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the JSON summary to this file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the report workbook "
                   "[default: omplan-demo/<plan>_report.xlsx].")
def demo(json_path: Path | None, out_path: Path | None) -> None:
    """Run the shipped sample plan and write its report workbook."""
    path = sample_plan_path()
    console().print(f"Sample plan: {path}")
    out = out_path or Path("omplan-demo") / f"{path.stem}_report.xlsx"
    sys.exit(_guard(run_command, path, json_path, out))


@cli.command(short_help="Write an input template workbook (.xlsm: with the Run button).")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--sample", is_flag=True, help="Fill the template with the sample plan.")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def new(path: Path, sample: bool, force: bool) -> None:
    """Write an input template workbook (Excel Tables, drop-downs, a 'Start here' sheet);
    PATH ending in .xlsm gets the Run scenarios button (xlwings)."""
    sys.exit(_guard(new_command, path, sample, force))


def new_command(path: Path, sample: bool, force: bool) -> int:
    from omplan.files.template import write_template

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        _err(f"{path.name}: the template is an .xlsx workbook (or an .xlsm with the Run "
                   "button); give a name ending in .xlsx or .xlsm")
        return EXIT_INPUT
    companion = None
    if suffix == ".xlsm":
        from omplan.files.xlsm import XlsmNameError, companion_module

        try:
            stem = companion_module(path)
        except XlsmNameError as problem:
            _err(f"{problem}; nothing was written")
            return EXIT_INPUT
        companion = path.with_suffix(".py") if stem else None
    existing = [p for p in (path, companion) if p is not None and p.exists()]
    if existing and not force:
        _err(f"{existing[0]} already exists; nothing was written (use --force to "
             "replace it)")
        return EXIT_INPUT
    if not path.parent.is_dir():
        _err(f"folder {path.parent} does not exist; nothing was written")
        return EXIT_INPUT
    try:
        write_template(path, sample=sample)
    except FileNotFoundError as problem:  # xlwings' quickstart workbook is missing
        _err(f"{problem}; nothing was written")
        return EXIT_INPUT
    except OSError as exc:  # a full disk, a read-only folder: the old file, if any, is kept
        _err(f"omplan: {path} could not be written: {exc.strerror or exc}; nothing was "
             "written")
        return EXIT_INPUT
    what = "the sample plan" if sample else "an empty plan"
    if suffix == ".xlsm":
        beside = f" and {companion.name} (keep it beside the workbook)" if companion else ""
        console().print(f"Wrote {path}{beside} with {what}. Fill in the yellow cells, then "
                         "press Run scenarios on the Start here sheet (needs the xlwings "
                         "add-in: xlwings addin install), or run: omplan run "
                         f"{path}")
        return EXIT_OK
    console().print(f"Wrote {path} with {what}. Fill in the yellow cells, then run: "
                     f"omplan run {path}")
    return EXIT_OK


@cli.command(short_help="Quarterly budgets for many plans, with rollups and a report.")
@click.argument("plans", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="PLAN_OR_DIR...")
@click.option("--quarter", required=True, metavar="QUARTER",
              help="The quarter to budget: Q1–Q4 of the plan's first fiscal year, "
                   "FY<year>Q<n> (e.g. FY2028Q2) for a quarter of a later year, or all for "
                   "every quarter of the plan's horizon.")
@click.option("--out", "out_dir", required=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the workbooks and batch_report.json (created if missing).")
@click.option("--scenario", default="Baseline", show_default=True,
              help="The scenario every plan is budgeted with.")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Local worker processes [default: one per CPU].")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask scheduler (tcp://host:port); plans and --out "
                   "must be on a folder every worker sees.")
@click.option("--quiet", is_flag=True, help="No progress and no summary; failures only.")
def batch(plans: tuple[Path, ...], quarter: str, out_dir: Path, scenario: str,
          jobs: int | None, scheduler: str | None, quiet: bool) -> None:
    """Quarterly budget workbooks for many plans (files or folders), rollups and a report.

    Exit status 0 when every plan succeeded, 2 when any failed or an output could not be
    written (see DIR/batch_report.json), 130/143 when Ctrl-C/SIGTERM stopped it.
    """
    from omplan.apps.batch import batch_command

    sys.exit(_guard(batch_command, list(plans), quarter, out_dir, scenario, jobs, scheduler,
                    quiet))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    # omplan's arrays need no BLAS threads; starting OpenBLAS's pool costs ~50 ms a command
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # ``omplan … >&-``: a closed stdout or stderr costs the printing, never the work
    streams.reopen_closed_standard_streams()
    if not isinstance(sys.stdout, streams.PipeSafe):  # click's own output (--help) too
        sys.stdout = streams.PipeSafe(sys.stdout)  # type: ignore[assignment]
    try:
        cli.main(args=argv, prog_name="omplan")
    finally:  # a reader that went away (omplan … | head) costs no message at exit
        streams.flush_at_exit()


if __name__ == "__main__":  # pragma: no cover
    main()
