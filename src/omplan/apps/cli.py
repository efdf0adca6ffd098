"""The ``omplan`` command line: run a plan, run the demo.

Exit status: 0 success (warnings allowed), 2 input errors, 1 internal error. No traceback
reaches the user unless ``OMPLAN_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import click

from omplan.core.version import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def _console(stderr: bool = False):
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = 120  # logs and pipes: wide enough for the summary table
    return console


def sample_plan_path() -> Path:
    """The sample plan shipped inside the package."""
    return Path(str(resources.files("omplan") / "data" / "sample_plan.xlsx"))


def _fmt_money(value: float) -> str:
    return f"{value:,.0f}"


def _fmt_share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def print_summary(summary: dict[str, Any], findings: list[dict[str, str]]) -> None:
    """A readable summary table and the findings, on stdout."""
    from rich.table import Table

    console = _console()
    cur = summary["currency"]
    band = summary["band"]
    target = summary["target_operation_share"]
    title = (f"{summary['plan']} — FY{summary['fiscal_year']} ({cur}); band "
             f"{band['low']:.0%}–{band['high']:.0%}, target operation share {target:.1%}")
    table = Table(title=title, title_justify="left")
    table.add_column("Scenario")
    for head in ("Total", "Operation", "Maintenance"):
        table.add_column(f"{head} ({cur})", justify="right")
    table.add_column("Op. share", justify="right")
    table.add_column("Band status")
    table.add_column("vs target", justify="right")
    styles = {"within": "green", "operation-heavy": "red", "maintenance-heavy": "red"}
    for s in summary["scenarios"]:
        share = s["operation_share"]
        diff = "–" if share is None else f"{(share - target) * 100:+.1f} pp"
        table.add_row(s["name"], _fmt_money(s["total"]), _fmt_money(s["operation"]),
                      _fmt_money(s["maintenance"]), _fmt_share(share),
                      f"[{styles.get(s['band_status'], '')}]{s['band_status']}[/]", diff)
    console.print(table)
    print_findings(findings)


def print_findings(findings: list[dict[str, str]], stderr: bool = False) -> None:
    if not findings:
        return
    console = _console(stderr)
    colour = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        where = f"{f['location']}: " if f["location"] else ""
        scenario = f"[{f['scenario']}] " if f.get("scenario") else ""
        console.print(f"[{colour[f['severity']]}]{f['severity']}[/] {scenario}{where}"
                      f"{f['message']} [dim]({f['code']})[/]", markup=True, soft_wrap=True)


def _all_findings(summary: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for s in summary["scenarios"]:
        out += [{**f, "scenario": s["name"]} for f in s["findings"]]
    return out


def _write_json(summary: dict[str, Any], path: Path) -> None:
    text = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run_command(plan_path: Path, json_path: Path | None, out_path: Path | None = None,
                writeback: bool = False) -> int:
    from omplan.files.run import run_plan

    run = run_plan(plan_path)
    summary = run.summary()
    if json_path is not None:
        _write_json(summary, json_path)
    if not run.ok:
        if out_path is not None:
            click.echo(f"omplan: no report written to {out_path}: the plan has errors", err=True)
        errors = summary["errors"]
        if len(errors) == 1 and not errors[0]["location"]:  # a file-level problem: one sentence
            click.echo(errors[0]["message"], err=True)
            return EXIT_INPUT
        n = len(errors)
        _console(stderr=True).print(f"[red]{plan_path.name}: {n} error{'s' if n != 1 else ''}; "
                                    "no figures were produced[/]")
        for f in errors:
            where = f"{f['location']}: " if f["location"] else ""
            click.echo(f"{where}{f['message']}", err=True)
        return EXIT_INPUT
    print_summary(summary, _all_findings(summary))
    if json_path is not None:
        _console().print(f"JSON summary written to {json_path}")
    if out_path is not None and (status := _write_report(run, out_path)) != EXIT_OK:
        return status
    if writeback:
        return _write_back(run, plan_path)
    return EXIT_OK


def _write_back(run, plan_path: Path) -> int:
    """Write the report sheets into the plan itself, or beside it when its package cannot be
    grafted into."""
    from omplan.files.report import ReportError
    from omplan.files.writeback import WritebackRefused, write_into

    try:
        result = write_into(run, plan_path)
    except (WritebackRefused, ReportError, OSError) as exc:
        click.echo(f"omplan: {exc}", err=True)
        return EXIT_INPUT
    console = _console()
    if result.in_place:
        console.print(f"Report sheets written into {plan_path} (the previous version is kept "
                      f"as {result.backup.name}); everything of yours was checked to be "
                      "byte for byte as it was.")
        for ours, used in result.renamed.items():
            console.print(f"Your workbook has its own sheet '{ours}', so the report's "
                          f"'{ours}' sheet is named '{used}'.")
    else:
        console.print(f"{plan_path.name} was not changed: omplan cannot write into it "
                      f"({result.reason}); the report is in {result.target} instead.",
                      soft_wrap=True)
    return EXIT_OK


def _write_report(run, out_path: Path) -> int:
    """Write the report workbook; a report that cannot be written is a clear message."""
    from omplan.files.report import ReportError, write_run_report

    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_run_report(run, out_path)
    except (ReportError, OSError) as exc:
        click.echo(f"omplan: no report written to {out_path}: {exc}", err=True)
        return EXIT_INPUT
    _console().print(f"Report written to {out_path}")
    return EXIT_OK


def _guard(func, *args) -> int:
    """Run a command; turn any unexpected exception into exit 1 with one readable line."""
    try:
        return func(*args)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # the last line of defence: never a traceback for users
        if os.environ.get("OMPLAN_DEBUG"):
            raise
        click.echo(f"omplan: internal error: {type(exc).__name__}: {exc}. This is a bug in "
                   "omplan; rerun with OMPLAN_DEBUG=1 to see the details and report them.",
                   err=True)
        return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omplan")
def cli() -> None:
    """omplan: the IT operation vs maintenance budget, from headcount, rates and sourcing."""


@cli.command()
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON summary (spec §6) to this file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report workbook (.xlsx) to this file.")
@click.option("--writeback", is_flag=True,
              help="Write the report sheets into PLAN itself (only omplan's own sheets are "
                   "replaced; PLAN.bak keeps the previous version).")
def run(plan: Path, json_path: Path | None, out_path: Path | None, writeback: bool) -> None:
    """Check a plan workbook, compute every scenario and print the split."""
    sys.exit(_guard(run_command, plan, json_path, out_path, writeback))


@cli.command()
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the JSON summary to this file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the report workbook "
                   "[default: omplan-demo/<plan>_report.xlsx].")
def demo(json_path: Path | None, out_path: Path | None) -> None:
    """Run the shipped sample plan and write its report workbook."""
    path = sample_plan_path()
    _console().print(f"Sample plan: {path}")
    out = out_path or Path("omplan-demo") / f"{path.stem}_report.xlsx"
    sys.exit(_guard(run_command, path, json_path, out))


@cli.command()
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
        click.echo(f"{path.name}: the template is an .xlsx workbook (or an .xlsm with the Run "
                   "button); give a name ending in .xlsx or .xlsm", err=True)
        return EXIT_INPUT
    companion = None
    if suffix == ".xlsm":
        from omplan.files.xlsm import XlsmNameError, companion_module

        try:
            stem = companion_module(path)
        except XlsmNameError as problem:
            click.echo(f"{problem}; nothing was written", err=True)
            return EXIT_INPUT
        companion = path.with_suffix(".py") if stem else None
    existing = [p for p in (path, companion) if p is not None and p.exists()]
    if existing and not force:
        click.echo(f"{existing[0]} already exists; nothing was written (use --force to "
                   "replace it)", err=True)
        return EXIT_INPUT
    if not path.parent.is_dir():
        click.echo(f"folder {path.parent} does not exist; nothing was written", err=True)
        return EXIT_INPUT
    try:
        write_template(path, sample=sample)
    except FileNotFoundError as problem:  # xlwings' quickstart workbook is missing
        click.echo(f"{problem}; nothing was written", err=True)
        return EXIT_INPUT
    what = "the sample plan" if sample else "an empty plan"
    if suffix == ".xlsm":
        beside = f" and {companion.name} (keep it beside the workbook)" if companion else ""
        _console().print(f"Wrote {path}{beside} with {what}. Fill in the yellow cells, then "
                         "press Run scenarios on the Start here sheet (needs the xlwings "
                         "add-in: xlwings addin install), or run: omplan run "
                         f"{path}")
        return EXIT_OK
    _console().print(f"Wrote {path} with {what}. Fill in the yellow cells, then run: "
                     f"omplan run {path}")
    return EXIT_OK


@cli.command()
@click.argument("plans", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="PLAN_OR_DIR...")
@click.option("--quarter", required=True, metavar="[Q1|Q2|Q3|Q4|all]",
              type=click.Choice(["Q1", "Q2", "Q3", "Q4", "all"], case_sensitive=False),
              help="The fiscal quarter to budget, or all four.")
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

    Exit status 0 when every plan succeeded, 2 when any failed (see DIR/batch_report.json).
    """
    from omplan.apps.batch import batch_command

    sys.exit(_guard(batch_command, list(plans), quarter, out_dir, scenario, jobs, scheduler,
                    quiet))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="omplan")


if __name__ == "__main__":  # pragma: no cover
    main()
