"""``omplan diff`` as the terminal prints it: plain text lines, 80 columns wide by default.

Fingerprints and whether the inputs are the same, the change log grouped by sheet (the first
``limit`` entries of a sheet, then "and N more"), and the bridge of each compared scenario: OLD,
the steps that move it, NEW. Text from the plans is printed as written; money is rounded to
whole units of the plans' currency here only.
"""

from __future__ import annotations

import textwrap
from itertools import groupby
from typing import Any

from omplan.core.versions import Change, PlanComparison, ScenarioAmounts, VersionBridge

WIDTH = 80
#: change log entries printed per sheet before "and N more"
LIMIT = 12
_NUMBER_WIDTH = 14


def format_value(value: Any) -> str:
    """A cell value for reading: whole numbers with thousands separators, fractions as typed
    (0.125), yes/no, "(blank)"."""
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{number:,.0f}"
        return f"{number:,.10g}"
    return str(value)


def format_key(key: tuple[Any, ...]) -> str:
    """``ERP / Dev / In-house``: a row's key, blank parts left out."""
    parts = [format_value(v) for v in key if v is not None and v != ""]
    return " / ".join(parts) or "(blank key)"


def change_text(change: Change) -> str:
    """One change log entry: ``ERP / Dev / In-house: Q1 1 → 2`` or ``…: added``."""
    where = format_key(change.key)
    if change.change is not None:
        return f"{where}: {change.change}"
    return f"{where}: {change.column} {format_value(change.old)} → {format_value(change.new)}"


def money(value: float, signed: bool = False) -> str:
    """Whole units; a rounding residue never shows as -0."""
    if abs(value) < 0.5:
        return "0"
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def _wrap(text: str, indent: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ", break_on_hyphens=False) or [indent]


def _row(label: str, total: str, npv_cost: str, indent: str, width: int) -> list[str]:
    """A label with two right-aligned figures in the last columns; a label too long for the
    space wraps onto lines of its own above the figures."""
    room = width - len(indent) - 2 * _NUMBER_WIDTH - 1
    figures = f"{total:>{_NUMBER_WIDTH}}{npv_cost:>{_NUMBER_WIDTH}}"
    lines = textwrap.wrap(label, width=max(room, 10), break_on_hyphens=False) or [""]
    out = [indent + line for line in lines[:-1]]
    out.append(f"{indent}{lines[-1]:<{room}} {figures}")
    return out


def bridge_lines(bridge: VersionBridge, width: int = WIDTH) -> list[str]:
    """The bridge per scenario: OLD, each step that moves a figure, NEW; then the notes."""
    out: list[str] = []
    if bridge.steps:
        years = bridge.fiscal_years
        span = "" if years is None else (f"FY{years[0]}" if years[0] == years[1]
                                         else f"FY{years[0]}–FY{years[1]}")
        out.append(f"Bridge from OLD to NEW ({bridge.currency}, {span}), by input category")
        for name in bridge.scenarios:
            out.append("")
            out += _row(name, "Total", "NPV of cost", "  ", width)
            old, new = bridge.old[name], bridge.new[name]
            out += _row("OLD", money(old.total), money(old.npv_cost), "    ", width)
            still = 0
            for step in bridge.steps:
                amounts: ScenarioAmounts = step.scenarios[name]
                if abs(amounts.total) < 0.5 and abs(amounts.npv_cost) < 0.5:
                    still += 1
                    continue
                out += _row(step.label, money(amounts.total, True),
                            money(amounts.npv_cost, True), "    ", width)
            if still:
                unchanged = "every step" if still == len(bridge.steps) else \
                    f"{still} other step{'s' if still > 1 else ''}"
                out += _wrap(f"({unchanged}: 0)", "    ", width)
            out += _row("NEW", money(new.total), money(new.npv_cost), "    ", width)
    for note in bridge.notes:
        out += _wrap(f"Note: {note}", "", width)
    return out


def diff_text(comparison: PlanComparison, width: int = WIDTH, limit: int = LIMIT) -> str:
    """The whole report as text (lines of at most ``width`` characters, save a file name or a
    plan's text that has no space to break at)."""
    old, new = comparison.old, comparison.new
    lines = [f"omplan diff: {old.file} → {new.file}", ""]
    for tag, side in (("OLD", old), ("NEW", new)):
        lines += _wrap(f"{tag}  {side.file}", "", width)
        lines.append(f"     inputs {side.fingerprint}")
    changes = comparison.changes
    if comparison.same_inputs:
        lines.append("Same inputs: the two plans hold the same values (formatting aside).")
    else:
        sheets = len({c.sheet for c in changes})
        lines.append(f"Inputs differ: {len(changes)} change{'s' if len(changes) != 1 else ''} "
                     f"in {sheets} sheet{'s' if sheets != 1 else ''}.")
    if changes:
        lines += ["", "Changes by sheet"]
        for sheet, group in groupby(changes, key=lambda c: c.sheet):
            entries = list(group)
            lines.append(f"  {sheet} ({len(entries)})")
            for change in entries[:limit]:
                lines += _wrap(change_text(change), "    ", width)
            if len(entries) > limit:
                lines.append(f"    … and {len(entries) - limit} more")
    lines.append("")
    lines += bridge_lines(comparison.bridge, width)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["LIMIT", "WIDTH", "bridge_lines", "change_text", "diff_text", "format_key",
           "format_value", "money"]
