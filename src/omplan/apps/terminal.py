"""The terminal's view of a run: the scenario table, the years, the business case, plan vs
actual, and the findings grouped by code; all read from the run's typed figures.

Tables fit the console (80 columns on a terminal of that width, ``COLUMNS`` when set, 120 in
logs); findings are wrapped to at most 80 columns. A plan of 20,000 lines can have thousands
of findings: the terminal shows a few of each code and counts the rest, the JSON summary and
the report's Checks sheet list every one.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from omplan.apps import streams
from omplan.core.findings import SEVERITY_ORDER, Finding

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.table import Table

    from omplan.core.actuals import ActualsFigures
    from omplan.core.summary import PlanFigures, ScenarioFigures

#: findings shown per code; the others are counted ("… and 12 more duplicate-line")
FINDINGS_PER_CODE = 3
#: findings are wrapped to this width at most (or the console's, when narrower)
FINDINGS_WIDTH = 80
#: where every finding is, when the terminal leaves some out
ALL_LISTED = "the JSON summary and the report's Checks sheet list every one"
ERRORS_LISTED = "omplan run PLAN --json FILE lists every one"
_CODE_AT_END = re.compile(r" \(([a-z0-9-]+)\)$")
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}
_BAND_STYLES = {"within": "green", "operation-heavy": "red", "maintenance-heavy": "red"}


def console(stderr: bool = False) -> Console:
    """A console that prints text as it is (no markup in user text) and survives a closed
    pipe; 80 columns or the terminal's width, ``COLUMNS`` when set, else 120 in logs."""
    from rich.console import Console

    stream: Any = streams.stderr() if stderr else streams.stdout()  # a text stream
    out = Console(file=stream, highlight=False, markup=False, emoji=False)
    if not out.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        out.width = 120  # logs and pipes: wide enough for the summary table
    return out


def fmt_money(value: float, signed: bool = False) -> str:
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def fmt_share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def fmt_points(share: float | None, target: float) -> str:
    """Operation share minus target in percentage points (the workbooks' "Share vs
    target")."""
    return "–" if share is None else f"{(share - target) * 100:+.1f} pp"


def print_summary(figures: PlanFigures, *, findings: bool = True) -> None:
    """The scenario table (80 columns wide at most), the years, the business case, plan vs
    actual and (``findings``) the findings grouped by code, on stdout."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    cur = figures.currency
    target = _target(figures)
    title = Text(f"{figures.plan} — {_horizon_text(figures)}, amounts in {cur}; band "
                 f"{figures.band_low or 0:.0%}–{figures.band_high or 0:.0%}, target operation "
                 f"share {target:.1%}")
    rows = []
    for s in figures.scenarios:
        share = s.operation_share
        rows.append([s.name, fmt_money(s.total), fmt_money(s.operation),
                     fmt_money(s.maintenance), fmt_share(share), s.band_status,
                     fmt_points(share, target)])
    heads = ["Scenario", "Total", "Operation", "Maintenance", "Op. share", "Band status",
             "Share vs target"]
    table = Table(title=title, title_justify="left", box=None, pad_edge=False,
                  title_style="", header_style="bold underline")
    # one line per scenario when the console is wide enough; else headers wrap at spaces,
    # then scenario names do: figures are never cut
    natural = [max([len(r[i]) for r in rows] + [len(head)]) for i, head in enumerate(heads)]
    narrow = [max([len(r[i]) for r in rows] + [len(w) for w in head.split()])
              for i, head in enumerate(heads)]
    fits = sum(natural) + 2 * (len(heads) - 1) <= out.width
    widths = natural if fits else narrow
    table.add_column(heads[0], min_width=8, ratio=None if fits else 1)
    for i, head in enumerate(heads[1:], start=1):
        table.add_column(head, justify="left" if i == 5 else "right", width=widths[i])
    for r in rows:
        table.add_row(Text(r[0]), *r[1:5], Text(r[5], style=_BAND_STYLES.get(r[5], "")), r[6])
    out.print(table)
    _print_years(out, figures)
    _print_business_case(out, figures)
    if figures.actuals is not None:
        _print_actuals(out, figures.actuals)
    if findings:
        print_findings(scenario_findings(figures), out=out)


def _target(figures: PlanFigures) -> float:
    return figures.target_operation_share or 0.0


def _years(figures: PlanFigures) -> int:
    return int(figures.horizon_years or 1)


def _horizon_text(figures: PlanFigures) -> str:
    """``FY2027`` for one year; ``FY2027–FY2029 (3-year totals)`` for several."""
    first, years = figures.fiscal_year, _years(figures)
    if years == 1 or first is None:
        return f"FY{first}"
    return f"FY{first}–FY{first + years - 1} ({years}-year totals)"


def _print_years(out: Console, figures: PlanFigures) -> None:
    """Total per fiscal year and scenario, for a plan over several years: as many years side
    by side as the console holds, the next ones in another table below."""
    if _years(figures) == 1:
        return
    from rich.table import Table
    from rich.text import Text

    scenarios = figures.scenarios
    years = [y.fiscal_year for y in scenarios[0].years]
    cells = [[fmt_money(y.total) + ("*" if y.band_status not in ("within", "no-cost")
                                    else " ") for y in s.years] for s in scenarios]
    widths = [max([len(f"FY{year}")] + [len(row[i]) for row in cells])
              for i, year in enumerate(years)]
    name_width = max(8, min(max(len(s.name) for s in scenarios), 20))
    groups: list[list[int]] = [[]]  # year indexes per table
    used = name_width
    for i, width in enumerate(widths):
        if groups[-1] and used + width + 2 > out.width:
            groups.append([])
            used = name_width
        groups[-1].append(i)
        used += width + 2
    out.print()
    out.print(Text("Total per fiscal year (* outside the band that year)"))
    for group in groups:
        table = Table(box=None, pad_edge=False, header_style="bold underline")
        table.add_column("Scenario", min_width=8, ratio=1)
        for i in group:
            table.add_column(f"FY{years[i]}", justify="right", width=widths[i])
        for sc, row in zip(scenarios, cells, strict=True):
            table.add_row(Text(sc.name), *(row[i] for i in group))
        out.print(table)


def _payback_text(scenario: ScenarioFigures) -> str:
    case = scenario.business_case
    assert case is not None
    if case.payback_months is None:
        return "never"
    if case.payback_quarter is None:
        return "at once"
    quarter = scenario.quarters[case.payback_quarter]
    return f"{case.payback_months} mo (FY{quarter.fiscal_year} {quarter.label})"


def _from_change_text(months: int | None) -> str:
    """Payback counted from the scenario's first change: ``6 mo``, ``at once`` or ``never``."""
    return "never" if months is None else "at once" if months == 0 else f"{months} mo"


def _print_business_case(out: Console, figures: PlanFigures) -> None:
    """Each scenario against Baseline (change, one-off, NPV of savings, payback from the
    plan's start and from the scenario's first change) and the recommended scenario, in 80
    columns: headers wrap at spaces rather than figures being cut."""
    from rich.text import Text

    others = [s for s in figures.scenarios if s.business_case is not None]
    if others:
        out.print()
        over = f" over {_years(figures)} years" if _years(figures) > 1 else ""
        rows = []
        for s in others:
            case = s.business_case
            assert case is not None
            rows.append([s.name, fmt_money(-case.savings, signed=True), fmt_money(case.one_off),
                         fmt_money(case.npv_savings, signed=True), _payback_text(s),
                         _from_change_text(case.payback_from_change_months)])
        heads = ["Scenario", "Δ total", "One-off", "NPV of savings", "Payback", "From change"]
        table = _fit_table(out, f"Against Baseline{over} (NPV at "
                                f"{figures.discount_rate or 0:.1%} a year; savings > 0 = "
                                "cheaper)", heads, rows, left=(0, 4, 5), names=True)
        for r in rows:
            table.add_row(Text(r[0]), *r[1:])
        out.print(table)
    best = figures.recommended
    line = (Text(f"Recommended: {best} (lowest NPV of cost, within the band, PMO in-house)")
            if best else Text("No scenario is recommended: none is in the band every year "
                              "with the PMO in-house"))
    out.print(line)


def _fit_table(out: Console, title: str, heads: list[str], rows: list[list[str]],
               left: tuple[int, ...] = (0,), names: bool = False) -> Table:
    """Print ``title``; return a borderless table for text ``rows``: one line per row when
    the console is wide enough, else headers wrap at spaces; figures are never cut (with
    ``names``, the first column's names wrap too when even that is not enough)."""
    from rich.table import Table
    from rich.text import Text

    natural = [max([len(r[i]) for r in rows] + [len(head)]) for i, head in enumerate(heads)]
    narrow = [max([len(r[i]) for r in rows] + [len(w) for w in head.split()])
              for i, head in enumerate(heads)]
    fits = sum(natural) + 2 * (len(heads) - 1) <= out.width
    widths = natural if fits else narrow
    out.print(Text(title))  # as wide as the console, not as the table
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    for i, head in enumerate(heads):
        if i == 0 and names and not fits:
            table.add_column(head, min_width=8, ratio=1)
            continue
        table.add_column(head, justify="left" if i in left else "right", width=widths[i])
    return table


def _print_actuals(out: Console, actuals: ActualsFigures) -> None:
    """Plan vs actual of the budget scenario by quarter, and each year's forecast, in 80
    columns."""
    from rich.text import Text

    rows = [[f"FY{q.fiscal_year} {q.quarter}{'' if q.complete else '*'}",
             fmt_money(q.plan), fmt_money(q.actual), fmt_money(q.variance, signed=True),
             "–" if q.variance_pct is None else f"{q.variance_pct:+.1%}",
             fmt_share(q.operation_share_actual), q.band_status_actual]
            for q in actuals.quarters]
    out.print()
    partial = any(not q.complete for q in actuals.quarters)
    title = (f"Plan vs actual to {actuals.through}, budget {actuals.budget_scenario} "
             f"(+ over budget{'; * quarter so far' if partial else ''})")
    heads = ["Quarter", "Plan", "Actual", "Variance", "Var. %", "Op. share", "Band status"]
    table = _fit_table(out, title, heads, rows, left=(0, 6))
    for r in rows:
        table.add_row(*r[:6], Text(r[6], style=_BAND_STYLES.get(r[6], "")))
    out.print(table)
    rows = [[f"FY{y.fiscal_year}", fmt_money(y.plan), fmt_money(y.actual_to_date),
             fmt_money(y.forecast), fmt_money(y.variance_at_completion, signed=True)]
            for y in actuals.years]
    heads = ["Year", "Plan", "Actual to date", "Forecast", "Variance at completion"]
    out.print()
    table = _fit_table(out, "Forecast: actual to date + the plan of the months to come",
                       heads, rows)
    for r in rows:
        table.add_row(*r)
    out.print(table)


# --------------------------------------------------------------------------- findings


def scenario_findings(figures: PlanFigures) -> list[tuple[Finding, list[str]]]:
    """Each finding of the scenarios once, in order of first appearance, with the scenarios
    it was found in (a finding repeated in several scenarios is one entry)."""
    seen: dict[Finding, list[str]] = {}
    for scenario in figures.scenarios:
        for finding in scenario.findings:
            names = seen.setdefault(finding, [])
            if not names or names[-1] != scenario.name:
                names.append(scenario.name)
    return list(seen.items())


def by_code(findings: Iterable[tuple[Finding, list[str]]]
            ) -> list[list[tuple[Finding, list[str]]]]:
    """The findings grouped by severity and code: errors first, then warnings, then info;
    within a severity, codes in order of first appearance."""
    groups: dict[tuple[str, str], list[tuple[Finding, list[str]]]] = {}
    for entry in findings:
        groups.setdefault((entry[0].severity, entry[0].code), []).append(entry)
    return sorted(groups.values(), key=lambda g: SEVERITY_ORDER.get(g[0][0].severity, 9))


def finding_lines(findings: Sequence[tuple[Finding, list[str]]], width: int = FINDINGS_WIDTH,
                  per_code: int = FINDINGS_PER_CODE, labels: bool = True,
                  listed_in: str = ALL_LISTED) -> list[str]:
    """The lines that show ``findings``: per code at most ``per_code`` of them, each
    ``severity [Scenario, …] Sheet!A1: message (code)`` (without ``labels``: ``Sheet!A1:
    message``) wrapped to ``width`` (continuation lines indented), then ``  … and N more
    <code>``; when any was left out, a last line says they are all ``listed_in``."""
    lines: list[str] = []
    left_out = 0
    for group in by_code(findings):
        for finding, scenarios in group[:per_code]:
            head = f"{finding.severity} " if labels else ""
            if scenarios:
                head += f"[{_names(scenarios)}] "
            where = f"{finding.location}: " if finding.location else ""
            code = f" ({finding.code})" if labels else ""
            text = f"{head}{where}{finding.message}{code}"
            lines += textwrap.wrap(text, width, subsequent_indent="    ",
                                   break_on_hyphens=False) or [""]
        more = len(group) - per_code
        if more > 0:
            left_out += more
            lines.append(f"  … and {more:,} more {group[0][0].code}")
    if left_out:
        lines += textwrap.wrap(f"({len(findings):,} in all: {listed_in})", width)
    return lines


def _names(scenarios: list[str], most: int = 3) -> str:
    """``Baseline, Lean`` or, for many, ``Baseline, A, B and 12 other scenarios``."""
    if len(scenarios) <= most + 1:
        return ", ".join(scenarios)
    return f"{', '.join(scenarios[:most])} and {len(scenarios) - most} other scenarios"


def print_findings(findings: Sequence[tuple[Finding, list[str]]], *, stderr: bool = False,
                   out: Console | None = None) -> None:
    """Print :func:`finding_lines` of ``findings``: severities in colour and codes dimmed on
    a terminal."""
    if not findings:
        return
    from rich.text import Text

    out = out or console(stderr)
    codes = {f.code for f, _ in findings}
    for line in finding_lines(findings, min(out.width, FINDINGS_WIDTH)):
        text = Text(line)
        first = line.split(" ", 1)[0]
        if first in _COLOURS:
            text.stylize(_COLOURS[first], 0, len(first))
        code = _CODE_AT_END.search(line)
        if code is not None and code.group(1) in codes:
            text.stylize("dim", code.start() + 1)
        out.print(text, soft_wrap=True)


def print_errors(errors: Sequence[Finding]) -> None:
    """The errors of a plan on stderr, ``Sheet!A1: message``, grouped by code as the
    findings are."""
    out = console(stderr=True)
    lines = finding_lines([(f, []) for f in errors], min(out.width, FINDINGS_WIDTH),
                          labels=False, listed_in=ERRORS_LISTED)
    stream = streams.stderr()
    stream.write("".join(line + "\n" for line in lines))
    stream.flush()
