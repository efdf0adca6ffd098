"""The Optimiser sheet and the terminal's optimiser lines: the cheapest sourcing mix within
the plan's rules, what moves, what it saves and which rules hold it back.

The changes are listed as rows in the Scenarios sheet's own columns, ready to paste; every
rule with its value, limit and room left (slack); the savings against Baseline and against
the best hand-made scenario; the status and the gap of the search. Amounts come from the
optimiser's engine-checked figures and the plan's figures, nothing recomputed here.
"""

from __future__ import annotations

import textwrap
from typing import Any

from omplan.core.business import Candidate, recommend
from omplan.core.model import Plan
from omplan.core.optimiser import ConstraintCheck, OptimiserFigures, paste_rows
from omplan.core.summary import PlanFigures, ScenarioFigures
from omplan.report import styles as st
from omplan.report.builder import SheetBuilder
from omplan.report.layout import PrintSetup, Styled

__all__ = ["PASTE_HEADER", "SHEET", "best_hand_made", "optimiser_sheet", "optimiser_text"]

SHEET = "Optimiser"
#: The Scenarios sheet's columns, then the Staffing row a per-line row applies to.
PASTE_HEADER = ("Scenario", "Role", "System", "Change", "Value", "From", "Staffing row")
STATUS_TEXT = {
    "optimal": "optimal: no mix within the rules costs less (proven)",
    "feasible": "feasible: the time limit stopped the search; a cheaper mix may exist",
    "infeasible": "infeasible: no mix meets every rule",
}
RULE_TEXT = {
    "band": "operation share within the band",
    "max_changes": "lines moved, at most",
    "transition_budget": "transition cost, at most",
    "capacity": "FTE with the vendor in any quarter, at most its Max FTE",
    "min_inhouse_share": "in-house share of the system's FTE in every quarter, at least",
}


def best_hand_made(figures: PlanFigures, optimised: str | None) -> ScenarioFigures | None:
    """The hand-made scenario the plan's own rule recommends (lowest NPV of cost within the
    band every year, PMO in-house), the optimised one and Baseline left out; None when no
    hand-made scenario qualifies."""
    hand_made = [s for s in figures.scenarios[1:] if s.name != optimised]
    candidates = [Candidate(s.name, s.npv_cost,
                            tuple(y.fiscal_year for y in s.years if y.band_status != "within"),
                            any(f.code == "pmo-outsourced" for f in s.findings))
                  for s in hand_made]
    best, _ = recommend(candidates)
    return next((s for s in hand_made if s.name == best), None)


def _rule_kind(check: ConstraintCheck) -> str:
    return check.name.split()[0]


def _rule_label(check: ConstraintCheck) -> str:
    """``band FY2028 high`` -> ``Band FY2028, high edge``; ``capacity Acme`` -> ``Acme``."""
    words = check.name.split()
    kind = words[0]
    if kind == "band":
        return f"Band {words[1]}, {words[2]} edge"
    if kind in ("capacity", "min_inhouse_share"):
        rest = check.name[len(kind) + 1:]
        return f"{'Capacity' if kind == 'capacity' else 'In-house share'}: {rest}"
    return {"max_changes": "Changes", "transition_budget": "Transition budget"}[kind]


def _styled(value: float, unit: str, signed: bool = False) -> Styled:
    style = {"share": st.SIGNED_PERCENT_STYLE if signed else st.PERCENT_STYLE,
             "count": st.INTEGER_STYLE,
             "money": st.SIGNED_MONEY if signed else st.MONEY,
             "fte": st.SIGNED_FTE_STYLE if signed else st.FTE_STYLE}[unit]
    return Styled(value, style)


def _when(plan: Plan, start: int) -> str:
    period = plan.horizon.periods[start]
    return period.label


def optimiser_sheet(opt: OptimiserFigures, figures: PlanFigures, plan: Plan) -> SheetBuilder:
    """The Optimiser sheet of a report: ``figures`` are the plan's figures with the optimised
    scenario appended (when there is one), ``plan`` the plan as read."""
    currency = figures.currency or ""
    sh = SheetBuilder(SHEET, cursor=5)
    sh.text(1, 1, "Optimiser: the cheapest sourcing mix within the plan's rules",
            st.TITLE_STYLE)
    sh.text(2, 1, f"Every Staffing line keeps its sourcing or takes one its Options rows offer, "
                  f"from {_when(plan, opt.start)} on · amounts in {currency}, NPV at "
                  f"{(figures.discount_rate or 0):.1%} a year", st.SUBTITLE_STYLE)
    sh.text(3, 1, f"Status: {STATUS_TEXT[opt.status]}", st.NOTE_STYLE)
    money, signed = st.MONEY, st.SIGNED_MONEY
    if opt.status == "infeasible" or opt.scenario is None:
        _why_not(sh, opt)
        return _finish(sh)

    base = figures.scenarios[0]
    hand = best_hand_made(figures, opt.scenario)
    assert opt.npv_cost is not None and opt.npv_savings is not None
    rows: list[list[Any]] = [
        ["Scenario", opt.scenario],
        ["NPV of cost", Styled(opt.npv_cost, money)],
        ["Savings vs Baseline (NPV)", Styled(opt.npv_savings, signed)],
    ]
    if hand is not None:
        rows.append([f"Savings vs {hand.name} (NPV)", Styled(hand.npv_cost - opt.npv_cost,
                                                             signed)])
        rows.append(["", f"({hand.name} is the best hand-made scenario)"])
    else:
        rows.append(["Savings vs the best hand-made scenario",
                     "no hand-made scenario is within the band with the PMO in-house"])
    optimised = next((s for s in figures.scenarios if s.name == opt.scenario), None)
    if optimised is not None and optimised.business_case is not None:
        case = optimised.business_case
        rows.append(["One-off transition", Styled(case.one_off, money)])
        rows.append(["Total cost over the horizon", Styled(optimised.total, money)])
        rows.append(["Baseline total over the horizon", Styled(base.total, money)])
    rows += [
        ["Lines moved", Styled(len(opt.changes), st.INTEGER_STYLE)],
        ["Gap to the best possible", Styled(opt.gap or 0.0, st.PERCENT_STYLE)],
        ["Mixes checked by the engine", Styled(opt.candidates_checked, st.INTEGER_STYLE)],
    ]
    result = sh.next_block("result", rows, [st.LABEL_STYLE, st.VALUE_STYLE],
                           header=("Result", "Value"), title="What the optimiser found",
                           overflow=True)
    sh.text(result.last_row + 1, 1,
            f"Search: {opt.solves} linear models solved, {opt.cuts} mixes cut off, "
            f"{opt.refinements} band refinements, {opt.seconds:.2f} s. Every mix it reports "
            "was evaluated by the same engine as the other scenarios.", st.NOTE_STYLE)
    sh.cursor = result.last_row + 4

    paste = paste_rows(plan, opt)
    if opt.changes:
        block = sh.next_block(
            "paste", paste,
            [st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE, st.TEXT_STYLE,
             st.CENTER_STYLE, st.CENTER_STYLE],
            header=PASTE_HEADER,
            title="The changes as Scenarios rows: copy them to the Scenarios sheet")
        sh.text(block.last_row + 1, 1,
                "Staffing row: where several lines share a role and a system and not all "
                "move the same way, the row applies to that Staffing line alone; leave the "
                "column off when pasting a row without one.", st.NOTE_STYLE)
        sh.cursor = block.last_row + 4
        moves = [[c.location, c.system, c.role, c.before.sourcing, c.before.vendor or "–",
                  c.after.sourcing, c.after.vendor or "–"] for c in opt.changes]
        sh.next_block("moves", moves, [st.CENTER_STYLE] + [st.TEXT_STYLE] * 6,
                      header=("Staffing row", "System", "Role", "Sourcing now", "Vendor now",
                              "Sourcing then", "Vendor then"),
                      title=f"What moves ({len(opt.changes)} line"
                            f"{'s' if len(opt.changes) != 1 else ''})")
    else:
        sh.text(sh.cursor, 1, "No line moves: the Baseline is already the cheapest mix within "
                              "the rules.", st.NOTE_STYLE)
        sh.cursor += 3

    rules = [[_rule_label(c), _styled(c.value, c.unit), _styled(c.limit, c.unit),
              _styled(c.slack, c.unit, signed=True), "binding" if c.binding else "",
              c.where, RULE_TEXT[_rule_kind(c)]]
             for c in opt.constraints]
    block = sh.next_block("rules", rules,
                          [st.LABEL_STYLE, st.VALUE_STYLE, st.VALUE_STYLE, st.VALUE_STYLE,
                           st.CENTER_STYLE, st.CENTER_STYLE, st.TEXT_STYLE],
                          header=("Rule", "Value", "Limit", "Slack", "Binding", "Tightest in",
                                  "Meaning"),
                          title="The rules on the optimised mix", overflow=True)
    sh.text(block.last_row + 1, 1,
            "Slack is the room left before a rule breaks. A binding rule stands between this "
            "mix and a cheaper one: without it the optimiser would find a mix that costs "
            "less.", st.NOTE_STYLE)
    return _finish(sh)


def _why_not(sh: SheetBuilder, opt: OptimiserFigures) -> None:
    why = opt.infeasible
    if why is None:
        return
    rows: list[list[Any]] = [["Rule that cannot be met", why.constraint]]
    if why.limit is not None:
        rows.append(["Its limit", _amount_text(why.constraint, why.limit)])
    if why.needed is not None:
        rows.append(["What a mix needs (or the nearest it gets)",
                     _amount_text(why.constraint, why.needed)])
    rows.append(["Why", why.message])
    if why.also:
        rows.append(["Also in the way", ", ".join(why.also)])
    block = sh.next_block("infeasible", rows, [st.LABEL_STYLE, st.WRAP_STYLE],
                          header=("No mix meets the rules", ""), span=6,
                          title="Why there is no optimised mix")
    sh.wrap_rows(block, 1)


def _amount_text(rule: str, value: float) -> str:
    """A limit in its rule's unit: a share as a percent, FTE, changes or money."""
    kind = rule.split()[0]
    if kind in ("band", "min_inhouse_share"):
        return f"{value:.1%}"
    if kind == "capacity":
        return f"{value:,.2f} FTE"
    if kind == "max_changes":
        return f"{value:,.0f} changes"
    if kind == "transition_budget":
        return f"{value:,.0f}"
    return f"{value:g}"


def _finish(sh: SheetBuilder) -> SheetBuilder:
    sheet = sh.layout
    sheet.column_widths.update({1: 26.0, 2: 24.0})
    sheet.freeze = (4, 1)
    sheet.print_setup = PrintSetup(title_rows=(1, 3))
    sheet.tab_colour = st.NAVY
    return sh


# --------------------------------------------------------------------------- terminal


def optimiser_text(opt: OptimiserFigures, figures: PlanFigures | None, plan: Plan,
                   width: int = 80) -> str:
    """The optimiser's result for the terminal, in ``width`` columns: status, savings, the
    lines that move and the rules that bind (or why there is no mix)."""
    currency = (figures.currency if figures is not None else None) or plan.settings.currency
    lines: list[str] = []

    def say(text: str, indent: int = 0) -> None:
        lines.extend(textwrap.wrap(text, width, initial_indent=" " * indent,
                                   subsequent_indent=" " * (indent + 2)) or [""])

    if opt.status == "infeasible" or opt.npv_cost is None:
        say("Optimiser: no mix meets the rules.")
        if opt.infeasible is not None:
            say(f"{opt.infeasible.constraint}: {opt.infeasible.message}", 2)
        return "\n".join(lines)
    state = "optimal" if opt.status == "optimal" else \
        f"feasible (stopped at the time limit, gap {(opt.gap or 0):.2%})"
    say(f"Optimiser: {opt.scenario} is {state}, from {_when(plan, opt.start)}.")
    savings = f"NPV of cost {opt.npv_cost:,.0f} {currency}: saves {opt.npv_savings:,.0f} " \
              "against Baseline"
    hand = best_hand_made(figures, opt.scenario) if figures is not None else None
    if hand is not None:
        savings += f", {hand.npv_cost - opt.npv_cost:,.0f} against {hand.name}"
    say(savings + ".", 2)
    if not opt.changes:
        say("No line moves: the Baseline is already the cheapest mix within the rules.", 2)
    else:
        n = len(opt.changes)
        say(f"{n} line{'s' if n != 1 else ''} move{'s' if n == 1 else ''}:", 2)
        shown = opt.changes[:20]
        for c in shown:
            head = f"{c.location:<13} {c.system} · {c.role}"
            move = f"{c.before.label} -> {c.after.label}"
            if len(head) + len(move) + 6 <= width:
                lines.append(f"    {head}  {move}")
            else:
                lines.append(f"    {head}"[:width])
                lines.append(f"      {move}"[:width])
        if n > len(shown):
            say(f"… and {n - len(shown)} more (the Optimiser sheet lists them all).", 4)
    if opt.binding:
        say(f"Held back by: {', '.join(opt.binding)}.", 2)
    return "\n".join(lines)
